"""The reference engine: a resume-correct implementation of DataDesigner's generation
semantics, and the executable specification the harness checks targets against.

One `ReferenceEngine` runs one segment. What it does, in DataDesigner's terms:

- plans `ceil(N/B)` row groups of `buffer_size` rows, the last one partial; on extension
  the groups already planned keep their sizes and new groups are appended after them;
- generates group `g` from the seed reader positioned at the group's absolute record
  offset (never "wherever the reader happens to be"), so content depends on record index
  alone;
- `sync` completes groups in id order; `async` keeps up to 3 in flight and completes them
  in the order the scenario's `completion_order` fixes, so checkpoints land out of order;
- checkpoints each group as `parquet-files/batch_NNNNN.parquet` (partial file + rename),
  writes `metadata.json` atomically (sync: before the checkpoint callback; async: after
  it, as DataDesigner does), then calls the callback (where faults fire);
- on resume, takes *configuration* from `metadata.json` (or, when the run was interrupted
  before metadata recorded anything, from `builder_config.json`, written when it started)
  and *progress* from the files on disk (footer row counts; unreadable or wrongly sized files
  are deleted and regenerated), never generating a complete group again, and refuses what
  DataDesigner refuses, with its wording;
- stops where it is interrupted (an exception, a signal) and writes nothing afterwards.

Every decision a resume bug could get wrong is one overridable method, so each
bug-seeded mutant (`harness.reference.mutants`) is a subclass that overrides exactly one.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from harness.faults import FaultInjector
from harness.journal import Journal
from harness.reference import sources, storage
from harness.reference.model import RecordIndex, Row
from harness.scenario import ASYNC_IN_FLIGHT, Scenario, Segment

#: the provider client of each endpoint this process has used (keep-alive connections)
_CLIENTS: dict[str, Any] = {}


def model_client(endpoint: str | None) -> Any:
    """A client of the trial's model provider (`harness.provider`)."""
    if endpoint is None:
        raise RuntimeError("a scenario with model columns runs with a model provider: none was given to the segment")
    client = _CLIENTS.get(endpoint)
    if client is None:
        from harness.provider import Client

        for old in _CLIENTS.values():  # one trial at a time in a process
            old.close()
        _CLIENTS.clear()
        client = _CLIENTS[endpoint] = Client(endpoint)
    return client


def close_model_clients() -> None:
    for client in _CLIENTS.values():
        client.close()
    _CLIENTS.clear()


atexit.register(close_model_clients)

DATASET_NAME = "resume_trial"
#: record streams read back from seed-source directories, most recent last (a few runs' worth)
_STREAMS: dict[str, list[Row]] = {}
_STREAMS_KEPT = 8


class ResumeRefused(Exception):
    """A resume DataDesigner would refuse (its `DatasetGenerationError`)."""


class Group(NamedTuple):
    id: int
    offset: int
    size: int


@dataclass
class Session:
    """The state of one segment's run."""

    segment_index: int
    dataset_dir: Path
    buffer_size: int
    history: list[int]
    plan: list[Group]
    completed: dict[int, int] = field(default_factory=dict)
    metadata: dict[str, Any] | None = None
    resumed: bool = False
    #: offset of the first group this segment generates (None before it generates any)
    first_offset: int | None = None
    records_generated: int = 0
    #: rows found on disk when the segment resumed
    rows_at_open: int = 0
    #: group id -> the notes of its data file, for groups on disk with rows the model provider
    #: did not answer (`lost`): only those rows are generated again
    partial: dict[int, dict[str, Any]] = field(default_factory=dict)


def plan_groups(history: list[int], buffer_size: int) -> list[Group]:
    """Row groups for a target history: each target's new records in groups of B."""
    groups: list[Group] = []
    pos = 0
    for target in history:
        while pos < target:
            size = min(buffer_size, target - pos)
            groups.append(Group(len(groups), pos, size))
            pos += size
    return groups


#: what determines a dataset's rows, all of it: the seed table's content (not only where it
#: is read from), the source, selection and sampling, and the columns' config
FINGERPRINTED = ("seeds", "source", "selection", "sampling", "shuffle_seed", "echo_suffix", "extra_column",
                 "model_columns", "provider_faults")


def config_hash(scenario: Scenario, fields: tuple[str, ...] = FINGERPRINTED) -> str:
    """Fingerprint of what must not change across a resume. Unlike DataDesigner's, which
    covers the seed source's path and not what the file holds, it covers the seed content:
    a resume after the seed file was edited is refused, not carried on with other rows."""
    d = scenario.to_dict()
    keep = {k: d.get(k, "") for k in fields}
    return hashlib.sha256(json.dumps(keep, sort_keys=True).encode()).hexdigest()[:16]


class ReferenceEngine:
    def __init__(
        self, scenario: Scenario, artifact_root: Path, injector: FaultInjector, journal: Journal, segment_index: int
    ) -> None:
        self.scenario = scenario
        self.artifact_root = artifact_root
        self.injector = injector
        self.journal = journal
        self.segment_index = segment_index
        #: (group id, position) of the record whose model columns are being asked for
        self.asking: tuple[int, int] | None = None
        self.config_hash = config_hash(scenario, self.fingerprinted())
        self.records = RecordIndex(scenario, self.read_seed_stream())

    def fingerprinted(self) -> tuple[str, ...]:
        """The scenario fields the resume fingerprint covers."""
        return FINGERPRINTED

    def read_seed_stream(self) -> list[Row]:
        """Write the seed source once per run directory and configuration, then read the
        selection back (once per process: the directory's name carries the configuration's
        fingerprint, so what it holds cannot change under it)."""
        directory = self.artifact_root / "seed-source" / config_hash(self.scenario)
        if not directory.is_dir():
            sources.materialize(self.scenario, directory)
        key = str(directory)
        stream = _STREAMS.pop(key, None)
        if stream is None:
            stream = sources.read_stream(self.scenario, directory)
        _STREAMS[key] = stream
        while len(_STREAMS) > _STREAMS_KEPT:
            del _STREAMS[next(iter(_STREAMS))]
        return stream

    # ----- the segment ------------------------------------------------------------------
    def run_segment(self, segment: Segment) -> None:
        session = self.open(segment)
        self.journal.append({"event": "dataset", "segment": self.segment_index, "path": str(session.dataset_dir)})
        todo = [g for g in session.plan if g.id not in session.completed]
        if self.scenario.engine == "sync":
            for group in todo:
                self.complete_group(session, group)
        else:
            self.run_async(session, todo)
        self.write_metadata(session)

    def run_async(self, session: Session, todo: list[Group]) -> None:
        pending = list(todo)
        in_flight: list[Group] = []
        order = self.scenario.completion_order
        step = 0
        while pending or in_flight:
            while pending and len(in_flight) < ASYNC_IN_FLIGHT:
                in_flight.append(pending.pop(0))
            choice = order[step] if step < len(order) else 0
            self.complete_group(session, in_flight.pop(choice % len(in_flight)))
            step += 1

    def complete_group(self, session: Session, group: Group) -> None:
        if session.first_offset is None:
            session.first_offset = group.offset
        notes: dict[str, Any] = {}
        if not self.scenario.model_columns:
            rows = self.generate_group(session, group)
        else:
            # a row is made when its model columns are answered: its fault point is there
            self.injector.rows_deferred = True
            try:
                rows = self.generate_group(session, group)
            finally:
                self.injector.rows_deferred = False
            rows, notes = self.ask_model(session, group, rows)
        self.checkpoint(session, group, rows, notes)

    # ----- model-backed columns ---------------------------------------------------------------
    def ask_model(self, session: Session, group: Group, rows: list[Row]) -> tuple[list[Row], dict[str, Any]]:
        """The group's rows with their model columns answered by the provider: a row the
        provider refuses (an HTTP 4xx: the request itself is wrong) is `dropped`, as it would be
        in any run; a row it does not answer after the tries (an outage, a row that always
        fails) is `lost`, and the group is not complete: a resume asks for those rows again,
        and only for those. The rows of a group on disk (`session.partial`) are kept as they are,
        never asked for again."""
        kept, dropped = self.settled_rows(session, group)
        client = model_client(self.injector.provider_endpoint)
        answered, lost = {}, []
        for position in self.ask_order(group, rows):
            row = rows[position]
            if position in kept:
                answered[position] = kept[position]
                continue
            if position in dropped:
                continue
            self.injector.at_row(group.id, position)
            self.asking = (group.id, position)  # which record the next requests are for
            for column in self.scenario.model_columns:
                completion = self.ask(client, column.prompt(row))
                if completion.text is None:
                    (dropped if completion.permanent else lost).append(position)
                    break
                row[column.name] = completion.text
            else:
                answered[position] = row
        notes = {k: sorted(v) for k, v in (("dropped", dropped), ("lost", lost)) if v}
        return [answered[p] for p in sorted(answered)], notes

    def ask_order(self, group: Group, rows: list[Row]) -> list[int]:
        """The order a group's rows ask the provider in (their rows are written in their
        own order whatever it is): one after another, as planned."""
        return list(range(len(rows)))

    def settled_rows(self, session: Session, group: Group) -> tuple[dict[int, Row], list[int]]:
        """Of a group on disk with rows the provider did not answer (`session.partial`): its
        rows kept (position -> row, as written) and the positions dropped for good; nothing for
        any other group."""
        previous = session.partial.get(group.id)
        if previous is None:
            return {}, []
        dropped = list(previous.get("dropped", ()))
        done = [p for p in range(group.size) if p not in dropped and p not in previous.get("lost", ())]
        return dict(zip(done, storage.read_group(session.dataset_dir, group.id))), dropped

    def ask(self, client: Any, prompt: str) -> Any:
        """One model column's answer for one row (`harness.provider.Completion`)."""
        return client.complete(prompt, **self.ask_options())

    def ask_options(self) -> dict[str, Any]:
        """How the client asks (`harness.provider.Client.complete`'s options): the
        reference's defaults; a known bug's model changes them."""
        return {}

    def generate_group(self, session: Session, group: Group) -> list[Row]:
        start = self.seed_position(session, group)
        rows = []
        for r in range(group.size):
            self.injector.at_row(group.id, r)
            rows.append(self.records.row(start + r, self.pass_key(session, start + r)))
        session.records_generated += len(rows)
        return rows

    def sequential(self, session: Session, group: Group) -> int:
        """Where `group` starts for a reader that reads the groups this segment has to do one
        after another, from the start (a reader that restarts: the bug-seeded variants' and
        the known bugs' models'): computed at the segment's first group, before any group of
        its own is complete, and kept on the session."""
        starts = session.__dict__.setdefault("_sequential_starts", {})
        if not starts:
            position = 0
            for planned in session.plan:
                if planned.id not in session.completed:
                    starts[planned.id] = position
                    position += planned.size
        return starts[group.id]

    def seed_position(self, session: Session, group: Group) -> int:
        """Where the seed reader starts for `group`: its absolute record offset."""
        return group.offset

    def pass_key(self, session: Session, record: int) -> int | None:
        """Which shuffle permutation record `record` comes from (None: its own pass)."""
        return None

    def checkpoint(self, session: Session, group: Group, rows: list[Row], notes: dict[str, Any] | None = None) -> None:
        self.injector.before_write()
        path = storage.write_group(session.dataset_dir, group.id, rows, notes)
        if notes and notes.get("lost"):
            session.partial[group.id] = notes
        else:
            session.completed[group.id] = len(rows)
            session.partial.pop(group.id, None)
        if self.scenario.engine == "sync":
            self.write_metadata(session)
        self.journal.append(
            {
                "event": "checkpoint",
                "segment": self.segment_index,
                "ordinal": self.injector.checkpoints + 1,
                "group": group.id,
                "rows": len(rows),
                "seed_ids": [row["seed_id"] for row in rows],
                # rows the model provider did not answer: the group is on disk, not complete
                **({"incomplete": True} if group.id in session.partial else {}),
            }
        )
        self.injector.after_checkpoint(path)
        if self.scenario.engine == "async":
            self.write_metadata(session)

    # ----- metadata ---------------------------------------------------------------------
    def metadata(self, session: Session) -> dict[str, Any]:
        return {
            "buffer_size": session.buffer_size,
            "config_hash": self.config_hash,
            "target_num_records": session.history[-1],
            "original_target_num_records": session.history[0],
            "target_history": session.history,
            "num_completed_groups": len(session.completed),
            "completed_groups": sorted(session.completed),
            "actual_num_records": sum(session.completed.values()),
        }

    def write_metadata(self, session: Session) -> None:
        self.injector.before_write()
        storage.write_json_atomic(session.dataset_dir / storage.METADATA, self.metadata(session))

    # ----- opening a dataset: fresh, or resumed -----------------------------------------
    def open(self, segment: Segment) -> Session:
        path = self.artifact_root / DATASET_NAME
        if segment.resume == "never":
            return self.fresh_sibling(path, segment) if _non_empty(path) else self.fresh(path, segment)
        if not _non_empty(path):
            if segment.resume == "always":
                raise ResumeRefused(
                    f"Cannot resume: no existing dataset found at {path}. "
                    "Use resume=ResumeMode.NEVER to start a new run."
                )
            return self.fresh(path, segment)
        meta_path = path / storage.METADATA
        if not meta_path.exists():
            meta_path = path / "builder_config.json"
            if not meta_path.exists():
                return self.fresh(path, segment)  # interrupted before it had written anything of its own
            # Interrupted before metadata recorded any progress (async: after the first
            # checkpoint's callback): the configuration written at the start says what the
            # run was, and the files on disk say how far it got. Nothing complete is redone.
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            history = [int(t) for t in meta["target_history"]]
            stored_buffer = int(meta["buffer_size"])
            stored_target = int(meta["target_num_records"])
            stored_hash = str(meta["config_hash"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ResumeRefused(f"Cannot resume: metadata.json at {path} is corrupt ({exc}).") from None
        if stored_buffer != self.scenario.buffer_size and not self.accepts_buffer_change():
            raise ResumeRefused(
                f"Cannot resume: buffer_size {self.scenario.buffer_size} differs from the original "
                f"run's {stored_buffer}. Use the original buffer_size, or resume=ResumeMode.NEVER."
            )
        if segment.num_records < stored_target:
            raise ResumeRefused(
                f"Cannot resume: num_records {segment.num_records} is below the original target "
                f"of {stored_target}. Use num_records >= {stored_target}."
            )
        if stored_hash != self.config_hash and not self.continues_despite_mismatch(segment):
            if segment.resume == "always":
                raise ResumeRefused(
                    "Cannot resume: the configuration differs from the one the dataset was "
                    "started with. Use resume=ResumeMode.IF_POSSIBLE to start fresh instead."
                )
            return self.fresh_sibling(path, segment)
        if segment.num_records > history[-1]:
            history.append(segment.num_records)
        buffer = self.resumed_buffer_size(stored_buffer)
        plan = self.plan(history, buffer)
        storage.clear_dir(path / storage.PARTIAL_DIR)
        storage.prepare_dataset_dir(path)
        session = Session(self.segment_index, path, buffer, history, plan, metadata=meta, resumed=True)
        session.completed = self.completed_groups(session)
        session.rows_at_open = sum(session.completed.values())
        if history != meta.get("target_history"):
            # An extension is recorded before any of its groups exists: a later resume must
            # plan the same groups, or it finds a group of the wrong size and generates it again.
            self.write_metadata(session)
        return session

    def accepts_buffer_change(self) -> bool:
        """Whether a resume with another buffer_size goes on (the reference refuses it)."""
        return False

    def resumed_buffer_size(self, stored: int) -> int:
        """The buffer size a resume plans its row groups with: the original run's."""
        return stored

    def continues_despite_mismatch(self, segment: Segment) -> bool:
        """Whether a resume whose fingerprint differs goes on in the same dataset (the
        reference refuses under ALWAYS and starts fresh elsewhere under IF_POSSIBLE)."""
        return False

    def completed_groups(self, session: Session) -> dict[int, int]:
        """Progress from the files on disk: groups whose data file is readable and holds
        the planned number of rows. Anything else is deleted, to be regenerated."""
        sizes = {g.id: g.size for g in session.plan}
        notes = storage.group_notes(session.dataset_dir) if self.scenario.model_columns else {}
        done: dict[int, int] = {}
        for group_id, rows in storage.scan_groups(session.dataset_dir).items():
            noted = notes.get(group_id, {})
            dropped, lost = len(noted.get("dropped", ())), len(noted.get("lost", ()))
            if rows is not None and rows + dropped + lost == sizes.get(group_id):
                if lost:  # on disk, with rows the provider did not answer: those are asked for again
                    session.partial[group_id] = noted
                else:
                    done[group_id] = rows
            else:
                (session.dataset_dir / storage.PARQUET_DIR / storage.group_file_name(group_id)).unlink()
        return done

    def fresh(self, path: Path, segment: Segment, keep_groups: bool = False) -> Session:
        """A new run in `path`; `keep_groups`: the data files already there stay (for a model of
        a release that clears only its partial results)."""
        storage.prepare_dataset_dir(path)
        if not keep_groups:
            storage.clear_dir(path / storage.PARQUET_DIR)
        storage.clear_dir(path / storage.PARTIAL_DIR)
        (path / storage.METADATA).unlink(missing_ok=True)
        storage.write_bytes(path / "builder_config.json", json.dumps({
            "config_hash": self.config_hash, "buffer_size": self.scenario.buffer_size,
            "target_num_records": segment.num_records, "target_history": [segment.num_records]}).encode())
        history = [segment.num_records]
        return Session(self.segment_index, path, self.scenario.buffer_size, history,
                       self.plan(history, self.scenario.buffer_size))

    def fresh_sibling(self, path: Path, segment: Segment) -> Session:
        """A new run beside the dataset at `path` (NEVER on a non-empty directory, IF_POSSIBLE
        on a changed config): in a sibling directory no run has written to."""
        return self.fresh(free_sibling(path), segment)

    def plan(self, history: list[int], buffer_size: int) -> list[Group]:
        """The row groups of a target history; see `plan_groups`."""
        return plan_groups(history, buffer_size)


def _non_empty(path: Path) -> bool:
    try:
        return bool(os.listdir(path))
    except (FileNotFoundError, NotADirectoryError):
        return False


def free_sibling(path: Path) -> Path:
    n = 1
    while _non_empty(path.with_name(f"{path.name}_{n}")):
        n += 1
    return path.with_name(f"{path.name}_{n}")
