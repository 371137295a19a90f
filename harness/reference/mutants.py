"""Bug-seeded mutants of the reference engine: how the harness proves it has teeth.

Each mutant is a real class of resume bug, seeded by overriding the one decision of
`ReferenceEngine` that the bug gets wrong (two methods where the bug needs both halves).
Every mutant passes an uninterrupted run, so only the resume properties can catch it, and
each is registered as the target `mutant:<name>`.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from harness.faults import Interrupted
from harness.reference import sources, storage
from harness.reference.engine import Group, ReferenceEngine, Session, config_hash, plan_groups
from harness.reference.model import RecordIndex, Row
from harness.scenario import Segment


class SeedRestart(ReferenceEngine):
    """Issue #709's class: a resumed process creates a fresh seed reader that starts at the
    beginning of the selection and reads on sequentially, while batch bookkeeping skips the
    completed groups correctly. Resumed groups replay already-consumed seed rows."""

    def seed_position(self, session: Session, group: Group) -> int:
        if not session.resumed:
            return group.offset
        return self.sequential(session, group)  # in group order, whichever completes first


class WrapOffset(ReferenceEngine):
    """Wrap-around off by one: on resume the reader seeks to the record offset plus one
    for every completed pass over the selection (the pass boundary counted as a record).
    Right until an interruption falls after the first wrap-around."""

    def seed_position(self, session: Session, group: Group) -> int:
        if session.resumed:
            return group.offset + group.offset // self.records.length
        return group.offset


class KeepPartial(ReferenceEngine):
    """Partial results kept: an interruption inside a row group flushes the rows generated
    so far as that group's checkpoint ("don't lose work"), and resume accepts any readable
    data file as a complete group. The interrupted group comes back short."""

    def generate_group(self, session: Session, group: Group) -> list[Row]:
        start = self.seed_position(session, group)
        rows: list[Row] = []
        try:
            for r in range(group.size):
                self.injector.at_row(group.id, r)
                rows.append(self.records.row(start + r))
        except Interrupted:
            if rows:
                storage.write_group(session.dataset_dir, group.id, rows)
                session.completed[group.id] = len(rows)
                self.write_metadata(session)
            raise
        session.records_generated += len(rows)
        return rows

    def completed_groups(self, session: Session) -> dict[int, int]:
        return {g: n for g, n in storage.scan_groups(session.dataset_dir).items() if n is not None}


class ProgressFromMetadata(ReferenceEngine):
    """Progress read from metadata instead of the files: resume trusts the metadata's
    completed-group *count* and assumes groups 0..count-1 are done. Out-of-order async
    checkpoints make that a different set, so a hole is never regenerated."""

    def completed_groups(self, session: Session) -> dict[int, int]:
        count = int((session.metadata or {}).get("num_completed_groups", 0))
        return {g.id: g.size for g in session.plan[:count]}


class MetadataBeforeData(ReferenceEngine):
    """Metadata recorded before the checkpoint's data file is in place, and resume takes
    the completed groups from metadata. A crash between the two writes leaves a group that
    metadata calls complete and no file holds."""

    def checkpoint(self, session: Session, group: Group, rows: list[Row], notes: dict[str, Any] | None = None) -> None:
        session.completed[group.id] = len(rows)
        self.write_metadata(session)
        self.injector.before_write()
        path = storage.write_group(session.dataset_dir, group.id, rows, notes)
        self.journal.append(
            {"event": "checkpoint", "segment": self.segment_index, "ordinal": self.injector.checkpoints + 1,
             "group": group.id, "rows": len(rows), "seed_ids": [row["seed_id"] for row in rows]}
        )
        self.injector.after_checkpoint(path)

    def completed_groups(self, session: Session) -> dict[int, int]:
        sizes = {g.id: g.size for g in session.plan}
        return {g: sizes[g] for g in (session.metadata or {}).get("completed_groups", []) if g in sizes}


class HoleOffset(ReferenceEngine):
    """Out-of-order holes regenerated at the wrong offset: a resumed reader continues from
    the number of rows on disk, which is the right offset only when the completed groups
    are a prefix. A hole left by out-of-order completion gets a later group's rows."""

    def seed_position(self, session: Session, group: Group) -> int:
        if session.resumed:
            return session.rows_at_open + session.records_generated
        return group.offset


class ShuffleRestart(ReferenceEngine):
    """The shuffle permutation restarted on resume: the resumed reader draws a new
    permutation at the resume point instead of finishing the pass it was in, so the pass
    that straddles the interruption repeats some rows and never shows others."""

    def pass_key(self, session: Session, record: int) -> int | None:
        if session.resumed:
            return 1_000_000 * (session.segment_index + 1) + record // self.records.length
        return None


class PassReseed(ReferenceEngine):
    """A resume draws the permutations of the passes it starts with another seed: the pass it
    was in is finished correctly, but every later pass is a different, equally valid
    permutation, so each pass is still exactly-once and only an exact comparison with the
    straight run shows it."""

    def pass_key(self, session: Session, record: int) -> int | None:
        length = self.records.length
        first_of_pass = record // length * length
        if session.resumed and first_of_pass >= session.rows_at_open:
            return 2_000_000 * (session.segment_index + 1) + record // length
        return None


class CsvReinfer(ReferenceEngine):
    """The resume path re-reads a CSV seed source with type inference and NA markers (as
    `pandas.read_csv` does by default), where the fresh path reads it with the declared
    types: after a resume "NA" and "" come back null, "001" as 1, "true" as True, a NaN as
    null."""

    def open(self, segment: Segment) -> Session:
        session = super().open(segment)
        if session.resumed and self.scenario.source == "csv":
            directory = self.artifact_root / "seed-source" / config_hash(self.scenario)
            self.records = RecordIndex(self.scenario, sources.read_stream(self.scenario, directory, infer=True))
        return session


class SecondResume(ReferenceEngine):
    """A second resume loses the first resume's position: metadata stores the records
    read *in this process* as the reader position, and resume seeks to it. Correct after
    one interruption; after a resumed run is interrupted again it seeks back."""

    def metadata(self, session: Session) -> dict:
        meta = super().metadata(session)
        meta["reader_position"] = session.records_generated
        return meta

    def seed_position(self, session: Session, group: Group) -> int:
        if session.resumed:
            return int((session.metadata or {}).get("reader_position", 0)) + session.records_generated
        return group.offset


class ExtensionOffset(ReferenceEngine):
    """Extension offsets computed as `group_id * buffer_size`: right until the original
    target was not a multiple of the buffer size, whose partial last group keeps its size
    on extension, so every appended group reads from the wrong place."""

    def plan(self, history: list[int], buffer_size: int) -> list[Group]:
        return [Group(g.id, g.id * buffer_size, g.size) for g in plan_groups(history, buffer_size)]


class TrustListing(ReferenceEngine):
    """Torn checkpoint accepted: resume counts a group as complete because its data file is
    listed, without reading its footer. A file torn by a power cut stays in the dataset."""

    def completed_groups(self, session: Session) -> dict[int, int]:
        sizes = {g.id: g.size for g in session.plan}
        return {g: sizes[g] for g in storage.listed_groups(session.dataset_dir) if g in sizes}


class GhostWriter(ReferenceEngine):
    """Work goes on after the interruption: an interrupted segment hands the groups it had
    not finished to a background thread ("finish what was started") and returns at once.
    The rows are right; the dataset is written after the call that was interrupted ended."""

    def run_segment(self, segment: Segment) -> None:
        try:
            super().run_segment(segment)
        except (Interrupted, KeyboardInterrupt):
            session = self.session
            todo = [g for g in session.plan if g.id not in session.completed]
            thread = threading.Thread(target=self._finish, args=(session, todo), name="ghost-writer")
            thread.start()
            raise

    def open(self, segment: Segment) -> Session:
        self.session = super().open(segment)
        return self.session

    def _finish(self, session: Session, todo: list[Group]) -> None:
        time.sleep(0.02)  # once the interrupted call has returned
        for group in todo:
            rows = [self.records.row(group.offset + r, None) for r in range(group.size)]
            path = storage.write_group(session.dataset_dir, group.id, rows)
            session.completed[group.id] = len(rows)
            self.journal.append({"event": "checkpoint", "segment": self.segment_index, "ordinal": 0,
                                 "group": group.id, "rows": len(rows), "seed_ids": [r["seed_id"] for r in rows]})
            del path
        storage.write_json_atomic(session.dataset_dir / storage.METADATA, self.metadata(session))


class StartOver(ReferenceEngine):
    """A resume that starts over: it clears the checkpoints on disk and generates every
    group again ("the safe choice"). The rows are right; completed work is thrown away."""

    def completed_groups(self, session: Session) -> dict[int, int]:
        storage.clear_dir(session.dataset_dir / storage.PARQUET_DIR)
        return {}


#: reader positions kept per dataset by `ProcessCache`, as a process-wide cache would
_READER_CACHE: dict[str, int] = {}


class ProcessCache(ReferenceEngine):
    """State kept in the process: the seed reader's position (read ahead by one group, as a
    prefetching reader is) is cached per dataset, and a resume in the same process seeks to
    the cached position plus what it generates. A fresh process has no cache and is right;
    a notebook that runs the cell again skips records. The cache is kept only in a process
    of the segment's own (the harness runs in-process segments one after another in its own
    process, standing for fresh processes). The cache is read once, when a segment begins:
    what the segment itself caches counts only for a later segment in the same process."""

    def seed_position(self, session: Session, group: Group) -> int:
        if not hasattr(self, "_cached"):  # what the process held when this segment began
            self._cached = _READER_CACHE.get(str(session.dataset_dir)) if self.injector.in_child else None
        if session.resumed and self._cached is not None:
            return self._cached + session.records_generated
        return group.offset

    def generate_group(self, session: Session, group: Group) -> list[Row]:
        rows = super().generate_group(session, group)
        if self.injector.in_child:
            _READER_CACHE[str(session.dataset_dir)] = group.offset + group.size + self.scenario.buffer_size
        return rows


class FingerprintBlind(ReferenceEngine):
    """A resume fingerprint that misses part of the inputs: it covers where the seed table is
    read from and how, not what it holds (as DataDesigner's covers the seed file's path).
    A resume after the seed file was edited goes on, and its rows come from the new table
    while the rows on disk came from the old one."""

    def fingerprinted(self) -> tuple[str, ...]:
        return tuple(f for f in super().fingerprinted() if f != "seeds")


class StaleOffsets(ReferenceEngine):
    """A resume that re-reads changed inputs at the old offsets: with IF_POSSIBLE, a
    fingerprint mismatch is taken as "resume what can be resumed" instead of "start fresh
    elsewhere", so the groups still to do are generated from the new inputs at the offsets
    the old run had reached."""

    def continues_despite_mismatch(self, segment: Segment) -> bool:
        return segment.resume == "if_possible"


class BufferMiscount(ReferenceEngine):
    """A resume that accepts a changed buffer_size and miscounts: it counts every group file
    on disk as complete, whatever its size, and starts each remaining group at its id times
    the new buffer size, as if every group before it had been generated at that size."""

    def accepts_buffer_change(self) -> bool:
        return True

    def resumed_buffer_size(self, stored: int) -> int:
        return self.scenario.buffer_size

    def completed_groups(self, session: Session) -> dict[int, int]:
        stored = int((session.metadata or {}).get("buffer_size", session.buffer_size))
        if stored == session.buffer_size:
            return super().completed_groups(session)
        return {g: rows for g, rows in storage.scan_groups(session.dataset_dir).items() if rows is not None}

    def seed_position(self, session: Session, group: Group) -> int:
        stored = int((session.metadata or {}).get("buffer_size", session.buffer_size))
        if session.resumed and stored != session.buffer_size:
            return group.id * session.buffer_size
        return group.offset


class DropOnResume(ReferenceEngine):
    """A resumed segment builds its model client without retries ("the provider was down,
    don't hammer it"): a row whose first request fails is dropped, as if the provider had
    refused it for good. A transient fault then drops rows in a resumed run that an
    uninterrupted run keeps: the resume drops the wrong rows."""

    def ask_model(self, session: Session, group: Group, rows: list[Row]) -> tuple[list[Row], dict[str, Any]]:
        if not session.resumed:
            return super().ask_model(session, group, rows)
        client = _OneTry(self.injector.provider_endpoint)
        out, dropped = [], []
        for position, row in enumerate(rows):
            for column in self.scenario.model_columns:
                text = client.complete(column.prompt(row))
                if text is None:
                    dropped.append(position)
                    break
                row[column.name] = text
            else:
                out.append(row)
        return out, ({"dropped": dropped} if dropped else {})


class _OneTry:
    def __init__(self, endpoint: str | None) -> None:
        from harness.reference.engine import model_client

        self.client = model_client(endpoint)

    def complete(self, prompt: str) -> str | None:
        status, text = self.client._post(self.client.body(prompt))
        return text if status == 200 else None


class RerequestCompleted(ReferenceEngine):
    """A resume of a group with rows the provider did not answer asks the model again for
    every row of the group, those on disk included (it regenerates the group, then keeps
    the rows it had: they come out right), instead of asking only for the missing rows.
    Completed work is paid again."""

    def ask_model(self, session: Session, group: Group, rows: list[Row]) -> tuple[list[Row], dict[str, Any]]:
        if group.id in session.partial:
            from harness.reference.engine import model_client

            client = model_client(self.injector.provider_endpoint)
            for row in storage.read_group(session.dataset_dir, group.id):  # answers it throws away
                for column in self.scenario.model_columns:
                    client.complete(column.prompt(row))
        return super().ask_model(session, group, rows)


class ShortGroupComplete(ReferenceEngine):
    """A row group written with rows the provider did not answer counts as complete on
    resume (its file is there): after an outage the lost rows are never asked for again and
    the dataset stays short, though the run reported success."""

    def completed_groups(self, session: Session) -> dict[int, int]:
        return {g: n for g, n in storage.scan_groups(session.dataset_dir).items()
                if n is not None and g in {p.id for p in session.plan}}


MUTANTS: dict[str, type[ReferenceEngine]] = {
    "seed_restart": SeedRestart,
    "wrap_offset": WrapOffset,
    "keep_partial": KeepPartial,
    "progress_from_metadata": ProgressFromMetadata,
    "metadata_before_data": MetadataBeforeData,
    "hole_offset": HoleOffset,
    "shuffle_restart": ShuffleRestart,
    "pass_reseed": PassReseed,
    "csv_reinfer": CsvReinfer,
    "second_resume": SecondResume,
    "extension_offset": ExtensionOffset,
    "trust_listing": TrustListing,
    "ghost_writer": GhostWriter,
    "start_over": StartOver,
    "process_cache": ProcessCache,
    "fingerprint_blind": FingerprintBlind,
    "stale_offsets": StaleOffsets,
    "buffer_miscount": BufferMiscount,
    "drop_on_resume": DropOnResume,
    "rerequest_completed": RerequestCompleted,
    "short_group_complete": ShortGroupComplete,
}


def mutant_summary(name: str) -> str:
    doc = " ".join((MUTANTS[name].__doc__ or "").split())
    return doc.split(". ")[0].rstrip(".") + "."


__all__ = ["MUTANTS", "mutant_summary"]
