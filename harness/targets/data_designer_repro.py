"""Reproducers for DataDesigner findings: a script that needs nothing but DataDesigner (no
import of this package) and a regression test in the style of DataDesigner's own tests.

Each delivers a scenario's interruptions as the harness does: a `BaseException` raised in
the checkpoint callback (`raise`), the checkpoint file truncated and then that exception
(`tear`), or the segment's own process sending itself SIGKILL, SIGINT or SIGTERM (`kill`,
`sigint`, `sigterm`: such a segment runs in a process of its own). Segments that share a
process in the scenario (a notebook cell run again) run in one process of the script's.
On the async engine every stopped segment runs in a process of its own, since the engine's
event loop outlives an interrupted create().

Besides the rows, a script checks the work: every checkpoint is logged with its segment,
so a resume that generates a complete row group again (`redone`) or a segment that
checkpoints after its run has returned (`ghost`) is reported and fails the script.
"""

from __future__ import annotations

import importlib.metadata
import json

import harness
from harness.chain import process_groups
from harness.changes import final_inputs, fresh_starts, has_changes, inputs_at, release_of
from harness.fault_kinds import KINDS
from harness.reference.model import expected_rows, output_row, record_stream
from harness.repro import EXIT_CODES, _docstring, _header, copied_column, value_column
from harness.scenario import IndexRange, PartitionBlock, Scenario
from harness.seed_values import to_json
from harness.targets import data_designer_repro_provider as provider

#: kinds whose stopped segment needs a process of its own (the signal is sent to it)
_OWN_PROCESS = tuple(name for name, kind in KINDS.items() if kind.in_child)


def _seed_table(scenario: Scenario) -> str:
    ids = [s.seed_id for s in scenario.seeds]
    names = [s.name for s in scenario.seeds]
    return f'pd.DataFrame({{"seed_id": {ids}, "name": {names!r}}})'


_ARROW = {"int": "pa.int64()", "float": "pa.float64()", "bool": "pa.bool_()", "timestamp": 'pa.timestamp("us")',
          "string": "pa.string()"}


def _literal(value: object) -> str:
    """A typed seed value as Python source (NaN and infinities as float("...") calls)."""
    import datetime as dt
    import math

    if isinstance(value, float) and not math.isfinite(value):
        return f'float("{value!r}")'
    if isinstance(value, dt.datetime):
        return repr(value)  # datetime.datetime(...)
    if type(value).__name__ == "Decimal":
        return f"decimal.{value!r}"
    return repr(value)


def typed_seed(inputs: Scenario) -> str:
    """The seed table of a scenario with typed seed columns, as a literal `typed_source`
    writes: a CSV's or a JSON lines file's exact text, else the columns and their types."""
    from harness.reference import sources as reference_sources

    if inputs.source == "csv":
        return _text_literal(reference_sources.csv_text(inputs))
    if inputs.source == "jsonl":
        path_text = "\n".join(json.dumps({"seed_id": r.seed_id, "name": r.name,
                                           **{c.name: to_json(c, v) for c, v in zip(inputs.columns, r.values)}},
                                          allow_nan=False) for r in inputs.seeds) + "\n"
        return _text_literal(path_text)
    columns = {"seed_id": [r.seed_id for r in inputs.seeds], "name": [r.name for r in inputs.seeds],
               **{c.name: [r.values[k] for r in inputs.seeds] for k, c in enumerate(inputs.columns)}}
    body = ", ".join(f"{n!r}: [{', '.join(_literal(v) for v in values)}]" for n, values in columns.items())
    schema = ", ".join(['("seed_id", pa.int64())', '("name", pa.string())',
                        *(f"({c.name!r}, {_ARROW[c.type]})" for c in inputs.columns)])
    return f"pa.table({{{body}}}, schema=pa.schema([{schema}]))"


def _text_literal(text: str) -> str:
    """A file's text as adjacent string literals, one line of the file each."""
    parts = text.splitlines(keepends=True)
    if len(parts) <= 1:
        return repr(text)
    return "(\n" + "".join(f"    {part!r}\n" for part in parts) + ")"


def _typed_source_function(scenario: Scenario) -> list[str]:
    """`typed_source(base, seed)`: the seed source as the user's file (or frame) holds it."""
    if scenario.source in ("csv", "jsonl"):
        return ["def typed_source(base, seed):  # the seed file, byte for byte as the user wrote it",
                f'    path = Path(base, "seeds", "seeds.{scenario.source}")',
                "    path.write_text(seed)",
                "    return LocalFileSeedSource(path=str(path))"]
    if scenario.source == "parquet":
        return ["def typed_source(base, seed):  # the seed file: parquet with its schema",
                '    path = Path(base, "seeds", "seeds.parquet")',
                "    pq.write_table(seed, path)",
                "    return LocalFileSeedSource(path=str(path))"]
    return ["def typed_source(base, seed):  # the seed frame, with the dtypes pandas gives the table",
            "    return DataFrameSeedSource(df=seed.to_pandas())"]


def _dd_convert(scenario: Scenario, seed: object, column: object, value: object) -> object:
    """DataDesigner's declared conversion of typed seed values (`DataDesignerTarget.seed_value_as_read`)."""
    from harness.targets.data_designer import typed_values_as_read

    return typed_values_as_read(scenario)[seed.seed_id][column.name]  # type: ignore[attr-defined]


def _typed_rows(rows: list[dict], column: str, typed: list[str]) -> list[tuple]:
    from harness.seed_values import plain

    return [tuple(plain(r.get(c)) for c in (column, *typed)) for r in rows]


def _rows_literal(rows: list[tuple]) -> str:
    """One row per line (a literal line longer than the line length keeps its length, marked)."""
    items = ["(" + ", ".join(_literal(v) for v in row) + ("," if len(row) == 1 else "") + ")" for row in rows]
    return "[\n" + "".join(f"    {item},\n" for item in items) + "]"


def _marked_long_lines(text: str) -> str:
    """A literal line over 120 characters (a long seed value) tells the linter it is meant."""
    return "\n".join(line + "  # noqa: E501" if len(line) > 120 and "noqa" not in line else line
                     for line in text.split("\n"))


def _source_lines(scenario: Scenario) -> list[str]:
    """Lines of `run(base, ...)` that make the seed source."""
    if scenario.columns:
        return ["    source = typed_source(base, SEED)"]
    if scenario.source == "dataframe":
        return [f"    source = DataFrameSeedSource(df={_seed_table(scenario)})"]
    if scenario.source == "directory":
        files = {f"{i:05d}-{s.seed_id}-{s.name}.txt": "".join(line + "\n" for line in s.lines)
                 for i, s in enumerate(scenario.seeds)}
        return [
            f"    for name, text in {files!r}.items():",
            '        Path(base, "seeds", name).write_text(text)',
            '    source = DirectorySeedSource(path=str(Path(base, "seeds")), file_pattern="*.txt")',
        ]
    writer = {"parquet": "to_parquet(path, index=False)", "csv": "to_csv(path, index=False)",
              "jsonl": 'to_json(path, orient="records", lines=True)'}[scenario.source]
    return [
        f'    path = Path(base, "seeds", "seeds.{scenario.source}")',
        f"    {_seed_table(scenario)}.{writer}",
        "    source = LocalFileSeedSource(path=str(path))",
    ]


def _inputs_entry(inputs: Scenario) -> str:
    """One segment's inputs (a user's changes applied), as a literal the script reads."""
    sel = inputs.selection
    selection = None
    if isinstance(sel, IndexRange):
        selection = ("index_range", sel.start, sel.end)
    elif isinstance(sel, PartitionBlock):
        selection = ("partition_block", sel.index, sel.num_partitions)
    entry: dict = {"seed_id": [r.seed_id for r in inputs.seeds], "name": [r.name for r in inputs.seeds]}
    if inputs.columns:
        entry = {"seed": _Source(typed_seed(inputs))}
    if inputs.source == "directory":
        entry = {"files": {f"{i:05d}-{r.seed_id}-{r.name}.txt": "".join(line + "\n" for line in r.lines)
                           for i, r in enumerate(inputs.seeds)}}
    entry.update({"echo": inputs.echo_suffix, "tag": inputs.extra_column, "buffer_size": inputs.buffer_size,
                  "selection": selection})
    return repr(entry)


class _Source(str):
    """Python source that `repr` leaves as it is (inside an INPUTS literal)."""

    def __repr__(self) -> str:
        return str(self)


def _changed_run_lines(scenario: Scenario) -> list[str]:
    """The start of `run()` when the inputs change along the chain: segment `index` reads
    `INPUTS[index]`, rewriting the seed file at the same path as a user re-exports it."""
    lines = ["    inputs = INPUTS[index]  # the inputs as the user left them before this segment"]
    if scenario.columns:
        lines.append('    source = typed_source(base, inputs["seed"])  # rewritten in place')
    elif scenario.source == "dataframe":
        lines.append('    source = DataFrameSeedSource(df=pd.DataFrame({"seed_id": inputs["seed_id"], '
                     '"name": inputs["name"]}))')
    elif scenario.source == "directory":
        lines += ['    for old in Path(base, "seeds").glob("*.txt"):  # a re-export: files of rows now gone go too',
                  "        old.unlink()",
                  '    for name, text in inputs["files"].items():',
                  '        Path(base, "seeds", name).write_text(text)',
                  '    source = DirectorySeedSource(path=str(Path(base, "seeds")), file_pattern="*.txt")']
    else:
        writer = {"parquet": "to_parquet(path, index=False)", "csv": "to_csv(path, index=False)",
                  "jsonl": 'to_json(path, orient="records", lines=True)'}[scenario.source]
        lines += [f'    path = Path(base, "seeds", "seeds.{scenario.source}")  # rewritten in place',
                  f'    pd.DataFrame({{"seed_id": inputs["seed_id"], "name": inputs["name"]}}).{writer}',
                  "    source = LocalFileSeedSource(path=str(path))"]
    lines += [
        '    kind, *bounds = inputs["selection"] or (None,)',
        '    selection = {"index_range": lambda s, e: dd.IndexRange(start=s, end=e),',
        '                 "partition_block": lambda i, k: dd.PartitionBlock(index=i, num_partitions=k),',
        "                 None: lambda: None}[kind](*bounds)",
    ]
    return lines


def _selection(scenario: Scenario) -> str:
    sel = scenario.selection
    if isinstance(sel, IndexRange):
        return f",\n                              selection_strategy=dd.IndexRange(start={sel.start}, end={sel.end})"
    if isinstance(sel, PartitionBlock):
        return (f",\n                              selection_strategy=dd.PartitionBlock(index={sel.index}, "
                f"num_partitions={sel.num_partitions})")
    return ""


def _imports(scenario: Scenario) -> list[str]:
    """DataDesigner (and pandas) imports, in the order isort keeps them."""
    straight = ["import data_designer.config as dd"]
    if scenario.source != "directory":
        straight.append("import pandas as pd")
    if scenario.columns and scenario.source in ("parquet", "dataframe"):
        straight.append("import pyarrow as pa")
    if scenario.columns and scenario.source == "parquet":
        straight.append("import pyarrow.parquet as pq")
    froms = ["from data_designer.engine.storage.artifact_storage import ArtifactStorage",
             "from data_designer.interface import DataDesigner, ResumeMode"]
    if scenario.source == "dataframe":
        froms.append("from data_designer.config.seed_source_dataframe import DataFrameSeedSource")
    elif scenario.source == "directory":
        froms.append("from data_designer.config.seed_source import DirectorySeedSource")
        froms.append("from data_designer.engine.testing.seed_readers import LineFanoutDirectorySeedReader")
    else:
        froms.append("from data_designer.config.seed_source import LocalFileSeedSource")
    return ["    " + line for line in straight + sorted(froms)]


def _segments(scenario: Scenario) -> str:
    entries = []
    for seg in scenario.segments:
        stop = "None" if seg.fault is None else f"({seg.fault.index}, {seg.fault.action!r})"
        entries.append(f"({seg.num_records}, {seg.resume.upper()!r}, {stop})")
    return "[" + ", ".join(entries) + "]"


def _actions(scenario: Scenario) -> set[str]:
    return {s.fault.action for s in scenario.segments if s.fault is not None}


def _same_process(scenario: Scenario) -> bool:
    return any(s.process == "same" for s in scenario.segments)


def _releases(scenario: Scenario) -> list[str | None]:
    """The release each segment runs on (None: the script's own), for cross-release chains."""
    return [release_of(scenario, i) for i in range(len(scenario.segments))]


def _cross_release(scenario: Scenario) -> bool:
    return any(r is not None for r in _releases(scenario))


def _separate(scenario: Scenario) -> str | None:
    """Which groups of segments the script runs in a process of its own, as a condition on
    `group` (a list of segment indices), or None when every segment runs in the script's
    process: a group of several (a same-process resume), a stop whose signal needs a process
    to receive it, and on the async engine every stopped segment, because the engine's event
    loop is one thread per process, shared by every create(), and an interrupted run's tasks
    would go on into the next segment's run (docs/datadesigner.md)."""
    stops = _actions(scenario)
    if not stops and not _same_process(scenario) and not _cross_release(scenario):
        return None
    parts = ["len(group) > 1"] if _same_process(scenario) else []
    if _cross_release(scenario):
        parts.append("RELEASES[group[0]]")
    if scenario.engine == "async":
        parts.append("SEGMENTS[group[0]][2]")
    elif stops & set(_OWN_PROCESS):
        parts.append("SEGMENTS[group[0]][2] and SEGMENTS[group[0]][2][1] in OWN_PROCESS")
    return " or ".join(parts) if parts else None


def _refusable(scenario: Scenario) -> list[int]:
    """The segments whose resume follows a change of the user's (a release's too): a release
    that refuses such a resume gives a correct answer (the harness's checker accepts it)."""
    return [i for i in range(1, len(scenario.segments)) if any(s.changes for s in scenario.segments[1:i + 1])]


def _own_process_lines(scenario: Scenario, script: bool) -> list[str]:
    """`own_process`: a process of the chain's own (segments, the straight run, a read), whose
    end by DataDesigner's error (exit 1: its traceback printed there) ends the chain with it,
    as a run in the script's process would (a process its fault killed did what it was asked);
    for a cross-release chain, `read_rows`: the dataset as the release the chain ends on reads
    it, as a user's `create()` there does (`script`: by the script's `--rows`, else by
    importing the test module)."""
    refusable = _refusable(scenario)
    lines = [
        "",
        "",
        *([f"REFUSABLE = {refusable!r}  # the segments whose resume follows a change: refusing it is a correct answer",
           "",
           "",
           "class Refused(Exception):",
           '    """A resume after a change, refused by the release (in a process of its own)."""',
           "",
           ""] if refusable else []),
        "class SegmentFailed(Exception):",
        '    """A process of the chain ended with the release\'s error (its traceback above)."""',
        "",
        "",
        "def own_process(args, segment=None):",
        "    done = subprocess.run(args, stderr=subprocess.PIPE, text=True)",
        "    sys.stderr.write(done.stderr)",
        "    if done.returncode in (2, 3):  # it cannot run here, or the script itself failed there",
        "        sys.exit(done.returncode)",
        "    if done.returncode == 1:  # DataDesigner raised there (a process its fault killed ends by a signal)",
        '        error = (done.stderr.strip().splitlines() or ["exit code 1"])[-1]',
        *(['        if segment in REFUSABLE and "Cannot resume" in error:',
           '            raise Refused(f"segment {segment}: {error}")'] if refusable else []),
        '        raise SegmentFailed(f"segment {segment}: {error}" if segment is not None else error)',
    ]
    if _cross_release(scenario):
        lines += [
            "",
            "",
            "def read_rows(base):  # the dataset as the release the chain ends on reads it (its create() does)",
            "    if RELEASES[-1] is None:",
            "        return rows(base)",
            '    out = Path(base, "rows.pickle")',
            *(['    own_process([python_for(len(SEGMENTS) - 1), __file__, "--rows", str(base), str(out)])'] if script else
              ['    code = f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "',
               '    code += f"import pickle, {Path(__file__).stem} as t; "',
               "    code += f\"open({str(out)!r}, 'wb').write(pickle.dumps(t.rows({str(base)!r}))); import os; os._exit(0)\"",
               '    own_process([python_for(len(SEGMENTS) - 1), "-c", code])']),
            "    return pickle.loads(out.read_bytes())",
        ]
    return lines


def _if_separate(scenario: Scenario, indent: str, outer: str = "") -> list[str]:
    """`if <separate>:` with its reason, the reason on a line of its own when it is long
    (`outer`: the indentation the caller adds to every line)."""
    condition, comment = _separate(scenario), _separate_comment(scenario)
    line = f"{indent}if {condition}:{comment}"
    if len(outer + line) <= 118:
        return [line]
    return [f"{indent}{comment.strip()}", f"{indent}if {condition}:"]


def _separate_comment(scenario: Scenario) -> str:
    if _cross_release(scenario):
        return "  # another release, or a process of its own"
    if _same_process(scenario):
        return "  # one process, as a notebook runs a cell again"
    if scenario.engine == "async":
        return "  # its end stops the async engine's loop, as a crash would"
    return "  # a signal needs its own process"


def _stop_lines(scenario: Scenario, work: bool) -> list[str]:
    """What the checkpoint callback does when the scenario's fault is due."""
    actions = _actions(scenario)
    lines = provider.outage_lines(scenario)
    if "tear" in actions:
        lines += ['            if stop[1] == "tear":  # what a power cut after an un-fsynced rename leaves',
                  "                os.truncate(path, os.path.getsize(path) // 2)",
                  *(['                log(base, f"{index} torn {Path(path).name}")'] if work else [])]
    signals = {"kill": "SIGKILL", "sigint": "SIGINT", "sigterm": "SIGTERM"}
    for action in sorted(actions & set(signals)):
        comment = {"kill": "", "sigint": "  # Ctrl-C: KeyboardInterrupt in the main thread",
                   "sigterm": "  # preemption: the default disposition ends the process"}[action]
        lines += [f'            if stop[1] == "{action}":{comment}',
                  f"                os.kill(os.getpid(), signal.{signals[action]})",
                  *([f"                RETURNED.wait({CTRL_C_HOLD})  # on once the interrupted call has returned "
                     "(0.8.0 on waits for this thread: the hold)"]
                    if action == "sigint" and _ctrl_c_on_engine_thread(scenario) else []),
                  "                return"]
    return lines + ["            raise Stop"]


#: how long (s) an async engine's checkpoint callback that pressed Ctrl-C waits for the
#: interrupted call to return before it lets the engine go on. Without it, whether the work
#: the engine goes on with shows after the call has returned was a race between the main
#: thread (woken by the signal, needing the GIL to unwind) and the engine's thread finishing
#: the run: the script took 12 tries and still passed on some runs of a failing release. A
#: release that stops its run on Ctrl-C (0.8.0 on) waits for the engine's thread itself, so
#: there the callback goes on after the hold and the run stops.
CTRL_C_HOLD = 1


def _ctrl_c_on_engine_thread(scenario: Scenario) -> bool:
    """Ctrl-C pressed from a checkpoint callback that runs on the async engine's thread."""
    return scenario.engine == "async" and "sigint" in _actions(scenario)


#: a shell's background job starts with SIGINT ignored, and Python then keeps it ignored: the
#: fault would not fire and the script would say "passes"; these give the dispositions a
#: foreground terminal gives
SIGNAL_DISPOSITION_LINES = {
    "sigint": "signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C: KeyboardInterrupt, even in a background job",
    "sigterm": "signal.signal(signal.SIGTERM, signal.SIG_DFL)  # preemption: the process ends, even if it was ignored",
}


CROSS_RELEASE_LINES = [
    "def python_for(index):",
    '    """The interpreter segment `index` runs on: the one with its release installed."""',
    "    release = RELEASES[index]",
    "    if release is None:",
    "        return sys.executable",
    "    if release not in PYTHONS:",
    '        print(f"cannot run here: segment {index} runs on data-designer=={release}; pass --python "',
    '              f"{release}=PATH, the Python of an environment with it (for example: uv venv /tmp/dd-{release} "',
    '              f"&& uv pip install --python /tmp/dd-{release} data-designer=={release} pandas, then --python "',
    '              f"{release}=/tmp/dd-{release}/bin/python)", file=sys.stderr)',
    "        sys.exit(2)",
    "    return PYTHONS[release]",
    "",
    "",
]

WORK_LINES = [
    "",
    "",
    "def log(base, line):  # every checkpoint, with the segment that made it",
    '    with open(Path(base, "checkpoints.log"), "a") as out:',
    '        out.write(line + "\\n")',
]

WASTED = [
    "",
    "",
    "def wasted(base):",
    '    """Row groups a resume generated again though they were complete on disk, and',
    '    checkpoints a segment made after its run had returned."""',
    "    first, ended, again, late = {}, set(), [], []",
    '    for line in Path(base, "checkpoints.log").read_text().splitlines():',
    "        segment, *what = line.split()",
    '        if what == ["end"]:',
    "            ended.add(segment)",
    '        elif what[0] == "torn":',
    "            first.pop(what[1], None)",
    "        elif segment in ended:",
    '            late.append(f"{what[0]} by segment {segment} after its run had returned")',
    "        elif what[0] in first and first[what[0]] != segment:",
    '            again.append(f"{what[0]} by segment {segment}, complete since segment {first[what[0]]}")',
    "        else:",
    "            first.setdefault(what[0], segment)",
    "    return again + late",
]


#: where a segment's buffer size is when the inputs change along the chain
BUFFER_SIZE_INPUT = 'inputs["buffer_size"]'


def dd_core(scenario: Scenario, work: bool, hang: str = "", hang_seconds: float | None = None) -> list[str]:
    """What the script and the regression test share: the segments, what a correct run
    gives, one segment's run (config included), the rows read back and, with `work`, the
    checkpoint log that shows work done twice or after a segment had returned."""
    column = value_column(scenario)
    changed = has_changes(scenario)
    final = final_inputs(scenario)
    stream = [output_row(row, final)[column] for row in record_stream(final)]
    typed = [c.name for c in final.columns]
    # rows are (value column, typed seed columns..., model columns...), as DataDesigner holds them
    compared = typed + provider.compared_model_columns(final)
    if compared:
        stream = _typed_rows([output_row(r, final) for r in record_stream(final, _dd_convert)
                              if r["seed_id"] not in provider.dropped_rows(final.provider_faults)], column, compared)
    copied = copied_column(scenario)
    fresh = fresh_starts(scenario)
    storage_at = ("artifact_path=where.parent, dataset_name=where.name" if fresh else
                  'artifact_path=Path(base, "artifacts"), dataset_name="repro"')
    sampling = "ORDERED" if scenario.sampling == "ordered" else "SHUFFLE"
    readers = ", seed_readers=[LineFanoutDirectorySeedReader()]" if scenario.source == "directory" else ""
    models = provider.designer_arguments(scenario)
    run_config = provider.run_config_call(scenario) if provider.has_model_columns(scenario) else \
        "dd.RunConfig(disable_early_shutdown=True, buffer_size={size})"
    segments = f"SEGMENTS = {_segments(scenario)}"
    legend = "# (num_records, resume mode, stop at (checkpoint, action))"
    lines = [f"{segments}  {legend}"] if len(segments) + len(legend) < 118 else [legend, segments]
    if _same_process(scenario):
        lines.append(f"PROCESSES = {process_groups(scenario)!r}  # segments that run in one process")
    if _cross_release(scenario):
        lines.append(f"RELEASES = {_releases(scenario)!r}  # the release each segment runs on (None: this one's)")
        lines.append("PYTHONS = {}  # release -> the Python of an environment that has it (--python RELEASE=PATH)")
    if changed:
        lines.append("INPUTS = [  # per segment: what the user changed before it is applied here")
        lines += [f"    {_inputs_entry(inputs_at(scenario, i))}," for i in range(len(scenario.segments))]
        lines.append("]")
    if _ctrl_c_on_engine_thread(scenario):
        lines.append("RETURNED = threading.Event()  # the call that Ctrl-C interrupted has returned")
    if scenario.engine == "sync" and _actions(scenario) & set(_OWN_PROCESS):
        lines.append(f"OWN_PROCESS = {_OWN_PROCESS!r}  # stops whose signal needs a process of its own")
    if typed and not changed:
        lines.append(f"SEED = {typed_seed(scenario)}")
    if compared:
        lines.append(f"COLUMNS = {[column, *compared]!r}  # the columns compared")
    if scenario.sampling == "shuffle":
        lines.append(f"SELECTION = {_Source(_rows_literal(stream)) if compared else stream!r}  "
                     "# one pass over the selected seed records")
    elif compared:
        lines.append(f"EXPECTED = {_rows_literal(_typed_rows(expected_rows(scenario, _dd_convert), column, compared))}")
    else:
        lines.append(f"EXPECTED = {[row[column] for row in expected_rows(scenario)]!r}")
    if deadlock(scenario, hang):
        lines.append(f"HANG_SECONDS = {hang_seconds or DEADLOCK_SECONDS:g}  "
                     "# a process of the chain that runs longer has hung")
    designer = f"    designer = DataDesigner(artifact_path=Path(base, \"artifacts\"){readers}{models})"
    lines += [
        "",
        "",
        "class Stop(BaseException):  # raised in the checkpoint callback: async swallows Exception",
        "    pass",
        *(["", "", *provider.provider_lines(scenario, hang == "row")] if provider.has_model_columns(scenario) else []),
        *(WORK_LINES if work else []),
        "",
        "",
        "def run(base, index, num_records, mode, stop):",
        *([f"    if index == {fresh[0]}:  # two runs that start fresh in one second share a directory (0.6 to 0.8)",
           "        time.sleep(1.02 - time.time() % 1)  # so this one starts just after a second begins"]
          if len(fresh) > 1 else []),
        *(['    Path(base, "seeds").mkdir(parents=True, exist_ok=True)'] if scenario.source != "dataframe" else []),
        *(_changed_run_lines(scenario) if changed else _source_lines(scenario)),
        # its DataDesigner() before its config: on a fresh installation the first one writes the
        # model defaults a config without model configs takes, and a config built before it has
        # none (a bug of its own, dd-first-run-of-an-installation-cannot-be-resumed)
        *([designer] if not scenario.fresh_home else []),
        *provider.builder_lines(scenario),
        *([f"    builder.with_seed_dataset(source, sampling_strategy=dd.SamplingStrategy.{sampling}, "
           "selection_strategy=selection)",
           f'    builder.add_column(dd.ExpressionColumnConfig(name="echo", expr="{{{{ {copied} }}}}" + inputs["echo"]))',
           '    if inputs["tag"]:',
           '        builder.add_column(dd.ExpressionColumnConfig(name="tag", '
           f"""expr="{{{{ '' if {copied} else '' }}}}" + inputs["tag"]))""",
           *provider.column_lines(scenario),
           *([designer] if scenario.fresh_home else []),
           f'    designer.set_run_config({run_config.format(size=BUFFER_SIZE_INPUT)})']
          if changed else
          [f"    builder.with_seed_dataset(source, sampling_strategy=dd.SamplingStrategy.{sampling}"
           f"{_selection(scenario)})",
           f'    builder.add_column(dd.ExpressionColumnConfig(name="echo", expr="{{{{ {column} }}}}"))',
           *provider.column_lines(scenario),
           *([designer] if scenario.fresh_home else []),
           f"    designer.set_run_config({run_config.format(size=scenario.buffer_size)})"]),
        "    seen = []",
        "    def on_checkpoint(path):",
        "        seen.append(path)",
        *(['        log(base, f"{index} {Path(path).name}")'] if work else []),
        "        if stop and len(seen) == stop[0]:",
        *_stop_lines(scenario, work),
        "    try:",
        '        if "on_batch_complete" in inspect.signature(designer.create).parameters:',
        f'            {"storage = " if fresh else ""}designer.create(builder, num_records=num_records, '
        'dataset_name="repro", resume=ResumeMode[mode],',
        f"                            {'' if not fresh else '       '}on_batch_complete=on_checkpoint)"
        f"{'.artifact_storage' if fresh else ''}",
        "        else:  # 0.6.0 has the callback only on the internal path that create() itself takes",
        '            provider = designer._create_resource_provider("repro", builder, resume=ResumeMode[mode])',
        "            dataset_builder = designer._create_dataset_builder(builder.build(), provider)",
        "            dataset_builder.build(num_records=num_records, on_batch_complete=on_checkpoint, "
        "resume=ResumeMode[mode])",
        *(["            storage = dataset_builder.artifact_storage",
           '        Path(base, "dataset.txt").write_text(str(storage.base_dataset_path))  # where this run wrote']
          if fresh else []),
        f"    except {'(Stop, KeyboardInterrupt)' if 'sigint' in _actions(scenario) else 'Stop'}:",
        "        pass",
        *(['    log(base, f"{index} end")'] if work else []),
        *(["    RETURNED.set()"] if _ctrl_c_on_engine_thread(scenario) else []),
        "",
        "",
        *(CROSS_RELEASE_LINES if _cross_release(scenario) else []),
        *(_typed_source_function(scenario) + ["", ""] if typed else []),
        "def rows(base):",
        *(['    written = Path(base, "dataset.txt")  # the dataset the last run wrote (a fresh run: its own)',
           '    where = Path(written.read_text()) if written.exists() else Path(base, "artifacts", "repro")']
          if fresh else []),
        *([f"    frame = ArtifactStorage({storage_at},",
           "                            resume=ResumeMode.ALWAYS).load_dataset()",
           "    return [tuple(cell(v) for v in row) for row in frame[COLUMNS].itertuples(index=False)]",
           "",
           "",
           "def cell(value):  # pandas' missing values (NaN, None, NaT) are null; numpy scalars Python values",
           "    if pd.api.types.is_scalar(value) and pd.isna(value):",
           "        return None",
           "    if isinstance(value, pd.Timestamp):",
           "        return value.to_pydatetime()",
           '    return value.item() if hasattr(value, "item") else value'] if compared else
          [f"    return ArtifactStorage({storage_at},",
           f'                           resume=ResumeMode.ALWAYS).load_dataset()["{column}"].tolist()']),
        *(WASTED if work else []),
    ]
    if scenario.sampling == "shuffle":
        lines += [
            "",
            "",
            "def exactly_once(values):",
            '    """Each pass of len(SELECTION) rows shows every seed record once; the count is right."""',
            "    n = len(SELECTION)",
            "    passes = [values[i:i + n] for i in range(0, len(values), n)]",
            "    whole = all(sorted(p, key=repr) == sorted(SELECTION, key=repr) for p in passes if len(p) == n)",
            "    return whole and all(len(set(p)) == len(p) for p in passes) and len(values) == SEGMENTS[-1][0]",
        ]
    return lines


def _final_index(scenario: Scenario) -> str:
    """The inputs the straight run reads: the initial ones, or with changes the last ones."""
    return "len(SEGMENTS) - 1" if has_changes(scenario) else "0"


def _groups_expr(scenario: Scenario) -> str:
    return "PROCESSES" if _same_process(scenario) else "[[i] for i in range(len(SEGMENTS))]"


def _trial(scenario: Scenario, indent: str, base: str, work: bool) -> list[str]:
    """Run the interrupted chain and the straight run under `base`; `actual`, `baseline`
    and, with `work`, `waste` (work done again, or after a segment had returned)."""
    separate = _separate(scenario)
    loop = [f'resumed = Path({base}, "resumed")'] if separate is not None or work else []
    resumed = "resumed" if loop else f'Path({base}, "resumed")'
    if separate is not None:
        loop += [
            f"for group in {_groups_expr(scenario)}:",
            *_if_separate(scenario, "    ", indent),
            f'        own_process([{"python_for(group[0])" if _cross_release(scenario) else "sys.executable"}, __file__, '
            '"--segments", ",".join(map(str, group)), str(resumed)], group[0])',
            "    else:",
            "        run(resumed, group[0], *SEGMENTS[group[0]])",
        ]
    else:
        loop += ["for i, segment in enumerate(SEGMENTS):", f"    run({resumed}, i, *segment)"]
    if provider.has_model_columns(scenario):
        loop.append('tell("reset")  # the uninterrupted run meets the provider as the chain\'s first segment did')
    loop += [
        *([f'own_process([python_for(len(SEGMENTS) - 1), __file__, "--straight", str(Path({base}, "straight"))])']
          if _cross_release(scenario) else
          [f'run(Path({base}, "straight"), {_final_index(scenario)}, SEGMENTS[-1][0], "NEVER", None)']),
        f'actual, baseline = {"read_rows" if _cross_release(scenario) else "rows"}({resumed}), '
        f'{"read_rows" if _cross_release(scenario) else "rows"}(Path({base}, "straight"))',
        *(["waste = wasted(resumed)"] if work else []),
    ]
    return [indent + line for line in loop]


def _env_line(scenario: Scenario) -> str:
    value, engine = ("0", "sync") if scenario.engine == "sync" else ("1", "async")
    return f'os.environ["DATA_DESIGNER_ASYNC_ENGINE"] = "{value}"  # {engine} engine (0.7.0 and later: async only)'


def _pandas_version() -> str:
    return importlib.metadata.version("pandas")


def _typed_literals(scenario: Scenario) -> str:
    """Every typed value literal a script holds (to know which modules they need)."""
    if not scenario.columns:
        return ""
    final = final_inputs(scenario)
    column, typed = value_column(scenario), [c.name for c in final.columns]
    texts = [typed_seed(inputs_at(scenario, i)) for i in range(len(scenario.segments))]
    texts.append(_rows_literal(_typed_rows(expected_rows(scenario, _dd_convert), column, typed)))
    texts.append(_rows_literal(_typed_rows([output_row(r, final) for r in record_stream(final, _dd_convert)],
                                           column, typed)))
    return "\n".join(texts)


def _stdlib(scenario: Scenario, test: bool = False, work: bool = False) -> list[str]:
    separate = _separate(scenario) is not None
    signals = bool(_actions(scenario) & set(_OWN_PROCESS))
    literals = _typed_literals(scenario)
    names = [*(["datetime"] if "datetime." in literals else []), *(["decimal"] if "decimal." in literals else []),
             "inspect", "os", *(["signal"] if signals else []), *(["subprocess"] if separate else []),
             *(["sys"] if separate or not test else []), *(["tempfile"] if not test else []),
             *(["asyncio", "time"] if work and separate and not test else []), *provider.stdlib_names(scenario),
             *(["threading"] if _ctrl_c_on_engine_thread(scenario) else []),
             *(["pickle"] if _cross_release(scenario) else [])]
    if provider.has_model_columns(scenario) or len(fresh_starts(scenario)) > 1:
        names.append("time")
    return [f"import {n}" for n in sorted(set(names), key=lambda n: n.lower())] + ["from pathlib import Path"]


#: a segment run in a process of its own waits, once its call has returned, until the async
#: engine's event loop (one per process, every release: `async_concurrency._loop`) has no task
#: left, so that the work it goes on doing shows whatever the machine's load (a fixed wait
#: of 0.5 s missed it on a loaded machine); a release that stopped its work costs nothing
_SETTLE = [
    "",
    "",
    "def settle(limit=10.0):  # until the engine's event loop has nothing left to do (at most `limit` s)",
    '    engine = sys.modules.get("data_designer.engine.dataset_builders.utils.async_concurrency")',
    '    loop = getattr(engine, "_loop", None)',
    "    if loop is None or not loop.is_running():  # no loop to ask (the sync engine)",
    "        time.sleep(0.5)",
    "        return",
    "",
    "    async def busy():",
    "        return any(t is not asyncio.current_task() for t in asyncio.all_tasks())",
    "",
    "    end = time.monotonic() + limit",
    "    while time.monotonic() < end and asyncio.run_coroutine_threadsafe(busy(), loop).result(timeout=limit):",
    "        time.sleep(0.05)",
]

#: tries of a reproducer whose bug is a crash the engine's threads' timing decides
CRASH_TRIES = 40
#: tries of a reproducer whose bug is a process that hangs on its threads' timing (a deadlock),
#: and how long one process of the chain may take before it counts as hung and is killed
DEADLOCK_TRIES = 6
DEADLOCK_SECONDS = 60


def deadlock(scenario: Scenario, hang: str) -> bool:
    """Whether a hang finding (`hang`: "row", a row retried without end, which the provider
    counts; "process", anything else; "" none) is a process that never ends (its threads
    deadlocked, or wait for ever with nothing asked) in a chain whose processes the script
    can give a deadline each."""
    return hang == "process" and _separate(scenario) is not None and not _cross_release(scenario)


def _deadlock_main(scenario: Scenario) -> list[str]:
    """A deadlock reproducer's main: the chain, each process of it with a deadline, up to
    `DEADLOCK_TRIES` times; a process that does not end in time is the bug (nothing else is:
    what its runs give is not this script's question)."""
    return [
        f"    for attempt in range({DEADLOCK_TRIES}):  # the threads' timing decides: on some runs only",
        "        with tempfile.TemporaryDirectory() as tmp:",
        '            resumed = Path(tmp, "resumed")',
        f"            for group in {_groups_expr(scenario)}:",
        *_if_separate(scenario, "                ", "    "),
        "                    try:",
        "                        subprocess.run([sys.executable, __file__, \"--segments\", \",\".join(map(str, group)),",
        "                                        str(resumed)], timeout=HANG_SECONDS)",
        "                    except subprocess.TimeoutExpired:  # subprocess.run killed it",
        '                        print(f"run {attempt + 1}: segments {group}, run in one process, did not end within "',
        '                              f"{HANG_SECONDS} s: the process hung")',
        "                        return 1",
        "                else:",
        "                    run(resumed, group[0], *SEGMENTS[group[0]])",
        f'    print("{DEADLOCK_TRIES} runs of the chain: every process ended")',
        "    return 0",
    ]


def _over_asked(hang: str, indent: str) -> list[str]:
    """After a trial of a hang reproducer: a prompt asked past the provider's limit is the bug."""
    if hang != "row":
        return []
    return [indent + line for line in (
        'for prompt, asked in Provider.state["over_asked"][:1]:',
        '    print(f"a run never ended: it asked for {prompt!r} {asked} times and would have gone on "',
        '          "(the provider then refused it, HTTP 400, so that create() could return)")',
        "    return 1")]


def render_dd_script(scenario: Scenario, release: str, summary: str, ident: str, work: bool = False,
                     crash: bool = False, hang: str = "", hang_seconds: float | None = None) -> str:
    """The standalone script; with `work`, it also fails on work done twice or late; with
    `crash`, the bug is a run that fails on its threads' timing: it is tried up to
    `CRASH_TRIES` times, and a run that raises inside DataDesigner is the bug; with `hang`
    "row", a run that never ends (it retries a row without end: the provider counts the
    requests and, past its limit, refuses the row so that the run returns) is the bug; with
    "process" (`deadlock`), a process of the chain that does not end within `hang_seconds`
    (default `DEADLOCK_SECONDS`).

    Exit 1 is the release failing the run and nothing else: an exception raised inside
    DataDesigner's code (`raised_by_data_designer`: its traceback passes through the
    `data_designer` package) is the release's; one raised by the script's own code is the
    script failing (exit 3, with its traceback), never a reproduction."""
    deps = [f"data-designer=={release}", f"pandas=={_pandas_version()}"]
    main = ["", "", "def main():"]
    main += [f"    {line}" for action, line in SIGNAL_DISPOSITION_LINES.items() if action in _actions(scenario)]
    if _cross_release(scenario):
        main += [
            '    while sys.argv[1:2] == ["--python"]:  # --python RELEASE=PATH: where each release is installed',
            '        release, _, path = sys.argv[2].partition("=")',
            "        PYTHONS[release] = path",
            "        del sys.argv[1:3]",
            '    if sys.argv[1:2] == ["--straight"]:  # the uninterrupted run, on the release the chain ends on',
            '        run(sys.argv[2], len(SEGMENTS) - 1, SEGMENTS[-1][0], "NEVER", None)',
            "        os._exit(0)",
            '    if sys.argv[1:2] == ["--rows"]:  # a dataset, as the release the chain ends on reads it',
            '        Path(sys.argv[3]).write_bytes(pickle.dumps(rows(sys.argv[2])))',
            "        os._exit(0)",
        ]
    if _separate(scenario) is not None:
        main += [
            '    if sys.argv[1:2] == ["--segments"]:  # segments that share a process of their own',
            '        for i in map(int, sys.argv[2].split(",")):',
            "            run(sys.argv[3], i, *SEGMENTS[i])",
            *(["        settle()  # what the engine still does once the call has returned shows now"]
              if work else []),
            "        os._exit(0)  # at once, as a crash ends it: no engine thread finishes its work at exit",
        ]
    divergence = [  # the resumed run's, or where it gives the expected rows, the uninterrupted run's
        'which, got = ("resumed", actual) if actual != EXPECTED else ("straight", baseline)',
        "row = next(i for i in range(len(EXPECTED) + 1) if got[i:i + 1] != EXPECTED[i:i + 1])",
        'print(f"first divergence at row {row}: {which} {got[row:row + 1]}, expected {EXPECTED[row:row + 1]}")',
    ]
    if deadlock(scenario, hang):
        main += _deadlock_main(scenario)
    elif scenario.sampling == "ordered" and work:
        main += [
            *(["    for _ in range(3):  # the engine's thread holds after Ctrl-C until the call has returned"]
              if _actions(scenario) <= {"sigint", "kill", "sigterm"} and _ctrl_c_on_engine_thread(scenario) else
              ["    for _ in range(12):  # work the engine's own threads do late shows on some runs only"]),
            "        with tempfile.TemporaryDirectory() as tmp:",
            *_trial(scenario, "            ", "tmp", work),
            '        print(f"resumed:  {actual}\\nstraight: {baseline}\\nexpected: {EXPECTED}")',
            "        for line in waste:",
            '            print(f"work wasted: {line}")',
            "        if not (actual == baseline == EXPECTED and not waste):",
            "            if actual != EXPECTED:",
            *("                " + d for d in divergence),
            "            return 1",
            "    return 0",
        ]
    elif scenario.sampling == "ordered" and crash:
        main += [
            f"    for _ in range({CRASH_TRIES}):  # the run fails on its engine's threads' timing: on some runs only",
            "        with tempfile.TemporaryDirectory() as tmp:",
            "            try:",
            *_trial(scenario, "                ", "tmp", work),
            "            except Exception as exc:  # noqa: BLE001 - the run itself failing is the bug",
            "                if not (isinstance(exc, SegmentFailed) or raised_by_data_designer(exc)):",
            "                    raise",
            '                print(f"a run failed: {type(exc).__name__}: {exc}")',
            "                return 1",
            '        print(f"resumed:  {actual}\\nstraight: {baseline}\\nexpected: {EXPECTED}")',
            "        if not actual == baseline == EXPECTED:",
            *("            " + d for d in divergence),
            "            return 1",
            "    return 0",
        ]
    elif scenario.sampling == "ordered":
        main += [
            "    with tempfile.TemporaryDirectory() as tmp:",
            *_trial(scenario, "        ", "tmp", work),
            '    print(f"resumed:  {actual}\\nstraight: {baseline}\\nexpected: {EXPECTED}")',
            *_over_asked(hang, "    "),
            "    if actual == baseline == EXPECTED:",
            "        return 0",
            *("    " + d for d in divergence),
            "    return 1",
        ]
    else:
        main += [
            "    for _ in range(12):  # SHUFFLE is unseeded: the bug shows on some runs only",
            "        with tempfile.TemporaryDirectory() as tmp:",
            *_trial(scenario, "            ", "tmp", work),
            '        print(f"resumed:  {actual}\\nstraight: {baseline}")',
            *_over_asked(hang, "        "),
            *(["        for line in waste:", '            print(f"work wasted: {line}")'] if work else []),
            f"        if not (exactly_once(actual) and exactly_once(baseline)){' or waste' if work else ''}:",
            '            print(f"a pass of {len(SELECTION)} rows repeats a seed record or misses one: "',
            '                  f"each pass should be a permutation of {sorted(SELECTION)}")',
            "            return 1",
            "    return 0",
        ]
    exit_codes = (EXIT_CODES.replace("0: the rows agree", "0: every process of the chain ended")
                  if deadlock(scenario, hang) else EXIT_CODES)
    lines = [
        *_header(f"data-designer {release}", summary, deps, exit_codes=exit_codes + "; 3: the script itself failed"),
        *sorted({*_stdlib(scenario, work=work)[:-1], "import traceback"}, key=str.lower),
        _stdlib(scenario, work=work)[-1],
        "",
        _env_line(scenario),
        *provider.hermetic_lines(scenario),
        "",
        "try:",
        *_imports(scenario),
        "except ImportError as exc:",
        '    print(f"cannot run here: {exc}", file=sys.stderr)',
        "    sys.exit(2)",
        "",
        *dd_core(scenario, work, hang, hang_seconds),
        "",
        "",
        "def raised_by_data_designer(exc):  # its traceback passes through DataDesigner's code: the release's",
        '    return any("data_designer" in Path(f.filename).parts for f in traceback.extract_tb(exc.__traceback__))',
        *(_own_process_lines(scenario, script=True) if _separate(scenario) is not None else []),
        *(_SETTLE if work and _separate(scenario) is not None else []),
        *main,
        "",
        "",
        'if __name__ == "__main__":',
        "    try:",
        "        sys.exit(main())",
        *(["    except Refused as exc:",
           '        print(f"the resume was refused after a change: {exc}: refusing is a correct answer to a change")',
           "        sys.exit(0)"] if _separate(scenario) is not None and _refusable(scenario) else []),
        "    except Exception as exc:  # noqa: BLE001 - exit 1 only where DataDesigner raised it: the release failed",
        "        traceback.print_exc()",
        f"        sys.exit(1 if {'isinstance(exc, SegmentFailed) or ' if _separate(scenario) is not None else ''}"
        "raised_by_data_designer(exc) else 3)",
    ]
    return _marked_long_lines("\n".join(lines) + "\n")



def render_dd_test(scenario: Scenario, release: str, summary: str, ident: str, work: bool = False,
                   crash: bool = False, hang: str = "", hang_seconds: float | None = None) -> str:
    separate = _separate(scenario)
    cross = _cross_release(scenario)
    waste = " and not waste" if work else ""
    check = (f"    assert actual == baseline == EXPECTED{waste}" if scenario.sampling == "ordered"
             else f"    assert exactly_once(actual) and exactly_once(baseline){waste}")
    lines = [
        *_docstring(f"Regression test: {summary} Found by resume-harness {harness.__version__} ({ident}) on "
                    f"data-designer {release}; fails while the bug exists (under SHUFFLE, on the runs where the "
                    "resumed reader's new permutation shows it)."),
        '"""',
        "",
        "from __future__ import annotations",
        "",
        *_stdlib(scenario, test=True),
        "",
        *[line.strip() for line in _imports(scenario)],
        "",
        _env_line(scenario),
        *provider.hermetic_lines(scenario),
        "",
        *dd_core(scenario, work, hang, hang_seconds),
        *(["", "", "# where each other release is installed: DD_PYTHONS=0.6.0=/path/to/python,0.6.1=/path/to/python",
           'PYTHONS.update(p.split("=", 1) for p in os.environ.get("DD_PYTHONS", "").split(",") if "=" in p)']
          if cross else []),
        *(_own_process_lines(scenario, script=False) if separate is not None and not deadlock(scenario, hang) else []),
        "",
        "",
        "def test_resume_matches_uninterrupted_run(tmp_path: Path) -> None:",
    ]
    if separate is not None:
        lines += [
            f"    for group in {_groups_expr(scenario)}:",
            *_if_separate(scenario, "        "),
            '            code = f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "',
            '            code += f"import {Path(__file__).stem} as t; "',
            "            code += f\"[t.run({str(tmp_path / 'resumed')!r}, i, *t.SEGMENTS[i]) for i in {group!r}]\"",
            '            code += "; import os; os._exit(0)"  # at once, as a crash ends it',
            *([f'            subprocess.run([{"python_for(group[0])" if cross else "sys.executable"}, "-c", code]'
               ", timeout=HANG_SECONDS)  # a process that hangs fails the test"] if deadlock(scenario, hang) else
              ["            try:",
               f'                own_process([{"python_for(group[0])" if cross else "sys.executable"}, "-c", code], '
               "group[0])",
               "            except Refused:  # a resume after a change, refused: a correct answer",
               "                return"] if _refusable(scenario) else
              [f'            own_process([{"python_for(group[0])" if cross else "sys.executable"}, "-c", code], '
               "group[0])"]),
            "        else:",
            '            run(tmp_path / "resumed", group[0], *SEGMENTS[group[0]])',
            *(['    code = f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "',
               '    code += f"import {Path(__file__).stem} as t; "',
               "    code += f\"t.run({str(tmp_path / 'straight')!r}, len(t.SEGMENTS) - 1, t.SEGMENTS[-1][0], 'NEVER', None)\"",
               '    own_process([python_for(len(SEGMENTS) - 1), "-c", code])  # on the release the chain ends on']
              if cross else
              [*(['    tell("reset")'] if provider.has_model_columns(scenario) else []),
               f'    run(tmp_path / "straight", {_final_index(scenario)}, SEGMENTS[-1][0], "NEVER", None)']),
            f'    actual, baseline = {"read_rows" if cross else "rows"}(tmp_path / "resumed"), '
            f'{"read_rows" if cross else "rows"}(tmp_path / "straight")',
            *(['    waste = wasted(tmp_path / "resumed")'] if work else []),
        ]
    elif crash:  # a run that fails on its threads' timing: tried up to CRASH_TRIES times, a raise fails the test
        lines += [f"    for attempt in range({CRASH_TRIES}):", '        base = tmp_path / str(attempt)',
                  *_trial(scenario, "        ", "base", work), "    " + check]
        return _marked_long_lines("\n".join(lines) + "\n")
    else:
        lines += _trial(scenario, "    ", "tmp_path", work)
    if hang == "row":  # a run that retried a row without end (the provider refused it past its limit)
        lines.append('    assert not Provider.state["over_asked"], Provider.state["over_asked"]')
    lines.append(check)
    return _marked_long_lines("\n".join(lines) + "\n")
