"""Known bugs as models: each ledger entry's behaviour, as a composable variant of the reference.

A model is a mixin over `ReferenceEngine` that changes one decision the way the release
gets it wrong, only where the entry says the bug shows (an engine, a sampling, a resume),
and defers to the next class otherwise (`super()`), so any set of models composes: the
expected behaviour of a release is `composed(<its open entries' models>)`. A failure on a
real release is known only when that composition reproduces it exactly (`harness.ledger`,
`KnownBugs`); anything else is a new finding.

Where a release's randomness is not under the scenario's control (DataDesigner's SHUFFLE
is unseeded), a model cannot give the release's rows, only the shape they must have: the
model marks each row with the permutation it comes from and its place in it
(`CHUNK_KEY`, `CHUNK_POS`), and a release's rows fit the model when one row per place
and distinct rows per permutation account for them (`harness.ledger.fits_chunks`).

Each model is one table entry in `MODELS`, named by the ledger entries it stands for
(`"model"` in the entry's JSON).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json
import math
import re
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from harness.fault_kinds import Interrupted
from harness.journal import Journal
from harness.reference import storage
from harness.reference.engine import (
    DATASET_NAME,
    Group,
    ReferenceEngine,
    ResumeRefused,
    Session,
    config_hash,
    model_client,
    plan_groups,
)
from harness.reference.model import Convert, Row, record_stream
from harness.scenario import ASYNC_IN_FLIGHT, Segment
from harness.seed_values import integral_as_int

#: the columns a model adds to each row, for SHUFFLE: which permutation, which place in it
CHUNK_KEY, CHUNK_POS = "_model_chunk", "_model_pos"
#: where a model's dataset records the segment that started it afresh (`Modelled.epoch`), and
#: how far apart the permutation keys of two fresh starts are
EPOCH_FILE, EPOCH_STRIDE = "_model_epoch", 10_000_000



def stored_config_hash(path: Path, without: str | None = None) -> str | None:
    """The `config_hash` a run stored in `path` (a metadata.json or builder_config.json);
    None where the file is missing or unreadable, `without` where it holds none."""
    try:
        stored = json.loads(path.read_text(encoding="utf-8")).get("config_hash")
    except (OSError, ValueError, AttributeError):
        return None
    return without if stored is None else str(stored)

class ReadRace(str):
    """Why a dataset cannot be read, where whether the read fails is the release's reader's
    threads' timing: 0.6 to 0.8 read a dataset directory with the first file's schema
    (`pd.read_parquet`, pyarrow's dataset scan), each later file cast to it on a thread of its
    own, and the first cast error raised is the read's. One file's error ("Unsupported cast",
    a column the first file holds as pyarrow's null type) makes `read_parquet_dataset` fall
    back to reading the files one by one (which succeeds); another's ("Decimal value does not
    fit in precision p") fails the read. Where the files raise both, either may come first:
    the same files are read on one call and not on the next. `Modelled.read_races_won`
    chooses the outcomes for a run."""


#: the journal event of a racy read (`race_won`): how many a run met says which outcomes of
#: them it has (`harness.ledger.KnownBugs`)
READ_RACE_EVENT = "read_race"


def race_won(won: int | None, journal: Journal) -> bool:
    """Whether this racy read of a run falls back and passes: the first `won` racy reads of
    the run do (None: none). Each is a journal event: the run's count, whichever process its
    segments run in."""
    seen = sum(1 for e in journal.events() if e.get("event") == READ_RACE_EVENT)
    journal.append({"event": READ_RACE_EVENT, "read": seen + 1})
    return won is not None and seen < won


def provider_down(fault: Any) -> bool:
    """Whether `fault` interrupts the model provider (an outage, a revoked key: every request
    fails from its point until the segment ends), not the segment's process."""
    from harness.fault_kinds import KINDS

    return fault is not None and KINDS[fault.action].needs_provider


class Modelled(ReferenceEngine):
    """The root of every composition: the reference, reading its seed records as the target's
    reader holds them (`convert`, the target's declared conversion), its rows marked with
    where in which permutation they come from."""

    convert: Convert | None = None
    #: for a model whose release's rows depend on its threads' timing: which of the outcomes
    #: that timing allows this run stands for (None: the model's default; see `variants`)
    variant: int | None = None
    #: segment -> the row groups in the order the target checkpointed them (its async
    #: scheduling, which the scenario's completion_order does not fix for it); empty: the scenario's
    observed_order: dict[int, tuple[int, ...]] = {}
    #: segment -> how many of those checkpoints landed before the segment's call ended (the
    #: rest landed after it: a ghost); absent: all of them
    observed_in_call: dict[int, int] = {}
    #: segment -> the earlier segment whose dataset directory the target's run of it used too
    #: (the first such; `Verdict.shared`): where a run started fresh beside the dataset, the
    #: directory a release that names it by the wall clock's second chose (`SameSecondSibling`)
    observed_shared: dict[int, int] = {}
    #: whether the release's run reads its dataset back at its end (DataDesigner's create()
    #: does; 0.6.0's build(), which the adapter drives there, does not): a dataset that cannot
    #: be read fails the run, else only the final read
    run_reads_dataset: bool = True
    #: how the release reads a dataset whose files' schemas differ: "unified" (the files'
    #: schemas promoted to one, int64 and double to double: DataDesigner 0.9) or "first"
    #: (pyarrow's default, the first file's schema: 0.6)
    dataset_schema: str = "unified"
    #: where a read of the dataset is a race (`ReadRace`): how many of the run's racy reads
    #: fall back and pass before one fails (None: none passes; `harness.ledger` tries each
    #: number up to the racy reads a run met)
    read_races_won: int | None = None
    #: where a run may crash on the release's threads' timing (`crash_segments`): the segment
    #: whose run does, and a number: 0 or more, how many other row groups had asked the model
    #: provider for their rows by then (`EmptiedGroupCrashes`); `SEED_READER_HANG` or
    #: `SEED_READER_ERROR`, how it met an earlier run's seed reads (`SharedSeedReaderClash`);
    #: `GHOST_RACE`, a resume meeting a Ctrl-C ghost's files (`CtrlCGoesOn`);
    #: `EMPTIED_GROUP_HANG`, an emptied group's orphaned retry (`EmptiedGroupOrphansRetry`). None: no crash
    crashes_in: tuple[int, int] | None = None
    #: whether a run that starts over draws permutations of its own (a target whose shuffle
    #: is unseeded: `Capabilities.repeatable_shuffle` False): which seed rows a later fresh
    #: start's groups hold is then not the first run's. It matters where that decides what a
    #: group becomes: a group whose rows a model column drops writes no file, so a file of the
    #: first run at that place stays under the second (`NoMetadataStartsOver`); with the first
    #: run's permutations again, the second run always wrote it over
    fresh_permutations: bool = False
    #: which of a seed row's records meets a transient provider fault's first request
    #: (`first_asker_options`): for each model column, the k-th of those still asking in a
    #: batch (sync) or planned in the segment (async; None: the earliest, as the model asks)
    first_asker: tuple[int, ...] | None = None

    def read_seed_stream(self) -> list[Row]:
        return record_stream(self.scenario, type(self).convert)

    def open(self, segment: Segment) -> Session:
        self.session = (self.no_batch_yet(segment) or self.fingerprint_first(segment)
                        or super().open(segment))  # what an interruption's handler works on
        return self.session

    def no_batch_yet(self, segment: Segment) -> Session | None:
        """DataDesigner's sync engine writes metadata.json only once a batch completes. A
        resume of a run none of whose batches did (every row dropped by the model provider)
        finds only the builder_config.json written at the start: it checks the config against
        it and nothing else (no buffer size, no record count: those are metadata's), and a
        dataframe seed source's config does not validate when read back ("Could not read stored
        config ... assuming compatible", `_check_config_compatibility`, 0.6.0 and 0.6.1), so
        that resume goes on even under a changed config. Nothing of the run is on disk: it goes
        on as a fresh run in the same directory, where the reference refuses (the model's own
        metadata.json, written at every segment's end, does not count). A config that differs
        otherwise is refused, or starts fresh elsewhere, as the reference does. None where it
        does not apply."""
        path = self.artifact_root / DATASET_NAME
        config = path / "builder_config.json"
        if (self.scenario.engine != "sync" or segment.resume == "never" or not config.exists()
                or storage.scan_groups(path)):  # a batch file, even one torn since: a batch completed
            return None
        stored = stored_config_hash(config)
        try:
            meta = json.loads((path / storage.METADATA).read_text(encoding="utf-8")) \
                if (path / storage.METADATA).exists() else {}
        except (ValueError, OSError):
            return None
        if stored is None:
            return None
        if meta.get("completed_groups"):
            return None
        if self.scenario.source == "dataframe" or stored == self.config_hash:
            return self.fresh(path, segment)
        return None

    def fingerprint_first(self, segment: Segment) -> Session | None:
        """DataDesigner under IF_POSSIBLE compares the config fingerprint before anything else:
        a mismatch is a fresh run in a new directory whatever else differs (a buffer size the
        reference would refuse; `DatasetBuilder.build`). None where it does not apply."""
        path = self.artifact_root / DATASET_NAME
        meta_path = path / storage.METADATA
        if segment.resume != "if_possible" or not meta_path.exists():
            return None
        stored = stored_config_hash(meta_path)
        if stored is None or stored == self.config_hash or self.continues_despite_mismatch(segment):
            return None
        return self.fresh_sibling(path, segment)

    def land(self, session: Session, groups: list[Group]) -> None:
        """Generate and checkpoint `groups` outside the fault injector: work that lands after
        an interruption (a Ctrl-C's in-flight groups, or the run going on behind the call)."""
        for group in groups:
            rows = [self.record(session, self.seed_position(session, group) + r) for r in range(group.size)]
            storage.write_group(session.dataset_dir, group.id, rows)
            session.completed[group.id] = len(rows)
            self.journal.append({"event": "checkpoint", "segment": self.segment_index, "ordinal": 0,
                                 "group": group.id, "rows": len(rows), "seed_ids": [r["seed_id"] for r in rows]})

    def fired(self, model: type) -> None:
        """Record, once per segment, that `model` changed what the reference would have done:
        which known bugs a failure needed (`harness.ledger.KnownBugs`)."""
        done = self.__dict__.setdefault("_fired", set())
        if model not in done:
            done.add(model)
            self.journal.append({"event": "model", "segment": self.segment_index, "model": NAMES[model]})

    def run_segment(self, segment: Segment) -> None:
        """The reference's, journaling an interruption that leaves the process with row groups
        left (`WORK_LEFT`): what a release's threads may go on with in that process."""
        try:
            super().run_segment(segment)
        except (KeyboardInterrupt, Interrupted):
            session = getattr(self, "session", None)
            if session is not None and any(g.id not in session.completed for g in session.plan):
                self.journal.append({"event": WORK_LEFT, "segment": self.segment_index})
            raise
        self.read_back()

    def read_back(self) -> None:
        """The release's read of its dataset at the end of its run (`run_reads_dataset`), as
        far as what it reads is a fact of its reader rather than of a composed model: files
        whose types for a seed column differ by the pandas that wrote them (timestamps in
        nanoseconds or milliseconds, a string column as double: `file_types_read`), which
        an earlier segment may have written on another release."""
        session = getattr(self, "session", None)
        if not type(self).run_reads_dataset or session is None:
            return
        problem, model = file_types_read(self.scenario, session.dataset_dir, type(self).dataset_schema)
        if problem is not None:
            self.fired(model)
            raise ModelRunError(
                "Failed to load generated dataset — all records may have been dropped due to "
                f"generation failures. Original error: {problem}")

    def after_left_work(self) -> bool:
        """Whether the segment before this one, in this process, was interrupted with row
        groups left (`WORK_LEFT`)."""
        return any(e.get("event") == WORK_LEFT and e.get("segment") == self.segment_index - 1
                   for e in self.journal.events())

    def observed_first(self, groups: list[Group]) -> list[Group]:
        """`groups` in the order the target checkpointed them in this segment (those it did
        not, after them in plan order); as given where no order was observed."""
        rank: dict[int, int] = {}
        for k, group in enumerate(type(self).observed_order.get(self.segment_index, ())):
            rank.setdefault(group, k)
        return sorted(groups, key=lambda g: (rank.get(g.id, len(rank)), g.id)) if rank else list(groups)

    def run_async(self, session: Session, todo: list[Group]) -> None:
        observed = type(self).observed_order.get(self.segment_index)
        if not observed:
            return super().run_async(session, todo)
        # the groups in flight finish on the engine's loop thread, and those the target
        # checkpointed before its call ended land before the KeyboardInterrupt leaves it (from
        # 0.8.0 the scheduler is then cancelled and waited for: all of them)
        in_call = set(observed[:type(self).observed_in_call.get(self.segment_index, len(observed))])
        for group in self.observed_first(todo):
            try:
                self.complete_group(session, group)
            except KeyboardInterrupt:
                self.land(session, [g for g in self.observed_first(todo)
                                    if g.id in in_call and g.id not in session.completed])
                raise

    def ask(self, client: Any, prompt: str) -> Any:
        """A transient provider fault fails the first request of a seed row's prompt in each
        segment: which of the row's records that is, is the target's dispatch order, not the
        order the model completes its groups in. The async engine admits its row groups in plan
        order and dispatches a row's cells together (a row dropped by one column has asked for
        the others too), so the first admitted asks first, whichever completes first: the
        record that meets the fault is the segment's earliest planned record of that row
        (`first_askers`), and any other record the model asks before it is spared the failure
        (`harness.provider`'s `spare`). The sync engine asks as the model does, a row group
        after another, and does not ask a dropped row's later columns: nothing to spare."""
        first = self.first_askers().get(prompt) if self.scenario.engine == "async" else None
        asked = self.__dict__.setdefault("_first_asked", set())
        if first is not None and prompt not in asked:
            if self.asking == first:
                asked.add(prompt)
            else:
                from harness.provider import tell

                tell(self.injector.provider_endpoint, "spare", prompt=prompt)
        return super().ask(client, prompt)

    def ask_model(self, session: Session, group: Group, rows: list[Row]) -> tuple[list[Row], dict[str, Any]]:
        """As the reference, but where a sync run's race decides (`first_asker`): the sync
        engine asks one model column for a whole batch at once, on a pool of threads
        (`max_parallel_requests`), so which of a seed row's records in the batch reaches the
        provider first, and meets a transient fault's "first request of the segment", is the
        pool's race; the records are asked a column at a time, and of the records still asking
        for a column's prompt the column's `first_asker`-th meets it (those before it are
        spared: `spare`)."""
        firsts = type(self).first_asker
        if not firsts or self.scenario.engine != "sync":
            return super().ask_model(session, group, rows)
        from harness.provider import tell

        kept, dropped = self.settled_rows(session, group)
        transient = {f.seed_id for f in self.scenario.provider_faults if not f.permanent}
        client = model_client(self.injector.provider_endpoint)
        failed: dict[int, bool] = {}  # position -> whether permanently
        todo = [p for p in range(len(rows)) if p not in kept and p not in dropped]
        for c, column in enumerate(self.scenario.model_columns):
            asking = [p for p in todo if p not in failed]
            askers: dict[str, list[int]] = {}
            for p in asking:
                if rows[p].get("seed_id") in transient:
                    askers.setdefault(column.prompt(rows[p]), []).append(p)
            k = firsts[c] if c < len(firsts) else 0
            spared = {p for ps in askers.values() for p in ps[:min(k, len(ps) - 1)]}
            for p in asking:
                if c == 0:
                    self.injector.at_row(group.id, p)
                self.asking = (group.id, p)
                prompt = column.prompt(rows[p])
                if p in spared:
                    tell(self.injector.provider_endpoint, "spare", prompt=prompt)
                completion = self.ask(client, prompt)
                if completion.text is None:
                    failed[p] = completion.permanent
                else:
                    rows[p][column.name] = completion.text
        out = [kept[p] if p in kept else rows[p] for p in range(len(rows))
               if p in kept or (p in todo and p not in failed)]
        dropped += [p for p, permanent in failed.items() if permanent]
        lost = [p for p, permanent in failed.items() if not permanent]
        notes = {k: sorted(v) for k, v in (("dropped", dropped), ("lost", lost)) if v}
        return out, notes

    def first_askers(self) -> dict[str, tuple[int, int]]:
        """prompt -> (group id, position) of the segment's earliest planned record that asks
        for it, for the seed rows with a transient provider fault; computed at the segment's
        first request (before any group of its own is checkpointed), from the groups it has to
        do and the rows of those on disk it keeps. Where `first_asker` says another (the
        engine's row groups in flight together race), the column's k-th planned record."""
        found = self.__dict__.get("_first_askers")
        if found is not None:
            return found
        found = self.__dict__["_first_askers"] = {}
        transient = {f.seed_id for f in self.scenario.provider_faults if not f.permanent}
        session = getattr(self, "session", None)
        if not transient or session is None:
            return found
        planned: dict[tuple[int, str], list[tuple[int, int]]] = {}
        for group in session.plan:
            if group.id in session.completed:
                continue
            previous = session.partial.get(group.id) or {}
            settled = set(previous.get("dropped", ()))
            if previous:
                settled |= {p for p in range(group.size) if p not in previous.get("lost", ())}
            start = self.seed_position(session, group)
            for position in range(group.size):
                if position in settled:
                    continue
                row = self.record(session, start + position)
                if row.get("seed_id") in transient:
                    for c, column in enumerate(self.scenario.model_columns):
                        planned.setdefault((c, column.prompt(row)), []).append((group.id, position))
        firsts = type(self).first_asker or ()
        for (c, prompt), askers in planned.items():
            k = firsts[c] if c < len(firsts) else 0
            found[prompt] = askers[min(k, len(askers) - 1)]
        return found

    def generate_group(self, session: Session, group: Group) -> list[Row]:
        start = self.seed_position(session, group)
        rows = []
        for r in range(group.size):
            self.injector.at_row(group.id, r)
            rows.append(self.record(session, start + r))
        session.records_generated += len(rows)
        return rows

    def record(self, session: Session, i: int) -> Row:
        key = self.pass_key(session, i)
        row = self.records.row(i, key)
        if self.records.shuffle:
            row[CHUNK_KEY] = EPOCH_STRIDE * self.epoch(session) + i // self.records.length if key is None else key
            row[CHUNK_POS] = i % self.records.length
        return row

    def pass_key(self, session: Session, record: int) -> int | None:
        key = super().pass_key(session, record)
        if key is None and self.fresh_permutations and self.records.shuffle:
            epoch = self.epoch(session)
            if epoch:
                return EPOCH_STRIDE * epoch + record // self.records.length
        return key

    def fresh(self, path: Path, segment: Segment, keep_groups: bool = False) -> Session:
        session = super().fresh(path, segment, keep_groups)
        storage.write_bytes(session.dataset_dir / EPOCH_FILE, str(self.segment_index).encode())
        self.__dict__.setdefault("_epochs", {})[session.dataset_dir] = self.segment_index
        return session

    def epoch(self, session: Session) -> int:
        """The segment whose fresh start the session's permutations descend from: a target
        whose shuffle is its own draws new permutations in every run that starts over, so two
        fresh starts of one chain (a group of the first may survive the second) never share
        one; a correct resume goes on with the permutations of the run it resumes."""
        epochs = self.__dict__.setdefault("_epochs", {})
        if session.dataset_dir not in epochs:
            try:
                epochs[session.dataset_dir] = int((session.dataset_dir / EPOCH_FILE).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                epochs[session.dataset_dir] = 0
        return epochs[session.dataset_dir]


class OrderedReaderRestarts(ReferenceEngine):
    """dd-ordered-resume-replays-seed-rows (#709, 0.6.0): a resumed process reads ORDERED
    seed rows from the start of the selection, one group after another."""

    def seed_position(self, session: Session, group: Group) -> int:
        if session.resumed and self.scenario.sampling == "ordered":
            position = self.sequential(session, group)
            if position != group.offset:
                self.fired(OrderedReaderRestarts)
            return position
        return super().seed_position(session, group)


class ShuffleReaderRestarts(ReferenceEngine):
    """dd-shuffle-resume-restarts-permutation: a resumed process draws fresh permutations,
    the first starting at its first group: the rows it reads are those of a new run."""

    def seed_position(self, session: Session, group: Group) -> int:
        if session.resumed and self.scenario.sampling == "shuffle":
            self.fired(ShuffleReaderRestarts)
            return self.sequential(session, group)
        return super().seed_position(session, group)

    def pass_key(self, session: Session, record: int) -> int | None:
        if session.resumed and self.scenario.sampling == "shuffle":
            return 3_000_000 * (self.segment_index + 1) + record // self.records.length
        return super().pass_key(session, record)


class ManifestOffset(ReferenceEngine):
    """dd-ordered-hydrating-*: a directory source's group reads from the manifest row whose
    index is the group's *record* offset modulo the number of selected manifest rows, and
    on from there to the end of the selection (the async engine on 0.6.1 and later for every
    group; the sync engine on resume only, 0.6.1). Manifest rows that hydrate into no
    records raise (sync) or drop the group (async)."""

    def _applies(self, session: Session) -> bool:
        if self.scenario.source != "directory" or self.scenario.sampling != "ordered":
            return False
        if session.resumed and isinstance(self, OrderedReaderRestarts):
            return False  # a reader that starts over is not positioned at all (0.6.0)
        return self.scenario.engine == "async" or session.resumed

    def generate_group(self, session: Session, group: Group) -> list[Row]:
        if not self._applies(session):
            return super().generate_group(session, group)
        seeds = self.scenario.selected_seeds()
        manifest = group.offset % len(seeds) if seeds else 0
        # the reader of manifest rows `manifest`.. (all of them at offset 0), then, when it
        # runs out, the whole selection again and again (SeedDatasetColumnGenerator._sample_records)
        start = sum(len(_hydrated(self, seed)) for seed in seeds[:manifest])
        if start != group.offset % max(1, self.records.length) or start >= self.records.length:
            self.fired(ManifestOffset)
        if start >= self.records.length:
            raise ManifestRowsEmpty(
                f"Selected manifest rows for seed source at index range {manifest}..{len(seeds) - 1} "
                "did not produce any rows after hydration")
        rows = []
        for r in range(group.size):
            self.injector.at_row(group.id, r)
            first = self.records.length - start  # records left in the positioned reader
            i = start + r if r < first else r - first
            rows.append(self.record(session, i))
        session.records_generated += len(rows)
        return rows

    def complete_group(self, session: Session, group: Group) -> None:
        try:
            super().complete_group(session, group)
        except ManifestRowsEmpty:
            if self.scenario.engine != "async":
                raise
            # the async engine drops a row group whose seed rows cannot be read; the run goes on


class ManifestRowsEmpty(Exception):
    """DataDesigner's SeedReaderError for manifest rows that hydrate into nothing."""


def _hydrated(engine: ReferenceEngine, seed: Any) -> list[Row]:
    return [r for r in engine.records.stream if r["seed_id"] == seed.seed_id]


class NoMetadataStartsOver(ReferenceEngine):
    """dd-async-resume-before-first-metadata-redoes-group: the async engine, resuming a
    dataset that has no metadata.json, clears its partial results (only: the interrupted
    run's data files stay, `clear_partial_results`) and runs afresh in the same directory,
    though a row group of the interrupted run may be complete on disk. A data file the new
    run does not write again (it is interrupted first) is taken by the next resume as its
    own, whatever its row count. (A Ctrl-C is not such
    an interruption: the checkpoint callbacks run on the engine's event-loop thread and the
    KeyboardInterrupt lands in the main thread, waiting in `_await_async_scheduler_result`,
    so the checkpoint in progress finishes and writes metadata.json before the call raises.)"""

    def open(self, segment: Segment) -> Session:
        path = self.artifact_root / "resume_trial"
        if (self.scenario.engine == "async" and segment.resume != "never" and path.is_dir()
                and any(path.iterdir()) and not (path / storage.METADATA).exists()):
            if storage.scan_groups(path):
                self.fired(NoMetadataStartsOver)
            self.session = self.fresh(path, segment, keep_groups=True)
            return self.session
        return super().open(segment)

    def run_segment(self, segment: Segment) -> None:
        try:
            super().run_segment(segment)
        except KeyboardInterrupt:
            session = getattr(self, "session", None)
            if self.scenario.engine == "async" and session is not None and session.completed:
                storage.write_json_atomic(session.dataset_dir / storage.METADATA, self.metadata(session))
            raise


class CtrlCGoesOn(ReferenceEngine):
    """dd-async-ctrl-c-leaves-the-run-going (0.6.0 to 0.7.0): on the async engine a Ctrl-C
    ends the call and not the run: the groups not yet done are generated and checkpointed,
    and metadata written, after the call has raised. How many land before the call raises
    (the main thread, on a loaded machine, may take its KeyboardInterrupt late) is the
    target's observed fact (`observed_in_call`); how many of the rest land before the
    process ends is the release's threads' timing: `variant` k stands for the first k
    (default: all of them), 0 for none and no metadata written after the call either (the
    threads had nothing left, or the call's raise outran them: no ghost), and -1 for none
    but a group's partial results written (DataDesigner's tmp-partial-parquet-files: a
    ghost that changes no row)."""

    @staticmethod
    def variants(scenario: Any) -> list[int]:
        if scenario.engine != "async" or not any(s.fault is not None and s.fault.action == "sigint"
                                                 for s in scenario.segments):
            return []
        return list(range(-1, max(s.num_records for s in scenario.segments) // scenario.buffer_size + 2))

    def run_segment(self, segment: Segment) -> None:
        race = type(self).crashes_in
        if (race is not None and race == (self.segment_index, GHOST_RACE)
                and self.segment_index in ghost_race_segments(self.scenario) and self.after_left_work()):
            # the resume in the ghost's process clears the partial results the ghost writes
            # into, or moves a batch file the ghost listed: `create()` raises at its start
            self.fired(CtrlCGoesOn)
            raise ModelRunError(f"Error generating dataset: {GHOST_RACE_ERRORS[0]}")
        try:
            super().run_segment(segment)
        except KeyboardInterrupt:
            if self.scenario.engine != "async":
                raise
            session = self.session
            # the groups that land first are those the target's threads checkpointed first
            todo = self.observed_first([g for g in session.plan if g.id not in session.completed])
            if todo:
                self.fired(CtrlCGoesOn)
            threading.Thread(target=self._go_on, args=(session, todo), name="model-ctrl-c").start()
            raise

    def _go_on(self, session: Session, todo: list[Group]) -> None:
        time.sleep(0.02)  # once the interrupted call has returned
        variant = type(self).variant
        # A trial that has ended meanwhile (its directory removed) is no place to land: the
        # release's threads would have died with its process. Nothing is made again there.
        if not session.dataset_dir.is_dir():
            return
        try:
            if variant == -1:
                storage.write_bytes(str(session.dataset_dir.parent / "model-partial-results"), b"partial")
            if variant is not None and variant <= 0:
                return
            self.land(session, todo if variant is None else todo[:variant])
            storage.write_json_atomic(session.dataset_dir / storage.METADATA, self.metadata(session))
        except FileNotFoundError:
            # the trial's directory went while landing, or a resume in the same process cleared
            # the partial files a group was being written through (as the release's resume
            # does under its ghost): that group does not land, and nothing after it
            return
        except OSError:
            if session.dataset_dir.is_dir():
                raise
            return  # the trial's directory went while landing


#: a model's journal event: its segment was interrupted in its process with row groups left,
#: which the release's threads go on with (`Modelled.after_left_work`)
WORK_LEFT = "model_work_left"
#: a resume in the process of a run Ctrl-C left going meets its files (`CtrlCGoesOn`), as the
#: second number of `Modelled.crashes_in`, and what the release then raises: 0.6.1 and 0.7.0
#: clear the partial-results directory the ghost writes into, 0.6.0 moves a batch file the
#: ghost listed first (both seen in CI and in searches)
GHOST_RACE = -3
GHOST_RACE_ERRORS = ("[Errno 39] Directory not empty", "No such file or directory")


def ghost_race_error(text: str) -> bool:
    """Whether a run's error is a resume's race with the ghost's files (`GHOST_RACE_ERRORS`)."""
    return GHOST_RACE_ERRORS[0] in text or (GHOST_RACE_ERRORS[1] in text and "batch_" in text)


def after_interruption(scenario: Any, actions: tuple[str, ...]) -> list[int]:
    """The async engine's segments run in the process of the one before it, which an
    interruption of one of `actions` stopped (one the process survives): where what that run's
    threads go on doing meets this run."""
    if scenario.engine != "async":
        return []
    return [i for i, s in enumerate(scenario.segments)
            if i > 0 and s.process == "same" and scenario.segments[i - 1].fault is not None
            and scenario.segments[i - 1].fault.action in actions]


def ghost_race_segments(scenario: Any) -> list[int]:
    """The segments whose run may meet a Ctrl-C ghost's files (`CtrlCGoesOn`)."""
    return after_interruption(scenario, ("sigint",))


#: how a run meets a seed reader its process's interrupted run still uses
#: (`SharedSeedReaderClash`), as the second number of `Modelled.crashes_in`: the process
#: deadlocks, or a query's result is taken by the other thread's and the run raises
SEED_READER_HANG, SEED_READER_ERROR = -1, -2
#: what a run that met the other thread's query raises, seen on 0.6.0: the reader's `fetchone()`
#: found no row (`SeedReader.get_seed_dataset_size`), or DuckDB found its query's result closed
SEED_READER_ERRORS = ("'NoneType' object is not subscriptable",
                      "Attempting to execute an unsuccessful or closed pending query result")


class SharedSeedReaderClash(ReferenceEngine):
    """dd-async-same-process-resume-deadlocks-on-the-seed-reader (0.6.0, async): every
    DataDesigner of a process reads seeds through one reader object per seed type
    (`DEFAULT_SEED_READERS`, module level), and `attach()` gives it one DuckDB connection for
    the run. An interrupted async run's threads go on (a Ctrl-C leaves its scheduler going,
    `CtrlCGoesOn`; any interruption leaves the seed task a worker thread is running): a run
    started in the same process (a notebook's cell run again) attaches the same reader, and
    the interrupted run's next seed read (`_sample_records`' reset, `create_batch_reader`)
    takes the new run's connection. Two threads on one DuckDB connection deadlock the
    process (one holds the connection and waits for the GIL, the other holds the GIL and
    waits for the connection), or one query's result is taken by the other's and the run
    raises. Which, and whether at all, is the threads' timing: `crashes_in` (segment,
    `SEED_READER_HANG` or `SEED_READER_ERROR`) names the segment whose run meets it, at its
    start (where in its run does not show: a hung or failed run's rows are not compared).
    Only a segment in the process of an earlier one that was interrupted with row groups
    left can (`clash_segments`); a directory source's reader is the adapter's own per run.
    0.6.1 attaches a copy of the reader for each run (`SeedReaderRegistry.get_reader`)."""

    def run_segment(self, segment: Segment) -> None:
        clash = type(self).crashes_in
        if (clash is not None and clash[0] == self.segment_index and clash[1] in (SEED_READER_HANG, SEED_READER_ERROR)
                and self.segment_index in clash_segments(self.scenario) and self.after_left_work()):
            self.fired(SharedSeedReaderClash)
            if clash[1] == SEED_READER_HANG:
                from harness.chain import SegmentHung

                raise SegmentHung
            raise ModelRunError(f"Error generating dataset: {SEED_READER_ERRORS[0]}")
        super().run_segment(segment)


def clash_segments(scenario: Any) -> list[int]:
    """The segments whose run may meet an earlier run's seed reads (`SharedSeedReaderClash`):
    after a raise, a tear or a Ctrl-C, from a file or dataframe seed source (a directory
    source's reader is the adapter's own per run)."""
    return [] if scenario.source == "directory" else after_interruption(scenario, ("raise", "tear", "sigint"))


class PlanFromTwoTargets(ReferenceEngine):
    """dd-second-extension-reuses-shorter-group: the resume plan is rebuilt from the first
    run's target and the current one only, and a group file on disk counts as complete
    whatever its row count."""

    def plan(self, history: list[int], buffer_size: int) -> list[Group]:
        return plan_groups([history[0], history[-1]] if len(history) > 1 else history, buffer_size)

    def completed_groups(self, session: Session) -> dict[int, int]:
        sizes = {g.id: g.size for g in session.plan}
        found = {g: n for g, n in storage.scan_groups(session.dataset_dir).items() if n is not None and g in sizes}
        if any(n != sizes[g] for g, n in found.items()) or session.plan != plan_groups(session.history,
                                                                                      session.buffer_size):
            self.fired(PlanFromTwoTargets)
        return found


class FingerprintMissesContent(ReferenceEngine):
    """dd-resume-after-seed-file-edit-mixes-rows: the resume fingerprint covers where the seed
    table is read from, not what it holds; a resume after an edit goes on with the new rows."""

    def fingerprinted(self) -> tuple[str, ...]:
        return tuple(f for f in super().fingerprinted() if f != "seeds")

    def metadata(self, session: Session) -> dict[str, Any]:
        return {**super().metadata(session), "model_seed_content": config_hash(self.scenario, ("seeds",))}

    def open(self, segment: Segment) -> Session:
        session = super().open(segment)
        stored = (session.metadata or {}).get("model_seed_content")
        if session.resumed and stored is not None and stored != config_hash(self.scenario, ("seeds",)):
            self.fired(FingerprintMissesContent)
        return session


class SameSecondSibling(ReferenceEngine):
    """dd-fresh-runs-of-one-second-share-a-directory (0.6.0 to 0.8.0): a run that starts
    fresh beside a non-empty dataset directory (ResumeMode.NEVER, or IF_POSSIBLE after the
    config changed) names its directory by the wall clock's second
    (`<name>_%m-%d-%Y_%H%M%S`, `ArtifactStorage.resolved_dataset_name`) and writes into it
    whether or not it exists. Two fresh runs in one second share it: the second's dataset
    holds the first's row-group files it does not overwrite (a group it dropped, or one past
    its own records). 0.9 claims the directory exclusively (`create_dataset_directory`:
    `mkdir(exist_ok=False)`, a uuid suffix on a clash). Which runs share a second is the
    wall clock's: the model follows the target's run (`observed_shared`)."""

    def fresh_sibling(self, path: Path, segment: Segment) -> Session:
        earlier = type(self).observed_shared.get(self.segment_index)
        if earlier is not None:
            dirs = [e["path"] for e in self.journal.events()
                    if e.get("event") == "dataset" and e.get("segment") == earlier]
            if dirs and Path(dirs[0]) != path and Path(dirs[0]).parent == path.parent:
                self.fired(SameSecondSibling)
                return self.fresh(Path(dirs[0]), segment, keep_groups=True)
        return super().fresh_sibling(path, segment)


class FreshHomeFingerprint(ReferenceEngine):
    """dd-first-run-of-an-installation-cannot-be-resumed (0.6.0 to 0.9.7, both engines): a
    `DataDesignerConfigBuilder()` without model configs takes the installation's defaults
    from DATA_DESIGNER_HOME's `model_configs.yaml` (`get_default_model_configs`), which the
    first `DataDesigner()` of a fresh installation writes (`resolve_seed_default_model_settings`);
    a user's script builds its config first, so its first run's config has no model configs
    and every later one has the defaults, and the config fingerprint covers them: whatever
    resumes that first run's dataset finds another config (ALWAYS refuses: "Cannot resume:
    the current config ... does not match"; IF_POSSIBLE starts over in a new directory).
    A config whose columns name their models (model columns here) does not depend on it."""

    #: what the first run's fingerprint is, beside the config's own
    MARK = "+no-model-defaults"
    #: the release's `DataDesignerTarget.checks_start_config` (set by `model_target`)
    checks_start_config: bool = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.scenario.fresh_home and self.segment_index == 0 and not self.scenario.model_columns:
            self.config_hash += self.MARK

    def open(self, segment: Segment) -> Session:
        if self.segment_index > 0 and segment.resume != "never":
            path = self.artifact_root / DATASET_NAME
            for name in (storage.METADATA, "builder_config.json"):
                stored = stored_config_hash(path / name, without="")
                if stored is None:
                    continue
                if stored.endswith(self.MARK):
                    self.fired(FreshHomeFingerprint)
                    if (name != storage.METADATA and type(self).checks_start_config
                            and self.scenario.source != "dataframe"):
                        # no metadata.json yet (an async run stopped in its first checkpoint's
                        # callback): 0.6 checks the config the run wrote at its start
                        # (builder_config.json; a dataframe source's does not validate read
                        # back: "assuming compatible"), 0.7 and later start over
                        # (`checks_start_config`, read off the release's code)
                        if segment.resume == "always":
                            raise ResumeRefused(
                                "Cannot resume: the current config does not match the config used in the "
                                "interrupted run.")
                        self.session = self.fresh_sibling(path, segment)
                        return self.session
                break
        return super().open(segment)


#: the seed sources DataDesigner reads from a file with DuckDB, column types and all
READ_FROM_FILE = ("parquet", "csv", "jsonl")


class ReadsDatasetBack(ReferenceEngine):
    """What the models whose bug shows when the release reads its dataset back share: at the
    end of `create()` (where the release's run reads it, `run_reads_dataset`) a dataset whose
    row-group files cannot be read as one fails the run (`read_parquet_dataset`, "Failed to
    load generated dataset"); else only the final read fails (`ModelTarget.load`)."""

    def run_segment(self, segment: Segment) -> None:
        super().run_segment(segment)
        if not type(self).run_reads_dataset or (self.scenario.source not in READ_FROM_FILE
                                                 and not self.scenario.model_columns):
            return
        # the dataset this run wrote, as the release reads back its own `base_dataset_path`: not
        # a sibling an earlier run left (a fresh installation's first run, torn, beside the
        # fresh runs IF_POSSIBLE started after it, read as this run's, failed a run the
        # release finished)
        session = getattr(self, "session", None)
        paths = [session.dataset_dir] if session is not None else \
            sorted(self.journal_paths(self.artifact_root / "resume_trial"))
        for path in paths:
            rows, layout = storage.load_dataset(path)
            problem = type(self).why_unreadable(self.scenario, rows, layout)
            if problem is not None and not (isinstance(problem, ReadRace)
                                            and race_won(type(self).read_races_won, self.journal)):
                raise ModelRunError(
                    "Failed to load generated dataset — all records may have been dropped due to "
                    f"generation failures. Original error: {problem}")

    @classmethod
    def why_unreadable(cls, scenario: Any, rows: list[Row], layout: list[tuple[int, int]]) -> str | None:
        """Why the release cannot read a dataset of these row-group files (`layout`, in load
        order) as one, by the composed models' own `unreadable_files`; None: it can."""
        for model in cls.__mro__:
            check = model.__dict__.get("unreadable_files")
            problem = check(scenario, rows, layout, cls.dataset_schema) if check is not None else None
            if problem is not None:
                return problem
        return None

    def journal_paths(self, dataset: Any) -> list[Any]:
        """The dataset directories this run wrote (the trial journal's `dataset` events)."""
        return [dataset.parent / name for name in {p.name for p in dataset.parent.iterdir()
                                                   if p.name.startswith("resume_trial")}]


def reader_batches(engine: ReferenceEngine, session: Session, group: Group, rows: list[Row]) -> list[list[Row]]:
    """The seed records of each batch the release's reader hands over as a frame for the
    group: batches of the group's size, from where the group starts; at the end of a pass
    over the selection the reader starts over (a new permutation under SHUFFLE) with a
    whole batch, of which the group takes what it still needs (the rest of that batch is
    read, and its nulls make a column float, all the same)."""
    length, size = engine.records.length, group.size
    if not length or not size:
        return [rows]
    start = engine.seed_position(session, group)
    end = (start // length + 1) * length  # where the pass the group starts in ends
    spans = [(start, min(start + size, end))]
    needed = size - (spans[0][1] - spans[0][0])
    while needed > 0:
        spans.append((end, end + min(size, length)))
        needed -= spans[-1][1] - spans[-1][0]
        end += length
    record = getattr(engine, "record", None)
    return [[record(session, i) if record is not None else engine.records.row(i, engine.pass_key(session, i))
             for i in range(first, last)] for first, last in spans]


class NullableIntsThroughDoubles(ReadsDatasetBack):
    """dd-int-seed-column-with-null-rounds-large-ints: in a group whose seed rows hold a null
    in an int column, that column goes through a double (pandas' float64 for an int column
    with a null) and is written as one: ints above 2**53 come back rounded. At the end of
    `create()` the dataset is read back with the files' schemas unified (float64), and an
    int above 2**53 in a file that kept int64 cannot be cast: the run fails
    (`read_parquet_dataset`, "Failed to load generated dataset"). A column DuckDB reads as
    HUGEINT (a JSONL column of ints of both signs) arrives as Decimals, not ints: no double."""

    def generate_group(self, session: Session, group: Group) -> list[Row]:
        rows = super().generate_group(session, group)
        if self.scenario.source not in READ_FROM_FILE:
            return rows
        batches = self.reader_batches(session, group, rows)
        for column in self.scenario.columns:
            values = [row.get(column.name) for row in rows]
            if column.type != "int" or not any(_is_int(v) for v in values) or not any(
                    record.get(column.name) is None for batch in batches for record in batch):
                continue
            self.fired(NullableIntsThroughDoubles)
            for row in rows:
                value = row.get(column.name)
                if _is_int(value):
                    row[column.name] = float(value)
        return rows

    def reader_batches(self, session: Session, group: Group, rows: list[Row]) -> list[list[Row]]:
        return reader_batches(self, session, group, rows)

    @staticmethod
    def unreadable_files(scenario: Any, rows: list[Row], layout: list[tuple[int, int]], schema: str) -> str | None:
        return unreadable_int_column(scenario, rows, layout, schema)


#: how DuckDB's CSV reader writes a float infinity, and what its sniffer takes for a DATE's
INFINITIES = frozenset({"inf", "-inf"})


def csv_infinity_date_columns(scenario: Any) -> list[str]:
    """The float seed columns of a CSV seed file whose every value is an infinity or empty
    (one infinity at least): DuckDB's CSV sniffer types such a column DATE (`infinity`)."""
    if scenario.source != "csv":
        return []
    found = []
    for k, column in enumerate(scenario.columns):
        values = [seed.values[k] for seed in scenario.seeds if seed.values[k] is not None]
        if column.type == "float" and values and all(
                isinstance(v, float) and str(v) in INFINITIES for v in values):
            found.append(column.name)
    return found


#: what pandas 2's datetime64[ns] holds (`pd.Timestamp.min`, `.max`, to the microsecond)
NS_MIN, NS_MAX = dt.datetime(1677, 9, 21, 0, 12, 43, 145225), dt.datetime(2262, 4, 11, 23, 47, 16, 854775)
_EPOCH = dt.datetime(1970, 1, 1)


def beyond_nanoseconds(value: Any) -> bool:
    return isinstance(value, dt.datetime) and value.tzinfo is None and not NS_MIN <= value <= NS_MAX


def unreadable_timestamp_column(scenario: Any, rows: list[Row], layout: list[tuple[int, int]],
                                schema: str = "unified", units: list[dict[str, str]] | None = None) -> str | None:
    """Why a dataset whose row-group files hold a timestamp seed column in different units
    cannot be read as one, or None. `units`: each file's unit per column (`TIMESTAMP_UNITS`
    notes; a column a file does not note is in microseconds, as the reference and pandas 3
    write values); None: as a pandas 2 release wrote every file (`pandas2_unit`: nanoseconds
    where every value of the file fits, or is null). Read with the first file's schema
    ("first": 0.6 to 0.8), each later file is cast to the first file's unit: to nanoseconds
    a value beyond pandas 2's range fails ("out of bounds", `TimestampsBeyondNanoseconds`), to
    milliseconds a value with microseconds ("would lose data", `NullTimestampsInMilliseconds`:
    pandas 3 writes a group of nulls in milliseconds); to microseconds every value fits.
    Read with the files' schemas unified ("unified": 0.9, pyarrow's permissive promotion, the
    finest unit), any file in nanoseconds makes every file's values nanoseconds, which a
    value beyond the range fails; milliseconds and microseconds are microseconds. So a
    dataset one of whose segments ran on a pandas 2 release and another on 0.9 may be
    unreadable by either."""
    files = _files(rows, layout)
    for column in getattr(scenario, "columns", ()):
        if column.type != "timestamp":
            continue
        held = [(unit_of(column.name, file, units[k] if units is not None else None), file)
                for k, file in enumerate(files) if file]
        if not held:
            continue
        if schema == "first":
            unit, cast = held[0][0], held[1:]
        else:
            unit, cast = ("ns" if any(u == "ns" for u, _file in held) else "us"), held
        values = [v for _unit, file in cast for v in (r.get(column.name) for r in file)]
        if unit == "ns":
            beyond = next((v for v in values if beyond_nanoseconds(v)), None)
            if beyond is not None:
                return ("ArrowInvalid: Casting from timestamp[us] to timestamp[ns] would result in out of bounds "
                        f"timestamp: {_micros(beyond)}")
        elif unit == "ms":
            finer = next((v for v in values if isinstance(v, dt.datetime) and v.microsecond % 1000), None)
            if finer is not None:
                return f"ArrowInvalid: Casting from timestamp[us] to timestamp[ms] would lose data: {_micros(finer)}"
    return None


def _micros(value: dt.datetime) -> int:
    return (value - _EPOCH) // dt.timedelta(microseconds=1)


#: a row-group file's note (`storage.group_notes`): the unit a pandas 2 release wrote each
#: timestamp seed column in (`TimestampsBeyondNanoseconds`), read by whichever release reads
#: the dataset (`timestamp_units_problem`)
TIMESTAMP_UNITS = "timestamp_units"


def unit_of(name: str, file: list[Row], noted: dict[str, str] | None) -> str:
    """The unit a file holds timestamp column `name` in: as `noted` (a column not noted:
    microseconds); without notes, as a pandas 2 release writes it (`pandas2_unit`)."""
    if noted is None:
        return pandas2_unit(name, file)
    return noted.get(name, "us")


def pandas2_unit(name: str, rows: list[Row]) -> str:
    """A pandas 2 frame's unit for a timestamp column of these rows: nanoseconds where every
    value fits (nulls too), else Python datetimes, written in microseconds."""
    return "us" if any(beyond_nanoseconds(r.get(name)) for r in rows) else "ns"


def timestamp_units_problem(scenario: Any, dataset_dir: Path, schema: str) -> str | None:
    """Why a release reading with `schema` cannot read this dataset, whose files some pandas
    2 release wrote with timestamp columns in nanoseconds (their `TIMESTAMP_UNITS` notes), or
    None (no file so noted: every file in microseconds, which every release reads). A fact of
    the reading release's reader, whichever models it composes: in a chain whose segments ran
    on two releases, the files are the writing release's and the read the reading one's."""
    if not any(c.type == "timestamp" for c in getattr(scenario, "columns", ())):
        return None
    notes = storage.group_notes(dataset_dir)
    # (read unified, only nanoseconds can fail; read with the first file's, milliseconds too)
    finer = ("ns",) if schema == "unified" else ("ns", "ms")
    if not any(u in finer for n in notes.values() for u in n.get(TIMESTAMP_UNITS, {}).values()):
        return None
    rows, layout = storage.load_dataset(dataset_dir)
    return unreadable_timestamp_column(scenario, rows, layout, schema,
                                       [notes.get(group, {}).get(TIMESTAMP_UNITS, {}) for group, _count in layout])


class TimestampsBeyondNanoseconds(ReferenceEngine):
    """dd-timestamp-beyond-nanoseconds-unreadable: with pandas 2 (0.6.0 to 0.8.0's
    environments) a row group's seed batch becomes a frame whose timestamp column is
    datetime64[ns] where every value fits pandas' nanosecond range (1677-09-21 to
    2262-04-11; nulls too), and Python datetimes, written as timestamp[us], where one does
    not (a sentinel such as 9999-12-31 or 0001-01-01). The rows are right, file by file; the
    release reads its dataset with the first file's schema, so a first file in nanoseconds and
    a later one with such a value cannot be read as one: `create()` fails ("Failed to load
    generated dataset", 0.6.1 on) or, on 0.6.0, the final read. Every seed source, the
    dataframe's too. 0.9 (pandas 3, microseconds, unified schemas) reads its own files; it
    cannot read such files a pandas 2 release wrote into the dataset before an upgrade (or
    after a rollback): unified, a file in nanoseconds makes the column nanoseconds.

    The model writes each file's unit as a note (`TIMESTAMP_UNITS`); the read is the reading
    release's (`Modelled.read_back`, `ModelTarget.load`: `timestamp_units_problem`), so the
    files of a chain's segments on two releases are each the release's that wrote them."""

    def generate_group(self, session: Session, group: Group) -> list[Row]:
        rows = super().generate_group(session, group)
        if any(beyond_nanoseconds(row.get(c.name)) for row in rows for c in self.scenario.columns
               if c.type == "timestamp"):
            self.fired(TimestampsBeyondNanoseconds)  # a file in microseconds
        return rows

    def checkpoint(self, session: Session, group: Group, rows: list[Row], notes: dict[str, Any] | None = None) -> None:
        units = {c.name: pandas2_unit(c.name, rows) for c in self.scenario.columns if c.type == "timestamp"}
        if units and rows:
            notes = {**(notes or {}), TIMESTAMP_UNITS: units}
        super().checkpoint(session, group, rows, notes)


def units_model(problem: str) -> type[ReferenceEngine]:
    """The model whose files a timestamp units problem (`unreadable_timestamp_column`) is of."""
    return NullTimestampsInMilliseconds if "to timestamp[ms]" in problem else TimestampsBeyondNanoseconds


class NullTimestampsInMilliseconds(ReferenceEngine):
    """dd-null-timestamp-group-unreadable-after-rollback: 0.9 (pandas 3) makes a row group's
    timestamp seed column whose values are all null a `datetime64[s]` column (pandas 3 infers
    seconds for NaT), which parquet, having no seconds, writes as timestamp[ms]; a group with a
    value is timestamp[us]. 0.9 reads its files with their schemas unified (milliseconds next
    to microseconds: microseconds) and every file reads. A release before it reads with the
    first file's schema: where the first file is such a group, a later value with
    microseconds cannot be cast ("would lose data"). So a run 0.9.7 started whose first group
    holds only nulls there, resumed on 0.8.0 (a rollback), checkpoints its group and fails at
    the end of 0.8.0's `create()`, and 0.8.0 cannot read the dataset since. The model notes
    each such file's unit (`TIMESTAMP_UNITS`); the reading release's reader decides
    (`timestamp_units_problem`), so it shows only where a release of 0.6 to 0.8 reads."""

    def checkpoint(self, session: Session, group: Group, rows: list[Row], notes: dict[str, Any] | None = None) -> None:
        nulls = {c.name: "ms" for c in self.scenario.columns
                 if c.type == "timestamp" and rows and all(r.get(c.name) is None for r in rows)}
        if nulls:
            notes = {**(notes or {}), TIMESTAMP_UNITS: {**(notes or {}).get(TIMESTAMP_UNITS, {}), **nulls}}
        super().checkpoint(session, group, rows, notes)


#: a row-group file's note (`storage.group_notes`): the string seed columns a pandas 3 release
#: wrote as double, the group's values there being all null (`NullStringsAsDoubles`), read by
#: whichever release reads the dataset (`strings_as_double_read`)
STRINGS_AS_DOUBLE = "strings_as_double"

#: what Arrow's cast of a string to double parses (checked against pyarrow 19 and 24, 0.6.0's
#: and 0.8.0's environments, on the adversarial strings and 20,000 random ones): decimal
#: notation without surrounding space, inf, infinity and nan in any case
_ARROW_DOUBLE = re.compile(r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf|infinity"
                           r"|nan(?:\([0-9A-Za-z_]*\))?)", re.IGNORECASE)


def arrow_double(text: str) -> float | None:
    """The double Arrow's cast makes of `text` ("001" is 1.0, "1e400" inf), or None where the
    cast fails ("Failed to parse string")."""
    if not _ARROW_DOUBLE.fullmatch(text):
        return None
    if text.lstrip("+-").lower().startswith("nan"):  # (with a payload too, which float() refuses)
        return math.nan
    return float(text)  # what the pattern matches float() parses, as Arrow does


def strings_as_double_read(scenario: Any, dataset_dir: Path, schema: str, rows: list[Row] | None = None,
                           layout: list[tuple[int, int]] | None = None) -> tuple[str | None, bool]:
    """A release's read (with `schema`) of this dataset, whose first file a pandas 3 release
    may have written with a string column as double (its `STRINGS_AS_DOUBLE` note): why it
    cannot read it (or None), and whether it read some string as a double. Read with the
    first file's schema ("first": 0.6 to 0.8), each later file's strings are cast to double:
    one Arrow cannot parse fails the read ("Failed to parse string"), the others become
    doubles ("001" is read as 1.0, "nan" as NaN, which the adapter reads as null). Given
    `rows` (and their `layout`), they are changed so. Unified (0.9), the files' schemas cannot
    be unified (double and string): 0.9 reads each file on its own and concatenates them,
    every value as written."""
    if schema != "first" or not getattr(scenario, "columns", ()):
        return None, False
    notes = storage.group_notes(dataset_dir)
    if not any(n.get(STRINGS_AS_DOUBLE) for n in notes.values()):
        return None, False
    if rows is None or layout is None:
        rows, layout = storage.load_dataset(dataset_dir)
    first = next((group for group, count in layout if count), None)
    doubled = notes.get(first, {}).get(STRINGS_AS_DOUBLE, []) if first is not None else []
    cast = False
    for row in rows:
        for name in doubled:
            value = row.get(name)
            if isinstance(value, str):
                read = arrow_double(value)
                if read is None:
                    return f"ArrowInvalid: Failed to parse string: '{value}' as a scalar of type double", cast
                row[name], cast = (None if math.isnan(read) else read), True
    return None, cast


def schemas_fall_back(rows: list[Row], notes: dict[int, dict[str, Any]]) -> bool:
    """Whether 0.9 cannot unify these files' schemas and reads each file on its own,
    concatenating the frames (`read_parquet_dataset` logs "Failed to unify parquet schemas,
    falling back to individual files"): a file holds a string column as double
    (`STRINGS_AS_DOUBLE`) and another holds a string there. pandas' concat then makes a column
    some file holds as decimal and another as int64 or double an object column of the values
    as each file holds them, where the unified read fails (`UnifiedDecimalMeetsInt64`) or makes
    every value a double; timestamps, and ints next to doubles, read as unified, failures
    included (checked on 0.9.7)."""
    doubled = {name for noted in notes.values() for name in noted.get(STRINGS_AS_DOUBLE, [])}
    return bool(doubled) and any(isinstance(r.get(name), str) for r in rows for name in doubled)


def file_types_read(scenario: Any, dataset_dir: Path, schema: str, rows: list[Row] | None = None,
                    layout: list[tuple[int, int]] | None = None) -> tuple[str | None, type[ReferenceEngine] | None]:
    """The reading release's (its `schema`) read of files whose types for a seed column differ
    by the pandas that wrote them: why it cannot read them (or None), and the model whose
    files changed what it read (or None). Timestamp units (`timestamp_units_problem`), then a
    string column as double (`strings_as_double_read`, which makes `rows`, where given, what
    the release reads)."""
    problem = timestamp_units_problem(scenario, dataset_dir, schema)
    if problem is not None:
        return problem, units_model(problem)
    problem, cast = strings_as_double_read(scenario, dataset_dir, schema, rows, layout)
    return problem, NullStringsAsDoubles if problem is not None or cast else None


class NullStringsAsDoubles(ReferenceEngine):
    """dd-null-string-group-read-as-double-after-rollback: 0.9 (pandas 3) reads a string
    seed column (what DuckDB types VARCHAR: a string column, or JSON lines timestamps it
    reads as text) into a `StringDtype` that keeps a null as NaN; a row group whose values
    there are all null becomes, through its records, a float64 column of NaN, and its file
    holds the column as double, where a group with a string holds it as large_string. Both
    engines, every sampling and source, a group that wraps around too (checked on 0.9.7).
    0.9 reads its files each on its own where their schemas cannot be unified, and reads
    them. A release before it reads with the first file's schema: where the first file is
    such a group, a later string Arrow cannot parse as a double fails the read ("Failed to
    parse string: 'x' as a scalar of type double"), and one it can parse is read as that
    double ("001" as 1). So a run 0.9.7 started whose first group holds only nulls there,
    resumed on 0.8.0 past that group (a rollback), checkpoints its groups and fails at the
    end of 0.8.0's `create()`. The model notes each such file (`STRINGS_AS_DOUBLE`); the
    reading release's reader decides (`strings_as_double_read`)."""

    def checkpoint(self, session: Session, group: Group, rows: list[Row], notes: dict[str, Any] | None = None) -> None:
        nulls = [c.name for c in self.scenario.columns if rows and all(r.get(c.name) is None for r in rows)]
        if nulls:
            doubled = [name for name in nulls if name in self._string_columns()]
            if doubled:
                notes = {**(notes or {}), STRINGS_AS_DOUBLE: doubled}
        super().checkpoint(session, group, rows, notes)

    def _string_columns(self) -> set[str]:
        """The seed columns the reader reads as strings (some value as read is one)."""
        names = {c.name for c in self.scenario.columns}
        return {name for row in self.read_seed_stream() for name, value in row.items()
                if name in names and isinstance(value, str)}


class CsvInfinitiesReadAsDates(ReadsDatasetBack):
    """dd-csv-float-column-of-infinities-read-as-dates: DuckDB's CSV sniffer types a column
    whose only values are "inf" or "-inf" (and empties) DATE, an infinity its date; a batch of
    seed rows that holds one cannot be made a pandas frame (pyarrow: "year 5881580 is out of
    range"). The sync engine fails the run at the first row group whose seed batch holds one
    (`create()`: "Failed to process columns [...]"; the groups before it written); the async
    engine drops that group's every row, with no warning, and goes on (the group is neither
    written nor checkpointed), and a run that so drops every group has no dataset to read
    back (0.9: "the run produced 0 records", its first error as the cause). The batches are
    `reader_batches`' (the reader's batch from where the group starts, and at the end of a
    pass the next pass's whole batch: a group that wraps around is dropped where the next
    pass's batch holds an infinity beyond what it takes). 0.6.0's async engine reads the
    rows after a dropped group from the wrong place (fixtures/findings-to-triage)."""

    def complete_group(self, session: Session, group: Group) -> None:
        columns = csv_infinity_date_columns(self.scenario)
        if columns:
            start = self.seed_position(session, group)
            records = [self.records.row(start + r, self.pass_key(session, start + r)) for r in range(group.size)]
            if any(record.get(c) is not None for batch in reader_batches(self, session, group, records)
                   for record in batch for c in columns):
                self.fired(CsvInfinitiesReadAsDates)
                if self.scenario.engine == "sync":
                    raise ModelRunError(f"Error generating dataset: Failed to process columns {columns}: "
                                        "year 5881580 is out of range")
                return  # the async engine drops the group: no file, no checkpoint (a resume makes it again)
        super().complete_group(session, group)

    @staticmethod
    def unreadable_files(scenario: Any, rows: list[Row], layout: list[tuple[int, int]], _schema: str) -> str | None:
        if not rows and csv_infinity_date_columns(scenario):
            return "FileNotFoundError: no row-group files: every record was dropped"
        return None


class DecimalPrecisionPerGroup(ReadsDatasetBack):
    """dd-jsonl-mixed-sign-int-column-unreadable: DuckDB reads a JSONL column of ints of both
    signs as HUGEINT (UBIGINT for the non-negative ones and BIGINT for the negative ones,
    widened), which reaches pandas as Python Decimals; each row group's file then holds the
    column as decimal128(p, 0), `p` the most digits in that group. The release reads the
    dataset with the first file's schema ("first", 0.6 to 0.8), so a later file with more
    digits cannot be cast ("Decimal value does not fit in precision p"); 0.9 unifies the
    files' schemas first. Nothing changes in the rows themselves."""

    def read_seed_stream(self) -> list[Row]:
        return _mixed_sign_ints_as_decimals(self.scenario, super().read_seed_stream())

    def generate_group(self, session: Session, group: Group) -> list[Row]:
        rows = super().generate_group(session, group)
        if self.scenario.source in READ_FROM_FILE and any(
                isinstance(row.get(column.name), Decimal) for column in self.scenario.columns for row in rows):
            self.fired(DecimalPrecisionPerGroup)
        return rows

    @staticmethod
    def unreadable_files(scenario: Any, rows: list[Row], layout: list[tuple[int, int]], _schema: str) -> str | None:
        # reading with the first file's schema is the bug itself (0.9 unifies them)
        return unreadable_decimal_column(scenario, rows, layout, "first")


class UnifiedDecimalMeetsInt64(FingerprintMissesContent, ReadsDatasetBack):
    """dd-jsonl-int-column-sign-mix-edited-unreadable: 0.9 reads a dataset's row-group files
    with their schemas unified (`pa.unify_schemas(..., promote_options="permissive")`), which
    makes a column held as decimal128(p, 0) in one file (a JSONL int column of both signs,
    HUGEINT: `DecimalPrecisionPerGroup`) and as int64 in another (the same column once an
    edit of the seed file left it of one sign: BIGINT) decimal128(18, 0) for any p up to 18;
    an int64 column cannot be cast to it ("Precision is not great enough for the result. It
    should be at least 19"), in either order of the files. So a resume after such an edit
    checkpoints its row groups and then fails at its read-back, and every later read of the
    dataset fails too. A file holding the column as double (a BIGINT group with a null goes
    through float64: `NullableIntsThroughDoubles`) makes the unified type double, and the
    dataset reads. 0.6 to 0.8 read with the first file's schema: there the same files fail
    only where a decimal file comes first (`unreadable_decimal_column`). It shows only where
    the resume goes on after the edit, which is `FingerprintMissesContent`'s bug (the
    reference refuses it): the model builds on that one. Each file's type for the column is
    noted in the file (`int_file_types`), as the inputs in force when it was written made it."""

    def read_seed_stream(self) -> list[Row]:
        return _mixed_sign_ints_as_decimals(self.scenario, super().read_seed_stream())

    def checkpoint(self, session: Session, group: Group, rows: list[Row], notes: dict[str, Any] | None = None) -> None:
        if self.scenario.source == "jsonl":
            mixed = set(mixed_sign_int_columns(self.scenario))
            types = {}
            for column in self.scenario.columns:
                if column.type != "int":
                    continue
                values = [row.get(column.name) for row in rows]
                if column.name in mixed:
                    types[column.name] = "decimal" if any(v is not None for v in values) else "null"
                else:
                    types[column.name] = "double" if None in values else "int64"
            if types and rows:
                notes = {**(notes or {}), "int_file_types": types}
        super().checkpoint(session, group, rows, notes)

    def run_segment(self, segment: Segment) -> None:
        super().run_segment(segment)
        if (not type(self).run_reads_dataset or type(self).dataset_schema != "unified" or self.scenario.source != "jsonl"
                or not any(c.type == "int" for c in self.scenario.columns)):
            return  # (nothing to read: only a JSONL int column's files can differ so)
        for path in sorted(self.journal_paths(self.artifact_root / "resume_trial")):
            rows, layout = storage.load_dataset(path)
            problem = unified_decimal_meets_int64(self.scenario, rows, layout, storage.group_notes(path))
            if problem is not None:
                self.fired(UnifiedDecimalMeetsInt64)
                raise ModelRunError(
                    "Failed to load generated dataset — all records may have been dropped due to "
                    f"generation failures. Original error: {problem}")


def unified_decimal_meets_int64(scenario: Any, rows: list[Row], layout: list[tuple[int, int]],
                                notes: dict[int, dict[str, Any]]) -> str | None:
    """Why 0.9 cannot read these files as one (`UnifiedDecimalMeetsInt64`), or None: a column
    some file holds as decimal128(p <= 18, 0) and another as int64, and none as double; and
    the files' schemas unify (else 0.9 reads each file on its own: `schemas_fall_back`)."""
    if schemas_fall_back(rows, notes):
        return None
    files = _files(rows, layout)
    for column in getattr(scenario, "columns", ()):
        types, digits = set(), []
        for (group, _count), held in zip(layout, files):
            kind = notes.get(group, {}).get("int_file_types", {}).get(column.name)
            types.add(kind)
            if kind == "decimal":
                digits += [len(r[column.name].as_tuple().digits) for r in held if isinstance(r.get(column.name), Decimal)]
        if "decimal" in types and "int64" in types and "double" not in types and max(digits, default=1) <= 18:
            return "ArrowInvalid: Precision is not great enough for the result. It should be at least 19"
    return None


def _mixed_sign_ints_as_decimals(scenario: Any, stream: list[Row]) -> list[Row]:
    """The seed stream with the int columns DuckDB reads as HUGEINT (a JSONL column of both
    signs, in the inputs in force) as Decimals (already so where the target's reader says)."""
    if scenario.source == "jsonl":
        for name in mixed_sign_int_columns(scenario):
            for record in stream:
                if _is_int(record.get(name)):
                    record[name] = Decimal(record[name])
    return stream


class NoRowsNoDataset(ReadsDatasetBack):
    """dd-every-row-dropped-fails-the-run: a run whose every row the model provider failed
    writes no row-group file (the batch manager skips an empty buffer), and reading the
    dataset back then fails: `create()` raises "Failed to load generated dataset — all records
    may have been dropped" (0.6.1 on), or, where the run does not read it back (0.6.0's
    `build()`), the final read finds no files. The reference gives an empty dataset. A row
    group none of whose rows survived is not written (nor checkpointed): a resume makes it."""

    def checkpoint(self, session: Session, group: Group, rows: list[Row], notes: dict[str, Any] | None = None) -> None:
        if not rows and self.scenario.model_columns:
            return
        super().checkpoint(session, group, rows, notes)

    def run_segment(self, segment: Segment) -> None:
        try:
            super().run_segment(segment)
        finally:
            session = getattr(self, "session", None)
            if (self.scenario.model_columns and session is not None
                    and not any(storage.scan_groups(session.dataset_dir).values())):
                self.fired(NoRowsNoDataset)  # the dataset it leaves has no row to read

    @staticmethod
    def unreadable_files(scenario: Any, rows: list[Row], layout: list[tuple[int, int]], _schema: str) -> str | None:
        if scenario.model_columns and not rows:
            return "FileNotFoundError: no row-group files: every record was dropped"
        return None


#: how a run of 0.6.1 to 0.8.0's async engine ends where `EmptiedGroupCrashes` strikes
INTERNAL_TASK_FAILURE = "Unexpected internal task failure in async scheduler"


class EmptiedGroupCrashes(ReferenceEngine):
    """dd-async-emptied-row-group-crashes-the-run (0.6.1 to 0.8.0, async): a row group whose
    every row was dropped at once (a failure the client does not try again: a refusal, and
    there a reset or an answer that is not JSON) counts as complete while a whole-group
    column's task for it (an expression column: `echo`, `tag`, which do not wait for the
    model column) may still be rendering: the scheduler frees the group's buffer, the task's
    write-back finds none (KeyError), and a KeyError is an internal error: `create()` raises
    "Error generating dataset: Unexpected internal task failure in async scheduler", the
    groups not yet written lost. Whether the task is still out is the release's threads'
    timing: `crashes_in` (segment, k) names the segment whose run crashes at its first
    emptied group, the next k row groups having asked the provider for their rows by then
    (the engine's groups run side by side: paid for, never written); None: no run crashes.
    0.9 frees a group only once no task of it is in flight; 0.6.0 logs the KeyError as a
    row's failure and goes on."""

    def checkpoint(self, session: Session, group: Group, rows: list[Row], notes: dict[str, Any] | None = None) -> None:
        seen = session.__dict__.setdefault("_crash_seen", set())
        seen.add(group.id)
        crash = type(self).crashes_in
        if (self.scenario.engine == "async" and self.scenario.model_columns and not rows and notes
                and notes.get("dropped") and not notes.get("lost") and crash is not None
                and crash[0] == self.segment_index and crash[1] >= 0):
            self.fired(EmptiedGroupCrashes)
            fault = self.scenario.segments[self.segment_index].fault
            if fault is None or fault.at == "checkpoint":  # (no row fault point is passed on the way)
                rest = [g for g in self.observed_first(session.plan) if g.id not in session.completed
                        and g.id not in seen]
                for other in rest[:crash[1]]:
                    self.ask_model(session, other, self.generate_group(session, other))
            raise ModelRunError(f"Error generating dataset: {INTERNAL_TASK_FAILURE}.")
        super().checkpoint(session, group, rows, notes)


class EmptiedGroupOrphansRetry(ReferenceEngine):
    """dd-async-outage-after-emptied-group-hangs-the-run (0.7.0 and 0.8.0, async; 0.6.1 has
    the same code): the early free of `EmptiedGroupCrashes` with a model column's task of the
    group still out (two model columns: the row was dropped by the other's failure) and the
    provider's outage begun: the late task fails with an error the engine tries again (HTTP
    503) and is put among the deferred tasks after its group is gone
    (`AsyncTaskScheduler._deferred`); the salvage looks only at live groups, and the dispatch
    loop waits and looks again for ever (`if self._deferred and not self._in_flight`): every
    other group is written, nothing more is asked, and `create()` never returns. Whether the
    task is still out when the outage begins is the threads' timing: `crashes_in` (segment,
    `EMPTIED_GROUP_HANG`) names the segment whose run hangs once its groups are written,
    offered only where the target's run hung there (`emptied_hang_segments`). 0.9 frees a
    group only once no task of it is in flight."""

    def run_segment(self, segment: Segment) -> None:
        super().run_segment(segment)
        if self.__dict__.pop("_orphaned_retry", False):
            from harness.chain import SegmentHung

            raise SegmentHung

    def ask_model(self, session: Session, group: Group, rows: list[Row]) -> tuple[list[Row], dict[str, Any]]:
        from harness.model_columns import dropped_rows

        out, notes = super().ask_model(session, group, rows)
        # a group the segment asked for whose every row has a permanent fault (so the release
        # dropped them all at once, before the outage began at another group's checkpoint:
        # the model asks group by group, where the release has them in flight side by side)
        if (type(self).crashes_in == (self.segment_index, EMPTIED_GROUP_HANG) and rows and not out
                and {row["seed_id"] for row in rows} <= dropped_rows(self.scenario.provider_faults)
                and self.segment_index in emptied_hang_segments(self.scenario)):
            self.fired(EmptiedGroupOrphansRetry)
            self._orphaned_retry = True
        return out, notes


class SyncHoleRefusesResume(NoRowsNoDataset):
    """dd-sync-dropped-batch-blocks-resume: the sync engine writes no file for a batch none of
    whose rows survived (every row's model column failed: `NoRowsNoDataset`) and goes on with
    the next; a resume then scans the batch files and, the sync engine writing batches in
    order, refuses a set of ids with a hole ("completed batch files on disk are
    non-contiguous", `_recover_progress_from_disk(allow_holes=False)`), right after reading
    metadata.json and before any other check. The dataset cannot be resumed at all. A file
    whose footer cannot be read counts as absent (it is ignored, with a warning)."""

    def open(self, segment: Segment) -> Session:
        path = self.artifact_root / DATASET_NAME
        if (self.scenario.engine == "sync" and segment.resume != "never"
                and (path / storage.METADATA).exists() and not self._starts_fresh(path, segment)):
            ids = sorted(g for g, rows in storage.scan_groups(path).items() if rows is not None)
            if ids and ids != list(range(len(ids))):
                self.fired(SyncHoleRefusesResume)
                raise ModelRunError(
                    "Cannot resume: completed batch files on disk are non-contiguous "
                    f"(found row group IDs {ids}). Use resume=ResumeMode.NEVER to start a new run.")
        return super().open(segment)

    def _starts_fresh(self, path: Path, segment: Segment) -> bool:
        """Whether the release's config check sends this run to a fresh directory first
        (IF_POSSIBLE and another fingerprint: `Modelled.fingerprint_first`)."""
        if segment.resume != "if_possible":
            return False
        stored = stored_config_hash(path / storage.METADATA)
        return stored is not None and stored != self.config_hash and not self.continues_despite_mismatch(segment)


def mixed_sign_int_columns(scenario: Any) -> list[str]:
    """The int seed columns holding a negative int and a non-negative one."""
    found = []
    for k, column in enumerate(scenario.columns):
        values = [seed.values[k] for seed in scenario.seeds if seed.values[k] is not None]
        if column.type == "int" and any(v < 0 for v in values) and any(v >= 0 for v in values):
            found.append(column.name)
    return found


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _files(rows: list[Row], layout: list[tuple[int, int]]) -> list[list[Row]]:
    files, start = [], 0
    for _group, count in layout:
        files.append(rows[start:start + count])
        start += count
    return files


def unreadable_decimal_column(scenario: Any, rows: list[Row], layout: list[tuple[int, int]],
                              schema: str = "unified") -> str | None:
    """Why a dataset whose files hold a column of Decimals (`DecimalPrecisionPerGroup`), each
    as decimal128 of its own most digits, cannot be read with the first file's schema
    ("first"), or None. Each later file is cast to the first file's schema column by column
    (the files' order: the seed columns in the scenario's order), and its first failing
    column is its error: a column the first file holds as pyarrow's null type (an object
    column of nulls only: a string column, or a column of Decimals) that this file does not
    cannot be cast ("Unsupported cast", on which the release reads the files one by one and
    concatenates them, which succeeds); a Decimal of more digits than the first file's most
    does not fit ("Decimal value does not fit in precision p", the read fails), and neither
    does an int64 column at all, whatever its values: a file written after a change left the
    seed file's column of one sign (DuckDB reads it as BIGINT, not HUGEINT) cannot be cast to
    decimal128(p, 0) ("Precision is not great enough for the result. It should be at least
    19"). The other way round (ints first, Decimals later) is read, as ints. Files of both
    errors: a race (`ReadRace`)."""
    if schema != "first":
        return None
    files = _files(rows, layout)
    if len(files) < 2:
        return None
    columns = getattr(scenario, "columns", ())
    objects = {c.name for c in columns if c.type == "string" or any(isinstance(r.get(c.name), Decimal) for r in rows)}
    first, cast, misfit = files[0], False, None
    for held in files[1:]:
        for column in columns:
            mine = [r.get(column.name) for r in first]
            theirs = [r.get(column.name) for r in held]
            if column.name in objects and all(v is None for v in mine) and any(v is not None for v in theirs):
                cast = True
                break
            digits = [len(v.as_tuple().digits) for v in mine if isinstance(v, Decimal)]
            if digits and any(len(v.as_tuple().digits) > max(digits) for v in theirs if isinstance(v, Decimal)):
                misfit = misfit or f"ArrowInvalid: Decimal value does not fit in precision {max(digits)}"
                break
            if digits and any(_is_int(v) for v in theirs):  # int64 (its seed file no longer mixed signs)
                misfit = misfit or "ArrowInvalid: Precision is not great enough for the result. It should be at least 19"
                break
    if misfit is None:
        return None
    return ReadRace(misfit) if cast else misfit


def unreadable_int_column(scenario: Any, rows: list[Row], layout: list[tuple[int, int]],
                          schema: str = "unified") -> str | None:
    """Why a dataset whose files hold an int seed column as int64 in some and as double in
    others (`NullableIntsThroughDoubles`) cannot be read as one, or None. Where the column is
    read as double (`schema` "unified": whenever a file holds it so; "first": pyarrow's
    default, when the first file does) every int64 file is cast to double, a safe cast that
    refuses an int above 2**53; read as int64 (the first file's), integral doubles are taken
    as they are."""
    files = _files(rows, layout)
    for column in getattr(scenario, "columns", ()):
        if column.type != "int" or not files or not files[0]:
            continue
        doubles = [any(r.get(column.name) is None or isinstance(r.get(column.name), float) for r in held)
                   for held in files]
        if not (doubles[0] if schema == "first" else any(doubles)):
            continue  # read as int64
        for held in files:
            values = [r.get(column.name) for r in held]
            if any(v is None or isinstance(v, float) for v in values):
                continue  # a double file too
            big = next((v for v in values if isinstance(v, int) and abs(v) > 2**53), None)
            if big is not None:
                return f"ArrowInvalid: Integer value {big} not in range: -9007199254740992 to 9007199254740992"
    return None


#: the most requests after an outage began that `LostRowsComplete` tries as answered
MAX_GRACE = 6
#: `LostRowsComplete`'s variants from here on give each segment an outage interrupts a grace
#: of its own: digit k (base 10) of the excess is the k-th such segment's
PER_SEGMENT_GRACE = 1000
#: and from here on the number of row groups in flight when each outage began (digit k: the
#: k-th segment an outage interrupts), whose rows had asked before it (`LostRowsComplete.ask_model`)
IN_FLIGHT_GROUPS = 2000


class LostRowsComplete(ReferenceEngine):
    """dd-provider-failure-short-group-counts-complete: a row whose model column the provider
    did not answer after the tries (an outage, a row that always fails) is dropped like a row
    the provider refused, and its group written short, as a complete group: a resume never
    asks for it again, and the dataset stays short though the provider is back. A group none
    of whose rows survived is not written at all (and not checkpointed): a resume makes it.

    On the async engine the requests in flight when the provider goes down may still be
    answered, which is the release's timing: `variant` k stands for the first k row requests
    after the outage answered (`harness.provider`'s grace), each number tried."""

    @staticmethod
    def variants(scenario: Any) -> list[int]:
        if scenario.engine != "async" or not scenario.model_columns or not any(
                provider_down(s.fault) for s in scenario.segments):
            return []
        in_flight = ASYNC_IN_FLIGHT * scenario.buffer_size * len(scenario.model_columns)
        # (each is a run of the model for every permutation tried: a few, not every one)
        most = min(in_flight, max(s.num_records for s in scenario.segments), MAX_GRACE)
        found = list(range(0, most + 1))
        # each outage has requests in flight of its own: a grace per segment, a few of them
        # (0.7.0 answered one request after the first outage and none after the second)
        outages = sum(1 for s in scenario.segments if provider_down(s.fault))
        if outages >= 2:
            each = range(min(most, 2 if outages == 2 else 1) + 1)
            found += [PER_SEGMENT_GRACE + sum(g * 10**k for k, g in enumerate(graces))
                      for graces in itertools.product(each, repeat=outages) if len(set(graces)) > 1]
        # and the groups in flight when each outage began, whose rows had asked already
        each = range(ASYNC_IN_FLIGHT + 1) if outages == 1 else range(3) if outages == 2 else range(2)
        found += [IN_FLIGHT_GROUPS + sum(g * 10**k for k, g in enumerate(groups))
                  for groups in itertools.product(each, repeat=min(outages, 3)) if any(groups)]
        return found

    def _digit(self, base: int) -> int:
        """This segment's digit of a per-segment variant (the k-th segment an outage interrupts)."""
        ordinal = sum(1 for s in self.scenario.segments[:self.segment_index] if provider_down(s.fault))
        return (int(type(self).variant) - base) // 10**ordinal % 10

    def grace(self) -> int:
        """The requests after this segment's outage began that are answered (`variants`)."""
        variant = type(self).variant
        if variant is None:
            return 1  # by default the one request in flight is answered
        if variant >= IN_FLIGHT_GROUPS:
            return 0  # the groups in flight are answered instead (`ask_model`)
        return variant if variant < PER_SEGMENT_GRACE else self._digit(PER_SEGMENT_GRACE)

    def checkpoint(self, session: Session, group: Group, rows: list[Row], notes: dict[str, Any] | None = None) -> None:
        fault = self.injector.fault
        if (provider_down(fault) and fault.at == "checkpoint" and self.scenario.engine == "async"
                and fault.index == self.injector.checkpoints + 1 and not self.injector.fired):
            variant = type(self).variant
            self._in_flight = self._digit(IN_FLIGHT_GROUPS) if variant is not None and variant >= IN_FLIGHT_GROUPS else 0
            if self.grace() > 0:
                from harness.provider import tell

                tell(self.injector.provider_endpoint, "grace", rows=self.grace())
        if notes and notes.get("lost"):
            self.fired(LostRowsComplete)
            if not rows:
                return
            notes = {k: v for k, v in notes.items() if k != "lost"}
        super().checkpoint(session, group, rows, notes)

    def ask_model(self, session: Session, group: Group, rows: list[Row]) -> tuple[list[Row], dict[str, Any]]:
        """Where the variant says how many row groups were in flight when the outage began
        (`IN_FLIGHT_GROUPS`): the next that many groups the model makes had sent their rows'
        requests before it, and are answered, but for the retries of the rows whose first
        request met a transient fault, which come after it and fail."""
        left = self.__dict__.get("_in_flight", 0)
        if left > 0 and self.injector.fired and provider_down(self.injector.fault):
            from harness.provider import tell

            self._in_flight = left - 1
            kept, dropped = self.settled_rows(session, group)
            faults = {f.seed_id: f for f in self.scenario.provider_faults}
            asks = [rows[p].get("seed_id") for p in range(len(rows)) if p not in kept and p not in dropped]
            requests = sum(1 if s in faults else len(self.scenario.model_columns)
                           for s in asks if s not in faults or faults[s].permanent)
            tell(self.injector.provider_endpoint, "grace", rows=requests)
            try:
                return super().ask_model(session, group, rows)
            finally:
                tell(self.injector.provider_endpoint, "grace", rows=0)
        return super().ask_model(session, group, rows)

    def ask_order(self, group: Group, rows: list[Row]) -> list[int]:
        """Once the provider is down on the async engine, a group's rows that met no transient
        fault ask first: the engine had sent every row's first request of the groups in flight
        before the outage began, and what comes after it is the retries of the rows whose
        first request failed or was slow. The variant's grace then goes to the rows answered in
        time, and a row held back by a slow answer is lost wherever it stands in its group
        (0.7.0 to 0.9.7 wrote a group of [beta] where its first row, alpha, had a slow first
        answer: the model, asking alpha first, gave no rows, [alpha] or [alpha, beta])."""
        order = super().ask_order(group, rows)
        fault = self.injector.fault
        if self.scenario.engine != "async" or not provider_down(fault) or not self.injector.fired:
            return order
        transient = {f.seed_id for f in self.scenario.provider_faults if not f.permanent}
        return sorted(order, key=lambda p: rows[p].get("seed_id") in transient)

    def completed_groups(self, session: Session) -> dict[int, int]:
        if not self.scenario.model_columns:
            return super().completed_groups(session)
        planned = {g.id for g in session.plan}
        return {g: n for g, n in storage.scan_groups(session.dataset_dir).items() if n is not None and g in planned}


class RateLimitedRowHangs(ReferenceEngine):
    """dd-rate-limited-row-hangs-the-run-async: 0.6.1 to 0.9's async engine "preserves" a
    row's task whose tries all met HTTP 429 and salvages it again after every cooldown, with
    no limit (`AsyncTaskScheduler._salvage_stalled_row_groups`, rate-limited tasks are never
    dropped): a row the provider always rate-limits keeps its row group from completing and
    `create()` from returning, straight or resumed. The model asks again as the release does,
    without end, until the harness's provider refuses the row past its limit of requests
    (`harness.provider.ask_limit`); the refusal drops the row and the run ends, as the
    release's does then, and the outcome says the run hung. 0.6.0's async engine drops the
    row after its tries; the sync engine drops it at once (`SyncDropsFailedStatus`)."""

    def ask(self, client: Any, prompt: str) -> Any:
        completion = super().ask(client, prompt)
        while completion.text is None and not completion.permanent and self._always_rate_limited(prompt):
            self.fired(RateLimitedRowHangs)
            completion = super().ask(client, prompt)  # preserved: salvaged again after the cooldown
        return completion

    def _always_rate_limited(self, prompt: str) -> bool:
        from harness.model_columns import row_of

        fault = self.injector.fault
        outage = provider_down(fault) and self.injector.fired
        row = row_of(prompt)
        return (self.scenario.engine == "async" and not outage and any(
            f.seed_id == row and f.permanent and f.kind == "http429" for f in self.scenario.provider_faults))


class _GivesUpAt(ReferenceEngine):
    """A model whose release's client does not try a kind of failure again (`failures`,
    `harness.provider.Client.complete`'s `once`) on `engines`: the row is dropped at once,
    in every run, as a refusal is, where the reference tries it again."""

    failures: frozenset[str] = frozenset()
    engines: tuple[str, ...] = ("sync", "async")

    def ask_options(self) -> dict[str, Any]:
        options = super().ask_options()
        mine = frozenset().union(*(model.failures for model in self._giving_up()))
        return {**options, "once": options.get("once", frozenset()) | mine} if mine else options

    def ask(self, client: Any, prompt: str) -> Any:
        completion = super().ask(client, prompt)
        if completion.permanent:
            for model in self._giving_up():
                if completion.failure in model.failures:
                    self.fired(model)
        return completion

    def _giving_up(self) -> list[type[_GivesUpAt]]:
        """The composed models of this kind that apply on the scenario's engine (the methods
        above are shared, so they look the models up rather than chain through them)."""
        return [m for m in type(self).__mro__ if issubclass(m, _GivesUpAt) and "failures" in m.__dict__
                and self.scenario.engine in m.engines]


class UnparsableAnswerDropsRow(_GivesUpAt):
    """dd-unparsable-answer-drops-the-row: an answer that is not a completion (HTTP 200 with a
    body that is not JSON) is not tried again: the row is dropped, as a row the provider
    refused is, in every run, straight or resumed, where a later try would have had its text.
    Which record of a seed row asks first, where several do, is the engine's dispatch order:
    the segment's earliest planned record of the row (`Modelled.ask`)."""

    failures = frozenset({"unparsable"})


class SyncDropsFailedStatus(_GivesUpAt):
    """dd-sync-provider-error-drops-the-row: the sync engine (0.6.0, 0.6.1) does not try a
    request again that the provider answered with HTTP 500 or 429: the row is dropped at once,
    in every run, where the async engine's salvage rounds (and the reference) try it again
    (its HTTP transport retries 502, 503 and 504 only, `RetryConfig.retryable_status_codes`)."""

    failures = frozenset({"status"})
    engines = ("sync",)


class SyncDropsLostConnection(_GivesUpAt):
    """dd-0.6.1-sync-connection-error-drops-the-row: 0.6.1's sync engine does not try a request
    again whose connection was reset or which got no answer in time (0.6.0 does): the row is
    dropped at once, in every run."""

    failures = frozenset({"reset", "timeout"})
    engines = ("sync",)


class AsyncDropsReset(_GivesUpAt):
    """dd-async-reset-connection-drops-the-row: 0.6.1 to 0.8.0's async engine does not try a
    request again whose connection was closed without an answer (httpx's `ReadError` or
    `RemoteProtocolError` is classed as a general API error, not a retryable connection
    error): the row is dropped at once, in every run. A request that got no answer in time
    is tried again; 0.6.0 and 0.9 try a reset one again too."""

    failures = frozenset({"reset"})
    engines = ("async",)


class ModelRunError(Exception):
    """A run a model's release fails at its end."""


#: model name -> the mixin; a ledger entry names its model
MODELS: dict[str, type[ReferenceEngine]] = {
    "ordered_reader_restarts": OrderedReaderRestarts,
    "shuffle_reader_restarts": ShuffleReaderRestarts,
    "manifest_offset": ManifestOffset,
    # (before the model of a resume without metadata.json: on 0.6 its start config is checked first)
    "fresh_home_fingerprint": FreshHomeFingerprint,
    "no_metadata_starts_over": NoMetadataStartsOver,
    # (before the model of Ctrl-C: its run_segment sees the interruption that one re-raises)
    "shared_seed_reader_clash": SharedSeedReaderClash,
    "ctrl_c_goes_on": CtrlCGoesOn,
    "plan_from_two_targets": PlanFromTwoTargets,
    # (before the model it builds on: a subclass comes first in a composition's bases)
    "unified_decimal_meets_int64": UnifiedDecimalMeetsInt64,
    "fingerprint_misses_content": FingerprintMissesContent,
    "same_second_sibling": SameSecondSibling,
    "nullable_ints_through_doubles": NullableIntsThroughDoubles,
    "decimal_precision_per_group": DecimalPrecisionPerGroup,
    "csv_infinities_read_as_dates": CsvInfinitiesReadAsDates,
    "timestamps_beyond_nanoseconds": TimestampsBeyondNanoseconds,
    "null_timestamps_in_milliseconds": NullTimestampsInMilliseconds,
    "null_strings_as_doubles": NullStringsAsDoubles,
    "rate_limited_row_hangs": RateLimitedRowHangs,
    "lost_rows_complete": LostRowsComplete,
    "unparsable_answer_dropped": UnparsableAnswerDropsRow,
    "emptied_group_crashes": EmptiedGroupCrashes,
    "emptied_group_orphans_retry": EmptiedGroupOrphansRetry,
    "sync_hole_refuses_resume": SyncHoleRefusesResume,
    "no_rows_no_dataset": NoRowsNoDataset,
    "sync_drops_failed_status": SyncDropsFailedStatus,
    "sync_drops_lost_connection": SyncDropsLostConnection,
    "async_drops_reset": AsyncDropsReset,
}


#: the mixin -> its name
NAMES = {cls: name for name, cls in MODELS.items()}


def variants(names: list[str] | tuple[str, ...], scenario: Any) -> list[int | None]:
    """The outcomes a composition allows on `scenario` where a release's timing decides
    (`variant`): None, the default, first."""
    found: list[int | None] = [None]
    for name in names:
        found += getattr(MODELS[name], "variants", lambda _s: [])(scenario)
    return list(dict.fromkeys(found))


#: a run whose emptied row group's late model-column task failed during an outage and was
#: orphaned (`EmptiedGroupOrphansRetry`), as the second number of `Modelled.crashes_in`: it hangs
EMPTIED_GROUP_HANG = -4


def emptied_hang_segments(scenario: Any) -> list[int]:
    """The segments whose run may orphan an emptied group's late task (`EmptiedGroupOrphansRetry`):
    on the async engine, with two model columns or more (one column's failure drops the row
    while another's task is out), in a segment the provider's outage interrupts (its 503 is
    an error the engine tries again; a row's own faults are all one kind, so a row dropped by
    one of them never has another column's request tried again)."""
    if scenario.engine != "async" or len(scenario.model_columns) < 2:
        return []
    return [i for i, s in enumerate(scenario.segments) if s.fault is not None and s.fault.action == "outage"]


def crash_segments(names: list[str] | tuple[str, ...], scenario: Any,
                   error: str | None, hung: tuple[int, ...] = ()) -> list[tuple[int, int] | None]:
    """The runs a composition allows on `scenario` where the release's threads' timing may
    crash one (`Modelled.crashes_in`): None (no crash), first; then, offered only where the
    target's run did end so (the crash is the run's only trace of that timing): a crash in
    each segment, with each number of other row groups in flight that had asked for their
    rows (`EmptiedGroupCrashes`, `error` its error's text); a resume's race with a Ctrl-C
    ghost's files in each segment that may meet one (`CtrlCGoesOn`); a clash on the seed
    reader in each segment that may meet one (`SharedSeedReaderClash`), a hang where the
    target's run hung in that segment (`hung`), an error where it failed with the clash's error;
    a hang where the target's run hung in a segment that may orphan an emptied group's retry
    (`EmptiedGroupOrphansRetry`)."""
    found: list[tuple[int, int] | None] = [None]
    if "emptied_group_crashes" in names and error and INTERNAL_TASK_FAILURE in error:
        found += [(s, k) for s in range(len(scenario.segments)) for k in range(ASYNC_IN_FLIGHT)]
    if "emptied_group_orphans_retry" in names:
        found += [(s, EMPTIED_GROUP_HANG) for s in hung if s in emptied_hang_segments(scenario)]
    if "ctrl_c_goes_on" in names and error and ghost_race_error(error):
        found += [(s, GHOST_RACE) for s in ghost_race_segments(scenario)]
    if "shared_seed_reader_clash" in names:
        clashing = clash_segments(scenario)
        found += [(s, SEED_READER_HANG) for s in hung if s in clashing]
        if error and any(e in error for e in SEED_READER_ERRORS):
            found += [(s, SEED_READER_ERROR) for s in clashing]
    return found


#: per engine, the models whose release gives a row up at its first failed request: where one
#: applies, which record asks first decides which row is dropped
_GIVE_UP = {"sync": ("unparsable_answer_dropped", "sync_drops_failed_status", "sync_drops_lost_connection"),
            "async": ("unparsable_answer_dropped", "async_drops_reset")}


#: how far back a request may still reach the provider first: the sync engine's pool has 4
#: threads, so overtaking needs an earlier request's thread stalled while others complete,
#: and the async engine has at most 3 row groups in flight (the adapter's
#: `max_concurrent_row_groups`); seen for the second asker on 0.6.0 sync and 0.9.7 async,
#: allowed up to the third
FIRST_ASKER_REACH = 3


def first_asker_options(names: list[str] | tuple[str, ...], scenario: Any) -> list[tuple[int, ...] | None]:
    """The records a composition allows to meet a transient provider fault's first request,
    where the release's threads decide (`Modelled.first_asker`): None (the earliest for every
    column), first; then, for each model column, the k-th of a seed row's records still asking
    (sync: in a batch, whose pool races; async: in the segment's plan, whose row groups in
    flight race), k below as many as a batch (sync) or a segment (async) holds of one seed row
    and below `FIRST_ASKER_REACH`. Only where a composed model gives the row up at that
    failure (otherwise the failure costs a retry whichever record met it)."""
    if (not scenario.model_columns or not any(n in names for n in _GIVE_UP.get(scenario.engine, ()))
            or not any(not f.permanent for f in scenario.provider_faults)):
        return [None]
    length = max(1, len(scenario.selected_seeds()))
    span = scenario.buffer_size if scenario.engine == "sync" else max(s.num_records for s in scenario.segments)
    most = min(-(-span // length) + (scenario.sampling != "ordered"), span, FIRST_ASKER_REACH)
    if most < 2:
        return [None]
    return [None, *(k for k in itertools.product(range(most), repeat=len(scenario.model_columns)) if any(k))]


def shared_options(names: list[str] | tuple[str, ...], scenario: Any) -> list[dict[int, int] | None]:
    """The directory sharings a composition allows on `scenario` where the wall clock decides
    (`SameSecondSibling`): None (each fresh run its own), then each later segment that may
    start fresh beside the dataset in the directory of the one before it that may too."""
    if "same_second_sibling" not in names:
        return [None]
    from harness.changes import fresh_starts

    fresh = fresh_starts(scenario)
    return [None, *({k: j} for j, k in zip(fresh, fresh[1:]))]


def composed(names: list[str] | tuple[str, ...], convert: Convert | None = None,
             variant: int | None = None, order: dict[int, tuple[int, ...]] | None = None,
             run_reads_dataset: bool = True, dataset_schema: str = "unified",
             in_call: dict[int, int] | None = None, read_races_won: int | None = None,
             crashes_in: tuple[int, int] | None = None,
             shared: dict[int, int] | None = None,
             first_asker: tuple[int, ...] | None = None) -> type[ReferenceEngine]:
    """The reference with the named models, in `MODELS`' order (the first decides first)."""
    names = [n for n in MODELS if n in names]
    bases = tuple(MODELS[n] for n in names)
    return type("Model_" + "_".join(names) if names else "Model", (*bases, Modelled),
                {"convert": staticmethod(convert) if convert is not None else None, "variant": variant,
                 "observed_order": dict(order or {}), "observed_in_call": dict(in_call or {}),
                 "run_reads_dataset": run_reads_dataset, "dataset_schema": dataset_schema,
                 "read_races_won": read_races_won, "crashes_in": crashes_in,
                 "observed_shared": dict(shared or {}), "first_asker": first_asker})


def fired_models(*outcomes: Any) -> set[str]:
    """The models that changed what the reference would have done in these runs (`fired`)."""
    return {e["model"] for outcome in outcomes for e in outcome.events if e.get("event") == "model"}


#: release -> its models and its reader's facts (`harness.targets.data_designer_release.FACTS`),
#: for the releases other than the target's that a chain's segments run on (`release_of`)
Releases = dict[str, tuple[tuple[str, ...], tuple[tuple[str, Any], ...]]]


def model_target(names: list[str] | tuple[str, ...], reader: Any = None, variant: int | None = None,
                 order: dict[int, tuple[int, ...]] | None = None, in_call: dict[int, int] | None = None,
                 read_races_won: int | None = None, crashes_in: tuple[int, int] | None = None,
                 shared: dict[int, int] | None = None, first_asker: tuple[int, ...] | None = None,
                 releases: Releases | None = None) -> Any:
    """The composition of `names` as a target, reading typed seed values as `reader` (a
    `Target`) declares its reader holds them (default: as written), its async row groups
    completing in `order` (segment -> groups) where given, the first `in_call[segment]` of
    them before the segment's call ended, the first `read_races_won` of its racy reads
    passing, crashing in segment `crashes_in`, each segment's fresh run in the directory of
    the earlier segment `shared` names where the target's did so, the `first_asker`-th record
    of a sync batch meeting a transient fault's first request; `releases`: the other releases
    a chain's segments may run on (an upgrade or a rollback), each with its models and its
    reader's facts: a segment on one of them (`release_of`) runs that release's composition;
    the rest, and the final read, are `reader`'s."""
    from harness.targets.reference import ReferenceTarget

    class ModelTarget(ReferenceTarget):
        provider_direct = True  # a model's runs judge failures: no HTTP where none is needed
        # the models it composes, its other releases' too (more may take part: those they build on)
        model_names = tuple(dict.fromkeys([*names, *(n for its, _facts in (releases or {}).values() for n in its)]))

        def __reduce__(self) -> tuple[Any, ...]:  # rebuilt from its names where it runs
            return model_target, (tuple(names), reader, variant, order, in_call, read_races_won, crashes_in, shared,
                                  first_asker, releases)

        def engine_for(self, scenario: Any, index: int) -> type[ReferenceEngine]:
            from harness.changes import release_of

            release = release_of(scenario, index)
            if release is None or release not in (releases or {}):
                return engine
            if release not in by_release:
                its_names, facts = releases[release]  # type: ignore[index]
                its = dict(facts)
                by_release[release] = composed(its_names, convert, variant, order, bool(its["run_reads_dataset"]),
                                               str(its["dataset_schema"]), in_call, read_races_won, crashes_in,
                                               shared, first_asker)
                by_release[release].checks_start_config = bool(its["checks_start_config"])
                by_release[release].fresh_permutations = engine.fresh_permutations
            return by_release[release]

        def seed_value_as_read(self, scenario: Any, seed: Any, column: Any, value: Any) -> Any:
            return value if reader is None else reader.seed_value_as_read(scenario, seed, column, value)

        def load(self, scenario: Any, workdir: Any) -> Any:
            # the dataset as the release reads it back (`why_unreadable`): an integral double is the
            # int it stands for, an int64 file's ints stay exact; the release that ran the last
            # segment reads it (a chain over two releases: `releases`), as the adapter does
            reads = self.engine_for(scenario, len(scenario.segments) - 1)
            rows, layout = super().load(scenario, workdir)
            journal = Journal(workdir / "journal.jsonl")
            dirs = [e["path"] for e in journal.events() if e["event"] == "dataset"]
            dataset_dir = Path(dirs[-1]) if dirs else workdir / "artifacts" / DATASET_NAME
            problem = reads.why_unreadable(scenario, rows, layout) if issubclass(reads, ReadsDatasetBack) else None
            if problem is None:
                # files a pandas 2 or 3 release wrote, read by the release that reads them (its
                # rows as it reads them: a string column cast to a first file's double)
                problem, model = file_types_read(scenario, dataset_dir, reads.dataset_schema, rows, layout)
                if model is not None:
                    journal.append({"event": "model", "segment": len(scenario.segments) - 1, "model": NAMES[model]})
            if problem is not None and not (isinstance(problem, ReadRace) and race_won(reads.read_races_won, journal)):
                raise ModelRunError(problem)
            # 0.9 reads a column some file holds as double as double in every file, Decimals too
            doubled = set()
            if (issubclass(reads, UnifiedDecimalMeetsInt64) and reads.dataset_schema == "unified"
                    and scenario.source == "jsonl"):
                notes = storage.group_notes(dataset_dir) if dirs else {}
                doubled = {name for noted in notes.values()
                           for name, kind in noted.get("int_file_types", {}).items() if kind == "double"}
                if schemas_fall_back(rows, notes):  # each file on its own: a Decimal stays one
                    doubled = set()
            for column in scenario.columns:
                if column.name in doubled:
                    for r in rows:
                        if isinstance(r.get(column.name), Decimal):
                            r[column.name] = float(r[column.name])
                # an integral double read back as the release's rows hold it ("1e100" in a CSV
                # string column, beyond int64, is written as that double: `storage._array`)
                for r in rows:
                    if column.name in r:
                        r[column.name] = integral_as_int(column.type, r[column.name])
            return rows, layout

    convert = None if reader is None else reader.seed_value_as_read
    reads_back = bool(getattr(reader, "run_reads_dataset", True))
    schema = str(getattr(reader, "dataset_schema", "unified"))
    engine = composed(names, convert, variant, order, reads_back, schema, in_call, read_races_won, crashes_in, shared,
                      first_asker)
    engine.checks_start_config = bool(getattr(reader, "checks_start_config", False))
    engine.fresh_permutations = reader is not None and not reader.capabilities.repeatable_shuffle
    by_release: dict[str, type[ReferenceEngine]] = {}
    target = ModelTarget(engine, name="model:" + "+".join(names))
    if reader is not None:
        target.capabilities = reader.capabilities
    if releases:  # it runs segments on those, as their models
        caps = target.capabilities
        target.capabilities = dataclasses.replace(
            caps, change_kinds=tuple(dict.fromkeys((*caps.change_kinds, "release"))),
            releases=tuple(dict.fromkeys((*caps.releases, *releases))))
    return target


__all__ = ["CHUNK_KEY", "CHUNK_POS", "MODELS", "READ_RACE_EVENT", "composed", "crash_segments", "first_asker_options",
           "model_target", "shared_options", "variants"]
