"""`Scenario`: everything one trial depends on, as a frozen value.

A scenario is data. It round-trips through JSON byte for byte (`to_json` / `from_json`),
Hypothesis shrinks it, the corpus stores it, `replay` runs it, and the reproducer
generator renders it. It says nothing about which target runs it.

A run is a chain of `Segment`s: segment 0 starts fresh, each later one resumes the same
dataset (`always` or `if_possible`) with a `num_records` at least as large as before
(extension). Each segment but the last may carry one `Fault`. The *straight run* of a
scenario is one fault-free fresh segment of the final `num_records`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from typing import Any

from harness.changes import Change, change_from_dict, final_inputs, release_of
from harness.errors import ScenarioError
from harness.fault_kinds import FAULT_ACTIONS, KINDS
from harness.model_columns import PROVIDER_FAULT_KINDS, ModelColumn, ProviderFault
from harness.seed_values import COLUMN_TYPES, RESERVED, SeedColumn, can_hold, check_value
from harness.seed_values import from_json as value_from_json
from harness.seed_values import to_json as value_to_json

SOURCES = ("dataframe", "parquet", "csv", "jsonl", "directory")
SAMPLINGS = ("ordered", "shuffle")
ENGINES = ("sync", "async")
RESUME_MODES = ("never", "always", "if_possible")
FAULT_POINTS = ("checkpoint", "row", "write")
#: where a resumed segment runs: a new process (a restarted job), or the process that ran the
#: segment before it (a notebook cell run again after an interrupt)
PROCESSES = ("fresh", "same")
#: Row groups the async engine keeps in flight (DataDesigner's max_concurrent_row_groups).
ASYNC_IN_FLIGHT = 3


@dataclass(frozen=True)
class SeedRow:
    """One row of the seed table. `lines` is the file content of a `directory` source:
    its reader hydrates the row into one record per line (zero lines, zero records)."""

    seed_id: int
    name: str
    lines: tuple[str, ...] = ()
    #: one value per extra seed column (`Scenario.columns`), in that order
    values: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        # one NaN object for every NaN, so that equal rows are equal (NaN != NaN, but a tuple
        # holding the same object twice compares equal); all NaNs are one value here
        if any(isinstance(v, float) and v != v for v in self.values):
            object.__setattr__(self, "values", tuple(math.nan if isinstance(v, float) and v != v else v
                                                     for v in self.values))


@dataclass(frozen=True)
class IndexRange:
    """Rows `start..end` of the seed table, inclusive at both ends."""

    start: int
    end: int

    def bounds(self, num_rows: int) -> tuple[int, int]:
        return self.start, self.end


@dataclass(frozen=True)
class PartitionBlock:
    """Partition `index` of `num_partitions`; the last partition absorbs the remainder."""

    index: int
    num_partitions: int

    def bounds(self, num_rows: int) -> tuple[int, int]:
        size = num_rows // self.num_partitions
        start = self.index * size
        if self.index == self.num_partitions - 1:
            return start, num_rows - 1
        return start, start + size - 1


Selection = IndexRange | PartitionBlock | None


@dataclass(frozen=True)
class Fault:
    """One injected fault, addressed by index within its segment, never by time.

    - `at="checkpoint"`, `index=k`: after the k-th checkpoint (1-based) of the segment;
      `action` is a kind of `harness.fault_kinds.KINDS`: `raise` (in process), `kill`
      (SIGKILL of the child running the segment), `tear` (truncate that checkpoint's data
      file, as a power cut would, then raise), `sigint` or `sigterm` (the signal, sent by
      the segment's process to itself).
    - `at="row"`, `index=g`, `row=r`: while generating row r of row group g.
    - `at="write"`, `index=w`: just before the w-th durable write (data file or metadata).
    A fault whose point is never reached does not fire; the segment then completes.
    """

    action: str
    at: str
    index: int
    row: int = 0

    def describe(self) -> str:
        if self.at == "checkpoint":
            return f"{KINDS[self.action].verb} after checkpoint {self.index}"
        if self.at == "row":
            return f"{self.action} at row {self.row} of group {self.index}"
        return f"{self.action} before durable write {self.index}"


@dataclass(frozen=True)
class Segment:
    """One run of the pipeline against the same dataset directory. A resumed segment runs
    in a `fresh` process or in the `same` process as the segment before it (whatever that
    one left behind, threads and event loops included, is still there)."""

    num_records: int
    resume: str = "never"
    fault: Fault | None = None
    process: str = "fresh"
    #: what the user changed before this (resumed) segment ran; see `harness.changes`
    changes: tuple[Change, ...] = ()


@dataclass(frozen=True)
class Scenario:
    seeds: tuple[SeedRow, ...]
    segments: tuple[Segment, ...]
    source: str = "dataframe"
    selection: Selection = None
    sampling: str = "ordered"
    shuffle_seed: int = 0
    buffer_size: int = 1
    engine: str = "sync"
    #: async only: at each completion, which in-flight group (index into the in-flight
    #: list, modulo its length) completes next; past the end of the tuple, the oldest.
    completion_order: tuple[int, ...] = field(default=())
    #: config: what the `echo` column appends to the column it copies ("" copies it as is)
    echo_suffix: str = ""
    #: config: a constant expression column `tag` ("" when there is none)
    extra_column: str = ""
    #: typed seed columns next to seed_id and name (`harness.seed_values`)
    columns: tuple[SeedColumn, ...] = ()
    #: config: LLM text columns, answered by the local provider (`harness.model_columns`)
    model_columns: tuple[ModelColumn, ...] = ()
    #: the provider's faults, by seed row, in every run of the scenario (straight and resumed)
    provider_faults: tuple[ProviderFault, ...] = ()
    #: the environment: the chain's first run is the first a fresh installation makes (the
    #: target's per-user state, such as DataDesigner's model defaults in DATA_DESIGNER_HOME,
    #: not written yet; the first run writes it). A resume-correct target gives the same rows.
    fresh_home: bool = False

    def __post_init__(self) -> None:
        _validate(self)

    # ----- derived values -------------------------------------------------------------
    @property
    def num_records(self) -> int:
        """The final number of records: what the straight run generates."""
        return self.segments[-1].num_records

    @property
    def interruptions(self) -> int:
        return sum(1 for s in self.segments if s.fault is not None)

    def selected_seeds(self) -> tuple[SeedRow, ...]:
        """The selection `S`, in source order."""
        if self.selection is None:
            return self.seeds
        start, end = self.selection.bounds(len(self.seeds))
        return self.seeds[start : end + 1]

    def straight(self) -> Scenario:
        """One uninterrupted fresh run of the final num_records, on the inputs in force at
        the end of the chain (`harness.changes.final_inputs`)."""
        release = release_of(self, len(self.segments) - 1)
        on = (Change("release", text=release),) if release is not None else ()
        return replace(final_inputs(self), segments=(Segment(num_records=self.num_records, changes=on),))

    def describe(self) -> str:
        sel = "all rows" if self.selection is None else _selection_text(self.selection)
        chain = " -> ".join(
            f"{s.resume}:{s.num_records}" + (" (same process)" if s.process == "same" else "")
            + (f" [{s.fault.describe()}]" if s.fault else "")
            + (f" {{changed: {'; '.join(c.describe() for c in s.changes)}}}" if s.changes else "")
            for s in self.segments
        )
        typed = f", columns {', '.join(f'{c.name}:{c.type}' for c in self.columns)}" if self.columns else ""
        models = f", model columns {', '.join(c.name for c in self.model_columns)}" if self.model_columns else ""
        faults = f", provider faults: {'; '.join(f.describe() for f in self.provider_faults)}" \
            if self.provider_faults else ""
        home = ", first run on a fresh installation" if self.fresh_home else ""
        return (
            f"{len(self.seeds)} seed rows ({self.source}, {sel}, {self.sampling}{typed}), "
            f"buffer_size={self.buffer_size}, engine={self.engine}{models}{faults}{home}, segments: {chain}"
        )

    # ----- JSON ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "seeds": [_seed_to_dict(s, self.columns) for s in self.seeds],
            "source": self.source,
            "selection": _selection_to_dict(self.selection),
            "sampling": self.sampling,
            "shuffle_seed": self.shuffle_seed,
            "buffer_size": self.buffer_size,
            "engine": self.engine,
            "completion_order": list(self.completion_order),
            "segments": [_segment_to_dict(s) for s in self.segments],
            # absent when default: scenarios from before these fields read the same
            **({"echo_suffix": self.echo_suffix} if self.echo_suffix else {}),
            **({"extra_column": self.extra_column} if self.extra_column else {}),
            **({"columns": [{"name": c.name, "type": c.type} for c in self.columns]} if self.columns else {}),
            **({"model_columns": [c.to_dict() for c in self.model_columns]} if self.model_columns else {}),
            **({"provider_faults": [f.to_dict() for f in self.provider_faults]} if self.provider_faults else {}),
            **({"fresh_home": True} if self.fresh_home else {}),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, data: Any) -> Scenario:
        obj = _expect_keys(data, "scenario", required={"seeds", "segments"}, optional=_OPTIONAL)
        columns = _columns_from_dict(obj.get("columns", []))
        kwargs: dict[str, Any] = {
            "columns": columns,
            "seeds": tuple(
                _seed_from_dict(s, f"seeds[{i}]", columns) for i, s in enumerate(_list(obj["seeds"], "seeds"))
            ),
            "segments": tuple(
                _segment_from_dict(s, f"segments[{i}]")
                for i, s in enumerate(_list(obj["segments"], "segments"))
            ),
        }
        for key in ("source", "sampling", "engine", "echo_suffix", "extra_column"):
            if key in obj:
                kwargs[key] = _typed(obj[key], str, key)
        for key in ("shuffle_seed", "buffer_size"):
            if key in obj:
                kwargs[key] = _typed(obj[key], int, key)
        if "selection" in obj:
            kwargs["selection"] = _selection_from_dict(obj["selection"])
        if "model_columns" in obj:
            kwargs["model_columns"] = _model_columns_from_dict(obj["model_columns"])
        if "provider_faults" in obj:
            kwargs["provider_faults"] = _provider_faults_from_dict(obj["provider_faults"])
        if "fresh_home" in obj:
            kwargs["fresh_home"] = _typed(obj["fresh_home"], bool, "fresh_home")
        if "completion_order" in obj:
            kwargs["completion_order"] = tuple(
                _typed(v, int, f"completion_order[{i}]")
                for i, v in enumerate(_list(obj["completion_order"], "completion_order"))
            )
        return cls(**kwargs)

    @classmethod
    def from_json(cls, text: str) -> Scenario:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ScenarioError(
                "<file>", f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
            ) from None
        return cls.from_dict(data)


_OPTIONAL = {
    "source", "selection", "sampling", "shuffle_seed", "buffer_size", "engine", "completion_order",
    "echo_suffix", "extra_column", "columns", "model_columns", "provider_faults", "fresh_home",
}
#: model columns a config may have
MAX_MODEL_COLUMNS = 2


# ----- validation -------------------------------------------------------------------------
_APPLYING: list[bool] = []


def _validate(s: Scenario) -> None:
    if not s.seeds:
        raise ScenarioError("seeds", "the seed table needs at least one row")
    _validate_columns(s)
    ids = [row.seed_id for row in s.seeds]
    if len(set(ids)) != len(ids):
        raise ScenarioError("seeds", "seed_id values must be unique")
    for i, row in enumerate(s.seeds):
        if not isinstance(row.seed_id, int) or isinstance(row.seed_id, bool) or row.seed_id < 0:
            raise ScenarioError(f"seeds[{i}].seed_id", "must be a non-negative integer")
        if not isinstance(row.name, str) or not row.name:
            raise ScenarioError(f"seeds[{i}].name", "must be a non-empty string")
        if any(not isinstance(x, str) or not x or "\n" in x for x in row.lines):
            raise ScenarioError(f"seeds[{i}].lines", "must be non-empty strings without newlines")
        if len(row.values) != len(s.columns):
            raise ScenarioError(f"seeds[{i}].values", f"needs one value per seed column ({len(s.columns)}), "
                                f"got {len(row.values)}")
        for column, value in zip(s.columns, row.values):
            problem = check_value(column, value)
            if problem is not None:
                raise ScenarioError(f"seeds[{i}].values", f"column {column.name!r}: {problem}")
            if not can_hold(s.source, value):
                raise ScenarioError(f"seeds[{i}].values", f"column {column.name!r}: a {s.source} source cannot "
                                    f"hold {value!r}")
    _one_of(s.source, SOURCES, "source")
    _one_of(s.sampling, SAMPLINGS, "sampling")
    _one_of(s.engine, ENGINES, "engine")
    _validate_selection(s.selection, len(s.seeds))
    if s.source == "directory" and not any(row.lines for row in s.selected_seeds()):
        raise ScenarioError(
            "seeds", "a directory source needs at least one line in the selected rows "
            "(every selected file is empty, so the record stream is empty)"
        )
    if any(not isinstance(v, str) or "\n" in v or "{" in v or "}" in v for v in (s.echo_suffix, s.extra_column)):
        raise ScenarioError("echo_suffix", "echo_suffix and extra_column must be strings without newlines or braces")
    if s.buffer_size < 1:
        raise ScenarioError("buffer_size", f"must be at least 1, got {s.buffer_size}")
    if s.shuffle_seed < 0:
        raise ScenarioError("shuffle_seed", "must be a non-negative integer")
    if any(v < 0 for v in s.completion_order):
        raise ScenarioError("completion_order", "entries must be non-negative integers")
    _validate_segments(s.segments)
    _validate_model_columns(s)
    if any(seg.changes for seg in s.segments) and not _APPLYING:
        from harness.changes import inputs_at

        _APPLYING.append(True)  # the scenarios the changes make are checked here, not each again
        try:
            for i in range(1, len(s.segments)):
                if s.segments[i].changes:
                    changed = inputs_at(s, i)
                    _validate_selection(changed.selection, len(changed.seeds))
                    if changed.source == "directory" and not any(row.lines for row in changed.selected_seeds()):
                        raise ScenarioError(f"segments[{i}].changes", "after these changes the directory "
                                            "source's selected files have no lines (the record stream is empty)")
        finally:
            _APPLYING.pop()


def _validate_columns(s: Scenario) -> None:
    _check_columns(s.columns)
    if s.columns and s.source == "directory":
        raise ScenarioError("columns", "a directory source's rows are files: typed seed columns need a table "
                            "source (dataframe, parquet, csv, jsonl)")


def _check_columns(columns: tuple[SeedColumn, ...]) -> None:
    names = [c.name for c in columns]
    if len(set(names)) != len(names):
        raise ScenarioError("columns", "seed column names must be unique")
    for i, c in enumerate(columns):
        if not isinstance(c.name, str) or not c.name.isidentifier() or c.name in RESERVED:
            raise ScenarioError(f"columns[{i}].name", f"{c.name!r} cannot name a seed column (an identifier "
                                f"other than {', '.join(RESERVED)})")
        _one_of(c.type, COLUMN_TYPES, f"columns[{i}].type")


def _validate_model_columns(s: Scenario) -> None:
    names = [c.name for c in s.model_columns]
    if len(names) > MAX_MODEL_COLUMNS:
        raise ScenarioError("model_columns", f"at most {MAX_MODEL_COLUMNS} model columns, got {len(names)}")
    taken = {*RESERVED, "echo", "tag", *(c.name for c in s.columns)}
    for i, c in enumerate(s.model_columns):
        if not isinstance(c.name, str) or not c.name.isidentifier() or c.name in taken or names.count(c.name) > 1:
            raise ScenarioError(f"model_columns[{i}].name", f"{c.name!r} cannot name a model column (a unique "
                                "identifier, not a seed column's or echo/tag)")
        if not isinstance(c.instruction, str) or not c.instruction or any(ch in c.instruction for ch in "{}\n"):
            raise ScenarioError(f"model_columns[{i}].instruction", "must be a non-empty string without braces "
                                "or newlines")
    if s.model_columns and s.source == "directory":
        raise ScenarioError("model_columns", "model columns render their prompt from a seed row's name: use a "
                            "table source (dataframe, parquet, csv, jsonl)")
    ids = {row.seed_id for row in s.seeds}
    faulted = [f.seed_id for f in s.provider_faults]
    for i, f in enumerate(s.provider_faults):
        where = f"provider_faults[{i}]"
        _one_of(f.kind, tuple(PROVIDER_FAULT_KINDS), f"{where}.kind")
        if f.seed_id not in ids or faulted.count(f.seed_id) > 1:
            raise ScenarioError(f"{where}.seed_id", f"{f.seed_id} must be a seed row's seed_id, faulted once")
        if not PROVIDER_FAULT_KINDS[f.kind].temporary and not f.permanent:
            raise ScenarioError(f"{where}.permanent", f"a {f.kind} fault says the request itself is wrong: a "
                                "client does not try it again, so it is permanent (set permanent: true)")
    if s.provider_faults and not s.model_columns:
        raise ScenarioError("provider_faults", "provider faults need a model column to fault: add model_columns")
    if not s.model_columns and any(seg.fault is not None and KINDS[seg.fault.action].needs_provider
                                   for seg in s.segments):
        raise ScenarioError("segments", "an outage or a revoked key interrupts the model provider: it needs "
                            "model_columns")


def _model_columns_from_dict(data: Any) -> tuple[ModelColumn, ...]:
    out = []
    for i, item in enumerate(_list(data, "model_columns")):
        obj = _expect_keys(item, f"model_columns[{i}]", required={"name", "instruction"}, optional=set())
        out.append(ModelColumn(_typed(obj["name"], str, f"model_columns[{i}].name"),
                               _typed(obj["instruction"], str, f"model_columns[{i}].instruction")))
    return tuple(out)


def _provider_faults_from_dict(data: Any) -> tuple[ProviderFault, ...]:
    out = []
    for i, item in enumerate(_list(data, "provider_faults")):
        where = f"provider_faults[{i}]"
        obj = _expect_keys(item, where, required={"seed_id", "kind"}, optional={"permanent"})
        permanent = obj.get("permanent", False)
        if not isinstance(permanent, bool):
            raise ScenarioError(f"{where}.permanent", f"expected true or false, got {json.dumps(permanent)}")
        out.append(ProviderFault(_typed(obj["seed_id"], int, f"{where}.seed_id"),
                                 _typed(obj["kind"], str, f"{where}.kind"), permanent))
    return tuple(out)


def _validate_selection(sel: Selection, n: int) -> None:
    if sel is None:
        return
    if isinstance(sel, IndexRange):
        if sel.start < 0:
            raise ScenarioError("selection.start", f"must be >= 0, got {sel.start}")
        if sel.end < sel.start:
            raise ScenarioError("selection.end", f"must be >= start ({sel.start}), got {sel.end}")
        if sel.end >= n:
            raise ScenarioError(
                "selection.end", f"index {sel.end} is out of bounds for a seed table of {n} rows "
                f"(the range is inclusive: the largest valid end is {n - 1})"
            )
        return
    if isinstance(sel, PartitionBlock):
        if sel.num_partitions < 1 or sel.num_partitions > n:
            raise ScenarioError(
                "selection.num_partitions",
                f"must be between 1 and the number of seed rows ({n}), got {sel.num_partitions}",
            )
        if not 0 <= sel.index < sel.num_partitions:
            raise ScenarioError(
                "selection.index", f"must be between 0 and {sel.num_partitions - 1}, got {sel.index}"
            )
        return
    raise ScenarioError("selection", f"unsupported selection {sel!r}")


def _validate_segments(segments: tuple[Segment, ...]) -> None:
    if not segments:
        raise ScenarioError("segments", "a scenario needs at least one segment")
    previous = 0
    for i, seg in enumerate(segments):
        where = f"segments[{i}]"
        if seg.num_records < 1:
            raise ScenarioError(f"{where}.num_records", f"must be at least 1, got {seg.num_records}")
        if seg.num_records < previous and not any(c.kind == "fewer_records" for c in seg.changes):
            raise ScenarioError(
                f"{where}.num_records",
                f"{seg.num_records} is smaller than the previous segment's {previous}: a resume "
                "may keep or extend num_records, never shrink it (unless the segment's changes "
                "say so: a 'fewer_records' change)",
            )
        previous = seg.num_records
        _one_of(seg.resume, RESUME_MODES, f"{where}.resume")
        if i == 0 and any(c.kind != "release" for c in seg.changes):
            raise ScenarioError(f"{where}.changes", "changes apply between an interruption and a resume: "
                                "the first segment has none (but the release it runs on)")
        if i == 0 and seg.resume != "never":
            raise ScenarioError(f"{where}.resume", "the first segment starts fresh: use 'never'")
        if i > 0 and seg.resume == "never":
            raise ScenarioError(f"{where}.resume", "later segments resume: use 'always' or 'if_possible'")
        _one_of(seg.process, PROCESSES, f"{where}.process")
        if seg.process == "same":
            before = segments[i - 1].fault if i > 0 else None
            if i == 0:
                raise ScenarioError(f"{where}.process", "the first segment starts a process: use 'fresh'")
            if before is not None and KINDS.get(before.action) is not None and KINDS[before.action].ends_process:
                raise ScenarioError(f"{where}.process", f"segment {i - 1}'s {before.action} fault ends its process: "
                                    "a resume after it runs in a 'fresh' one")
        if seg.process == "same" and any(c.kind == "release" for c in seg.changes):
            raise ScenarioError(f"{where}.process", "a segment on another release runs in that release's "
                                "environment: use 'fresh'")
        if seg.fault is not None:
            if i == len(segments) - 1:
                raise ScenarioError(
                    f"{where}.fault", "the last segment must complete: add a resuming segment after it"
                )
            _validate_fault(seg.fault, f"{where}.fault")


def _validate_fault(f: Fault, where: str) -> None:
    _one_of(f.action, FAULT_ACTIONS, f"{where}.action")
    _one_of(f.at, FAULT_POINTS, f"{where}.at")
    points = KINDS[f.action].points
    if f.at not in points:
        raise ScenarioError(f"{where}.action", f"'{f.action}' applies at {' or '.join(points)}: "
                            f"use at='{points[0]}'")
    if f.at == "row":
        if f.index < 0 or f.row < 0:
            raise ScenarioError(f"{where}", "row faults need a group index >= 0 and a row >= 0")
    elif f.index < 1:
        raise ScenarioError(f"{where}.index", f"checkpoints and writes count from 1, got {f.index}")


def _one_of(value: str, allowed: tuple[str, ...], name: str) -> None:
    if value not in allowed:
        raise ScenarioError(name, f"{value!r} is not one of {', '.join(allowed)}")


def _selection_text(sel: Selection) -> str:
    if isinstance(sel, IndexRange):
        return f"IndexRange({sel.start}, {sel.end})"
    assert isinstance(sel, PartitionBlock)
    return f"PartitionBlock({sel.index}, {sel.num_partitions})"


# ----- (de)serialisation helpers -------------------------------------------------------------
def _seed_to_dict(row: SeedRow, columns: tuple[SeedColumn, ...] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {"seed_id": row.seed_id, "name": row.name}
    if row.lines:
        out["lines"] = list(row.lines)
    if row.values:
        out["values"] = [value_to_json(c, v) for c, v in zip(columns, row.values)]
    return out


def _columns_from_dict(data: Any) -> tuple[SeedColumn, ...]:
    out = []
    for i, item in enumerate(_list(data, "columns")):
        obj = _expect_keys(item, f"columns[{i}]", required={"name", "type"}, optional=set())
        out.append(SeedColumn(_typed(obj["name"], str, f"columns[{i}].name"), _typed(obj["type"], str,
                                                                                     f"columns[{i}].type")))
    _check_columns(tuple(out))
    return tuple(out)


def selection_kind(sel: Selection) -> str:
    """The selection's name as scenario files and capabilities spell it: `none`,
    `index_range` or `partition_block`."""
    if sel is None:
        return "none"
    return "index_range" if isinstance(sel, IndexRange) else "partition_block"


def _selection_to_dict(sel: Selection) -> dict[str, Any] | None:
    if sel is None:
        return None
    if isinstance(sel, IndexRange):
        return {"kind": selection_kind(sel), "start": sel.start, "end": sel.end}
    return {"kind": selection_kind(sel), "index": sel.index, "num_partitions": sel.num_partitions}


def _segment_to_dict(seg: Segment) -> dict[str, Any]:
    fault = None
    if seg.fault is not None:
        fault = {"action": seg.fault.action, "at": seg.fault.at, "index": seg.fault.index}
        if seg.fault.at == "row":
            fault["row"] = seg.fault.row
    out: dict[str, Any] = {"num_records": seg.num_records, "resume": seg.resume, "fault": fault}
    if seg.process != "fresh":  # absent when fresh: scenarios from before the field read the same
        out["process"] = seg.process
    if seg.changes:
        out["changes"] = [c.to_dict() for c in seg.changes]
    return out


def _expect_keys(data: Any, where: str, required: set[str], optional: set[str]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ScenarioError(where, f"expected a JSON object, got {type(data).__name__}")
    for key in data:
        if key not in required | optional:
            prefix = "" if where == "scenario" else f"{where}."
            raise ScenarioError(
                f"{prefix}{key}", f"unknown field (expected one of: {', '.join(sorted(required | optional))})"
            )
    for key in sorted(required):
        if key not in data:
            prefix = "" if where == "scenario" else f"{where}."
            raise ScenarioError(f"{prefix}{key}", "missing required field")
    return data


def _typed(value: Any, kind: type, where: str) -> Any:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ScenarioError(where, f"expected {kind.__name__}, got {json.dumps(value)}")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise ScenarioError(where, f"expected a JSON list, got {type(value).__name__}")
    return value


def _seed_from_dict(data: Any, where: str, columns: tuple[SeedColumn, ...] = ()) -> SeedRow:
    obj = _expect_keys(data, where, required={"seed_id", "name"}, optional={"lines", "values"})
    lines = tuple(
        _typed(x, str, f"{where}.lines[{i}]") for i, x in enumerate(_list(obj.get("lines", []), f"{where}.lines"))
    )
    raw = _list(obj.get("values", []), f"{where}.values")
    if len(raw) != len(columns):
        raise ScenarioError(f"{where}.values", f"needs one value per seed column ({len(columns)}), got {len(raw)}")
    values = tuple(value_from_json(c, v, f"{where}.values[{i}]") for i, (c, v) in enumerate(zip(columns, raw)))
    return SeedRow(
        seed_id=_typed(obj["seed_id"], int, f"{where}.seed_id"),
        name=_typed(obj["name"], str, f"{where}.name"),
        lines=lines,
        values=values,
    )


def _selection_from_dict(data: Any) -> Selection:
    if data is None:
        return None
    if not isinstance(data, dict) or data.get("kind") not in ("index_range", "partition_block"):
        raise ScenarioError("selection.kind", "expected null or an object with kind 'index_range' or 'partition_block'")
    if data["kind"] == "index_range":
        obj = _expect_keys(data, "selection", required={"kind", "start", "end"}, optional=set())
        return IndexRange(_typed(obj["start"], int, "selection.start"), _typed(obj["end"], int, "selection.end"))
    obj = _expect_keys(data, "selection", required={"kind", "index", "num_partitions"}, optional=set())
    return PartitionBlock(
        _typed(obj["index"], int, "selection.index"),
        _typed(obj["num_partitions"], int, "selection.num_partitions"),
    )


def _segment_from_dict(data: Any, where: str) -> Segment:
    obj = _expect_keys(data, where, required={"num_records"}, optional={"resume", "fault", "process", "changes"})
    fault = None
    if obj.get("fault") is not None:
        f = _expect_keys(obj["fault"], f"{where}.fault", required={"action", "at", "index"}, optional={"row"})
        fault = Fault(
            action=_typed(f["action"], str, f"{where}.fault.action"),
            at=_typed(f["at"], str, f"{where}.fault.at"),
            index=_typed(f["index"], int, f"{where}.fault.index"),
            row=_typed(f.get("row", 0), int, f"{where}.fault.row"),
        )
    return Segment(
        num_records=_typed(obj["num_records"], int, f"{where}.num_records"),
        resume=_typed(obj.get("resume", "never"), str, f"{where}.resume"),
        fault=fault,
        process=_typed(obj.get("process", "fresh"), str, f"{where}.process"),
        changes=tuple(change_from_dict(c, f"{where}.changes[{i}]")
                      for i, c in enumerate(_list(obj.get("changes", []), f"{where}.changes"))),
    )
