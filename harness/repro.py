"""The reproducer generator: from a finding to what a maintainer runs and reads.

For a DataDesigner finding it writes a script that needs nothing but DataDesigner (no
import of this package), an issue text in the shape of upstream issue #709, and a
regression test in the style of DataDesigner's own tests. For a mutant of the reference
the script imports the harness, since the mutant lives there.

Scripts exit 1 when the bug reproduces, 0 when the rows agree, 2 when they cannot run
(DataDesigner missing, or an API it lacks), so they work as interestingness tests.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import harness
from harness.checker import Verdict
from harness.names import checked_name, identifier
from harness.reference.model import expected_rows, record_stream
from harness.scenario import IndexRange, PartitionBlock, Scenario

SCRIPT_TIMEOUT = 600


@dataclass(frozen=True)
class Reproducer:
    id: str
    script: str
    test: str
    #: the report, less its "Versions checked" section (filled in by running the script)
    report: str


def finding_id(scenario: Scenario, target_name: str) -> str:
    digest = hashlib.sha1((target_name + scenario.to_json()).encode()).hexdigest()[:8]
    return f"{target_name.split(':')[0]}-{digest}"


def value_column(scenario: Scenario) -> str:
    return "line" if scenario.source == "directory" else "name"


# ----- DataDesigner scripts -------------------------------------------------------------------
def _seed_table(scenario: Scenario) -> str:
    ids = [s.seed_id for s in scenario.seeds]
    names = [s.name for s in scenario.seeds]
    return f'pd.DataFrame({{"seed_id": {ids}, "name": {names!r}}})'


def _source_lines(scenario: Scenario) -> list[str]:
    """Lines of `config(base)` that make the seed source."""
    if scenario.source == "dataframe":
        return [f"    source = DataFrameSeedSource(df={_seed_table(scenario)})"]
    if scenario.source == "directory":
        files = {f"{i:05d}-{s.seed_id}-{s.name}.txt": "".join(line + "\n" for line in s.lines)
                 for i, s in enumerate(scenario.seeds)}
        return [
            f"    for name, text in {files!r}.items():",
            "        Path(base, name).write_text(text)",
            '    source = DirectorySeedSource(path=str(base), file_pattern="*.txt")',
        ]
    writer = {"parquet": "to_parquet(path, index=False)", "csv": "to_csv(path, index=False)",
              "jsonl": 'to_json(path, orient="records", lines=True)'}[scenario.source]
    return [
        f'    path = Path(base, "seeds.{scenario.source}")',
        f"    {_seed_table(scenario)}.{writer}",
        "    source = LocalFileSeedSource(path=str(path))",
    ]


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


def _uses_kill(scenario: Scenario) -> bool:
    return any(s.fault is not None and s.fault.action == "kill" for s in scenario.segments)


def _separate(scenario: Scenario) -> str | None:
    """Which stopped segments the script runs in a process of their own, as a condition on
    `segment`, or None when every segment runs in the script's process. A SIGKILL needs a
    process to kill; on the async engine every stopped segment gets one, because the engine's
    event loop is one thread per process, shared by every create(), and an interrupted run's
    tasks would go on into the next segment's run (docs/datadesigner.md)."""
    if scenario.engine == "async" and any(s.fault is not None for s in scenario.segments):
        return "segment[2]"
    if _uses_kill(scenario):
        return 'segment[2] and segment[2][1] == "kill"'
    return None


def _separate_comment(scenario: Scenario) -> str:
    if scenario.engine == "async":
        return "  # its end stops the async engine's loop, as a crash would"
    return "  # SIGKILL needs a process of its own"


def _uses_tear(scenario: Scenario) -> bool:
    return any(s.fault is not None and s.fault.action == "tear" for s in scenario.segments)


def dd_core(scenario: Scenario) -> list[str]:
    """What the script and the regression test share: the segments, what a correct run
    gives, one segment's run (config included), and the rows read back."""
    column = value_column(scenario)
    stream = [row[column] for row in record_stream(scenario)]
    sampling = "ORDERED" if scenario.sampling == "ordered" else "SHUFFLE"
    readers = ", seed_readers=[LineFanoutDirectorySeedReader()]" if scenario.source == "directory" else ""
    segments = f"SEGMENTS = {_segments(scenario)}"
    legend = "# (num_records, resume mode, stop at (checkpoint, action))"
    lines = [f"{segments}  {legend}"] if len(segments) + len(legend) < 118 else [legend, segments]
    if scenario.sampling == "shuffle":
        lines.append(f"SELECTION = {stream!r}  # one pass over the selected seed records")
    else:
        lines.append(f"EXPECTED = {[row[column] for row in expected_rows(scenario)]!r}")
    lines += [
        "",
        "",
        "class Stop(BaseException):  # raised in the checkpoint callback: async swallows Exception",
        "    pass",
        "",
        "",
        "def run(base, num_records, mode, stop):",
        *(['    Path(base, "seeds").mkdir(parents=True, exist_ok=True)'] if scenario.source != "dataframe" else []),
        *_source_lines(scenario),
        "    builder = dd.DataDesignerConfigBuilder()",
        f"    builder.with_seed_dataset(source, sampling_strategy=dd.SamplingStrategy.{sampling}"
        f"{_selection(scenario)})",
        f'    builder.add_column(dd.ExpressionColumnConfig(name="echo", expr="{{{{ {column} }}}}"))',
        f"    designer = DataDesigner(artifact_path=Path(base, \"artifacts\"){readers})",
        f"    designer.set_run_config(dd.RunConfig(disable_early_shutdown=True, buffer_size={scenario.buffer_size}))",
        "    seen = []",
        "    def on_checkpoint(path):",
        "        seen.append(path)",
        "        if stop and len(seen) == stop[0]:",
    ]
    if _uses_tear(scenario):
        lines += ['            if stop[1] == "tear":  # what a power cut after an un-fsynced rename leaves',
                  "                os.truncate(path, os.path.getsize(path) // 2)"]
    if _uses_kill(scenario):
        lines += ['            if stop[1] == "kill":',
                  "                os.kill(os.getpid(), signal.SIGKILL)"]
    lines += [
        "            raise Stop",
        "    try:",
        '        if "on_batch_complete" in inspect.signature(designer.create).parameters:',
        '            designer.create(builder, num_records=num_records, dataset_name="repro", resume=ResumeMode[mode],',
        "                            on_batch_complete=on_checkpoint)",
        "        else:  # 0.6.0 has the callback only on the internal path that create() itself takes",
        '            provider = designer._create_resource_provider("repro", builder, resume=ResumeMode[mode])',
        "            dataset_builder = designer._create_dataset_builder(builder.build(), provider)",
        "            dataset_builder.build(num_records=num_records, on_batch_complete=on_checkpoint, "
        "resume=ResumeMode[mode])",
        "    except Stop:",
        "        pass",
        "",
        "",
        "def rows(base):",
        '    return ArtifactStorage(artifact_path=Path(base, "artifacts"), dataset_name="repro",',
        f'                           resume=ResumeMode.ALWAYS).load_dataset()["{column}"].tolist()',
    ]
    if scenario.sampling == "shuffle":
        lines += [
            "",
            "",
            "def exactly_once(values):",
            '    """Each pass of len(SELECTION) rows shows every seed record once; the count is right."""',
            "    n = len(SELECTION)",
            "    passes = [values[i:i + n] for i in range(0, len(values), n)]",
            "    whole = all(sorted(p) == sorted(SELECTION) for p in passes if len(p) == n)",
            "    return whole and all(len(set(p)) == len(p) for p in passes) and len(values) == SEGMENTS[-1][0]",
        ]
    return lines


def _trial(scenario: Scenario, indent: str, base: str) -> list[str]:
    """Run the interrupted chain and the straight run under `base`; `actual`, `baseline`."""
    separate = _separate(scenario)
    if separate is not None:
        loop = [
            "for i, segment in enumerate(SEGMENTS):",
            f"    if {separate}:{_separate_comment(scenario)}",
            f'        subprocess.run([sys.executable, __file__, "--segment", str(i), str(Path({base}, "resumed"))])',
            "    else:",
            f'        run(Path({base}, "resumed"), *segment)',
        ]
    else:
        loop = ["for segment in SEGMENTS:", f'    run(Path({base}, "resumed"), *segment)']
    loop += [
        f'run(Path({base}, "straight"), SEGMENTS[-1][0], "NEVER", None)',
        f'actual, baseline = rows(Path({base}, "resumed")), rows(Path({base}, "straight"))',
    ]
    return [indent + line for line in loop]


def _env_line(scenario: Scenario) -> str:
    value, engine = ("0", "sync") if scenario.engine == "sync" else ("1", "async")
    return f'os.environ["DATA_DESIGNER_ASYNC_ENGINE"] = "{value}"  # {engine} engine (0.7.0 and later: async only)'


def _docstring(text: str) -> list[str]:
    """The opening lines of a docstring (the caller closes it)."""
    lines = textwrap.wrap(text, width=110, break_on_hyphens=False)
    lines[0] = '"""' + lines[0]
    return lines


EXIT_CODES = "Exit code 1: the bug reproduces; 0: the rows agree; 2: it cannot run here"


def _header(found_on: str, summary: str, deps: list[str], extra: tuple[str, ...] = (),
            exit_codes: str = EXIT_CODES) -> list[str]:
    return [
        "# /// script",
        '# requires-python = ">=3.10"',
        f"# dependencies = {json.dumps(deps)}",
        "# ///",
        f'"""Resume reproducer: {summary} (resume-harness {harness.__version__}, {found_on}).',
        *extra,
        f'{exit_codes}."""',
    ]


def render_dd_script(scenario: Scenario, release: str, summary: str, ident: str) -> str:
    deps = [f"data-designer=={release}", f"pandas=={_pandas_version()}"]
    processes = ["import subprocess"] if _separate(scenario) is not None else []
    kill = ["import signal"] if _uses_kill(scenario) else []
    stdlib = ["import inspect", "import os", *kill, *processes, "import sys", "import tempfile",
              "from pathlib import Path"]
    main = ["", "", "def main():"]
    if processes:
        main += [
            '    if sys.argv[1:2] == ["--segment"]:  # one segment, in a process of its own',
            "        run(sys.argv[3], *SEGMENTS[int(sys.argv[2])])",
            "        os._exit(0)  # at once, as a crash ends it: no engine thread finishes its work at exit",
        ]
    if scenario.sampling == "ordered":
        main += [
            "    with tempfile.TemporaryDirectory() as tmp:",
            *_trial(scenario, "        ", "tmp"),
            '    print(f"resumed:  {actual}\\nstraight: {baseline}\\nexpected: {EXPECTED}")',
            "    if actual == baseline == EXPECTED:",
            "        return 0",
            "    row = next(i for i in range(len(EXPECTED) + 1) if actual[i:i + 1] != EXPECTED[i:i + 1])",
            '    print(f"first divergence at row {row}: resumed {actual[row:row + 1]}, '
            'expected {EXPECTED[row:row + 1]}")',
            "    return 1",
        ]
    else:
        main += [
            "    for _ in range(12):  # SHUFFLE is unseeded: the bug shows on some runs only",
            "        with tempfile.TemporaryDirectory() as tmp:",
            *_trial(scenario, "            ", "tmp"),
            '        print(f"resumed:  {actual}\\nstraight: {baseline}")',
            "        if not (exactly_once(actual) and exactly_once(baseline)):",
            '            print(f"a pass of {len(SELECTION)} rows repeats a seed record or misses one: "',
            '                  f"each pass should be a permutation of {sorted(SELECTION)}")',
            "            return 1",
            "    return 0",
        ]
    lines = [
        *_header(f"data-designer {release}", summary, deps),
        *stdlib,
        "",
        _env_line(scenario),
        "",
        "try:",
        *_imports(scenario),
        "except ImportError as exc:",
        '    print(f"cannot run here: {exc}", file=sys.stderr)',
        "    sys.exit(2)",
        "",
        *dd_core(scenario),
        *main,
        "",
        "",
        'if __name__ == "__main__":',
        "    sys.exit(main())",
    ]
    return "\n".join(lines) + "\n"


def render_dd_test(scenario: Scenario, release: str, summary: str, ident: str) -> str:
    separate = _separate(scenario)
    check = ("    assert actual == baseline == EXPECTED" if scenario.sampling == "ordered"
             else "    assert exactly_once(actual) and exactly_once(baseline)")
    lines = [
        *_docstring(f"Regression test: {summary} Found by resume-harness {harness.__version__} ({ident}) on "
                    f"data-designer {release}; fails while the bug exists (under SHUFFLE, on the runs where the "
                    "resumed reader's new permutation shows it)."),
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "import inspect",
        "import os",
        *(["import signal"] if _uses_kill(scenario) else []),
        *(["import subprocess", "import sys"] if separate is not None else []),
        "from pathlib import Path",
        "",
        *[line.strip() for line in _imports(scenario)],
        "",
        _env_line(scenario),
        "",
        *dd_core(scenario),
        "",
        "",
        "def test_resume_matches_uninterrupted_run(tmp_path: Path) -> None:",
    ]
    if separate is not None:
        lines += [
            "    for i, segment in enumerate(SEGMENTS):",
            f"        if {separate}:{_separate_comment(scenario)}",
            '            code = f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "',
            '            code += f"import {Path(__file__).stem} as t; t.run({str(tmp_path / \'resumed\')!r}, *t.SEGMENTS[{i}])"',
            '            code += "; import os; os._exit(0)"  # at once, as a crash ends it',
            '            subprocess.run([sys.executable, "-c", code])',
            "        else:",
            '            run(tmp_path / "resumed", *segment)',
            '    run(tmp_path / "straight", SEGMENTS[-1][0], "NEVER", None)',
            '    actual, baseline = rows(tmp_path / "resumed"), rows(tmp_path / "straight")',
        ]
    else:
        lines += [line.replace("Path(tmp_path, ", "Path(tmp_path, ") for line in _trial(scenario, "    ", "tmp_path")]
    lines.append(check)
    return "\n".join(lines) + "\n"


# ----- mutant scripts ------------------------------------------------------------------------
def harness_requirements() -> list[str]:
    """What the harness needs from the package registry (never the harness itself, which
    is not published there): its declared dependencies, less the test extras."""
    try:
        requires = importlib.metadata.requires("resume-harness") or []
    except importlib.metadata.PackageNotFoundError:  # imported from a bare copy
        requires = []
    found = [r for r in requires if "extra ==" not in r]
    return found or ["hypothesis>=6.100", "pytest>=7.4", "pytest-xdist>=3.5", "pandas>=2.0", "pyarrow>=15",
                     "rich>=13.0", "typer>=0.12"]


def harness_location() -> str:
    """The directory that holds this harness's `harness` package (a checkout, or site-packages)."""
    return str(Path(harness.__file__).resolve().parent.parent)


def render_harness_script(scenario: Scenario, target_name: str, summary: str, ident: str) -> str:
    """A script for a target that lives in the harness (a mutant) or beside it. The harness is
    not on the package registry, so the script finds it by path (HARNESS, where it ran when
    the script was written) and lists only what the registry serves as dependencies."""
    lines = [
        *_header(target_name, summary, harness_requirements(), (
            f"Run: uv run repro_{ident}.py, or python repro_{ident}.py where the dependencies above are installed.",),
            exit_codes=EXIT_CODES + "; 3: the script itself failed"),
        "import sys",
        "import traceback",
        "",
        "# resume-harness is not on the package registry: it is imported from here when it is not installed",
        f"HARNESS = {harness_location()!r}",
        "",
        "try:",
        "    import harness  # noqa: F401",
        "except ImportError:",
        "    sys.path.append(HARNESS)",
        "try:",
        "    from harness.property import check_scenario",
        "    from harness.scenario import Scenario",
        "    from harness.targets.registry import get_target",
        "except ImportError as exc:",
        '    print(f"cannot run here: {exc}; install resume-harness from its checkout (pip install PATH) "',
        '          f"or put it at {HARNESS}", file=sys.stderr)',
        "    sys.exit(2)",
        "",
        f"TARGET = {target_name!r}",
        f"SCENARIO = {scenario.to_json()!r}",
        "",
        "",
        "def main():",
        "    verdict = check_scenario(get_target(TARGET), Scenario.from_json(SCENARIO))",
        f'    print("resumed: ", [row["{value_column(scenario)}"] for row in verdict.actual])',
        f'    print("straight:", [row["{value_column(scenario)}"] for row in verdict.straight])',
        f'    print("expected:", [row["{value_column(scenario)}"] for row in verdict.expected])',
        "    print(verdict.summary())",
        "    return 0 if verdict.ok else 1",
        "",
        "",
        'if __name__ == "__main__":',
        "    try:",
        "        sys.exit(main())",
        "    except Exception:  # the script's own failure is not the bug reproducing",
        "        traceback.print_exc()",
        "        sys.exit(3)",
    ]
    return "\n".join(lines) + "\n"


def render_harness_test(scenario: Scenario, target_name: str, summary: str, ident: str) -> str:
    return "\n".join([
        f'"""Regression test: {summary} (resume-harness finding {ident})."""',
        "",
        "from harness.property import check_scenario",
        "from harness.scenario import Scenario",
        "from harness.targets.registry import get_target",
        "",
        f"SCENARIO = {scenario.to_json()!r}",
        "",
        "",
        f"def test_resume_matches_uninterrupted_run_{identifier(ident)}() -> None:",
        f"    verdict = check_scenario(get_target({target_name!r}), Scenario.from_json(SCENARIO))",
        "    assert verdict.ok, verdict.summary()",
    ]) + "\n"


# ----- the report ---------------------------------------------------------------------------
IMPACT = {
    "duplicated": "A resumed run silently repeats seed records that completed checkpoints already hold and "
                  "reports a successful resume; where seed identity matters (one document, one row), a record "
                  "is processed twice and another is lost.",
    "lost": "Records a correct run produces are missing from the resumed dataset, and nothing reports it.",
    "skipped": "The resumed reader jumps ahead: seed records are skipped without an error.",
    "short": "The resumed dataset has fewer records than asked for, and the run reports success.",
    "reordered": "The resumed dataset has the right records in a different order than an uninterrupted run.",
    "unexpected": "The resumed dataset contains records that an uninterrupted run never produces.",
    "torn": "A checkpoint damaged by a crash is kept, and the dataset cannot be read back.",
    "error": "A resume that should continue the run refuses or crashes instead.",
    "hang": "A resumed run does not finish.",
    "ghost": "Work goes on after the call that was interrupted has returned or raised: files of the dataset are "
             "written while the user believes the run has stopped, and a resume started then (a notebook cell run "
             "again) races with it.",
    "redone": "A resume throws away completed row groups and generates them again: the rows come out right, "
              "and the work already paid for (with model-backed columns, real money) is paid again.",
}


def render_report(scenario: Scenario, target_name: str, release: str, verdict: Verdict, script: str,
                  script_name: str, explanation: str | None = None) -> str:
    column = value_column(scenario)
    first = verdict.anomalies[0]
    engine = f"{scenario.engine} engine"
    lines = [
        f"# Resume gives different rows than an uninterrupted run: {first.kind} "
        f"({_target_words(target_name, release, scenario)})",
        "",
        "## Summary",
        "",
        f"With ResumeMode.{_resume_mode(scenario)} on the {engine}, {_summary(scenario, verdict)}",
        "",
        "## Versions checked",
        "",
        "{versions}",
        "",
        "## Minimal repro",
        "",
        f"{scenario.describe()}.",
        "",
        "```python",
        script.rstrip(),
        "```",
        "",
        f"Run it with `python {script_name}` in an environment with DataDesigner installed, or with "
        f"`uv run {script_name}`, which installs the pinned versions from the header.",
        "",
        "## Actual vs Expected",
        "",
        "Actual output (resumed run):",
        "",
        f"    {[row.get(column) for row in verdict.actual]!r}",
        "",
        "Output of the same config run without interruption:",
        "",
        f"    {[row.get(column) for row in verdict.straight]!r}",
        "",
    ]
    if scenario.sampling == "ordered":
        lines += ["Expected output:", "", f"    {[row.get(column) for row in verdict.expected]!r}", ""]
    else:
        lines += ["Expected: every pass over the selection is a permutation of it (SHUFFLE), as an "
                  "uninterrupted run gives.", ""]
    lines += ["## Why this happens", "",
              "The run is a chain of *segments*, each one call of the pipeline against the same dataset: segment 0 "
              "is interrupted, each later one resumes it. Row by row, against what an uninterrupted run gives:", ""]
    lines += ["- " + a.line() + "." for a in verdict.anomalies]
    if explanation:
        lines += ["", explanation]
    lines += ["", "## Impact", "", IMPACT.get(first.kind, "")]
    return "\n".join(lines) + "\n"


def _target_words(target_name: str, release: str, scenario: Scenario) -> str:
    if target_name.startswith("data_designer"):
        return f"DataDesigner {release}, {scenario.engine} engine"
    return f"{target_name}, resume-harness {release}"


def _resume_mode(scenario: Scenario) -> str:
    return scenario.segments[1].resume.upper() if len(scenario.segments) > 1 else "NEVER"


def _summary(scenario: Scenario, verdict: Verdict) -> str:
    first = verdict.anomalies[0]
    faults = "; ".join(f"segment {s}: {d}" for s, d in verdict.faults_fired) or "no fault fired"
    return (f"a run interrupted ({faults}) and resumed ends with {first.kind} rows: {first.detail} "
            f"({len(verdict.actual)} rows, {len(verdict.expected)} asked for).")


# ----- running scripts in release environments ---------------------------------------------------
def versions_checked(script_path: Path, releases: list[tuple[str, Path]]) -> list[tuple[str, int]]:
    """(release, exit code) of the script run by each release environment's Python."""
    results = []
    for release, python in releases:
        try:
            code = subprocess.run([str(python), str(script_path)], capture_output=True, text=True,
                                  timeout=SCRIPT_TIMEOUT).returncode
        except subprocess.TimeoutExpired:
            code = 2
        results.append((release, code))
    return results


def versions_text(results: list[tuple[str, int]], engine: str) -> str:
    words = {0: "passes", 1: "fails (reproduces)", 2: "cannot run"}
    if not results:
        return "- none: no release environment was available to run the script in"
    lines = []
    for release, code in results:
        where = (f"data-designer=={release} ({engine} engine where the release has it)" if release[:1].isdigit()
                 else release)
        lines.append(f"- {where}: {words.get(code, f'exit {code}')}")
    return "\n".join(lines)


def _pandas_version() -> str:
    return importlib.metadata.version("pandas")


def build(scenario: Scenario, target_name: str, release: str, verdict: Verdict, ident: str | None = None,
          explanation: str | None = None) -> Reproducer:
    ident = checked_name(ident or finding_id(scenario, target_name), "finding id", "mutant-93757431")
    summary = f"{verdict.anomalies[0].kind} rows after a resume"
    script_name = f"repro_{ident}.py"
    if target_name.startswith("data_designer"):
        script = render_dd_script(scenario, release, summary, ident)
        test = render_dd_test(scenario, release, summary, ident)
    else:
        script = render_harness_script(scenario, target_name, summary, ident)
        test = render_harness_test(scenario, target_name, summary, ident)
    report = render_report(scenario, target_name, release, verdict, script, script_name, explanation)
    return Reproducer(ident, script, test, report)


def write(out_dir: Path, reproducer: Reproducer, versions: list[tuple[str, int]], engine: str) -> list[Path]:
    """Write the script, the regression test and the report (with the versions checked)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    script = out_dir / f"repro_{reproducer.id}.py"
    test = out_dir / f"test_regression_{identifier(reproducer.id)}.py"
    report = out_dir / f"report_{reproducer.id}.md"
    script.write_text(reproducer.script, encoding="utf-8")
    test.write_text(reproducer.test, encoding="utf-8")
    report.write_text(reproducer.report.replace("{versions}", versions_text(versions, engine)), encoding="utf-8")
    return [script, test, report]


def write_for(out_dir: Path, scenario: Scenario, target: Any, verdict: Verdict, ident: str | None = None,
              explanation: str | None = None, say: Callable[[str], Any] = print,
              all_environments: bool = True) -> list[Path]:
    """Render the reproducer for `target`, run it in every release environment present
    (for DataDesigner, unless `all_environments` is off; else in this interpreter), and
    write script, test and report."""
    from harness import environments

    reproducer = build(scenario, target.name, target.version, verdict, ident=ident, explanation=explanation)
    out_dir.mkdir(parents=True, exist_ok=True)
    script = out_dir / f"repro_{reproducer.id}.py"
    script.write_text(reproducer.script, encoding="utf-8")
    if target.name.startswith("data_designer"):
        releases = [(name, environments.env_python(name)) for name, _version in environments.ready_envs()]
        if not all_environments or not releases:
            releases = [(target.version, Path(sys.executable))]
    else:
        releases = [(f"{target.name} (resume-harness {harness.__version__})", Path(sys.executable))]
    say(f"checking the reproducer in {len(releases)} environment(s)")
    return write(out_dir, reproducer, versions_checked(script, releases), scenario.engine)
