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
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import harness
from harness.changes import changes_inputs, has_changes
from harness.checker import Verdict
from harness.names import checked_name, identifier
from harness.provider import RETRIED_WITHOUT_END
from harness.scenario import Scenario

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
    """The column a script compares: the copied seed column, or, when the inputs change
    along the chain, the `echo` column (the copied column and its expression's suffix)."""
    if changes_inputs(scenario):
        return "echo"
    return copied_column(scenario)


def copied_column(scenario: Scenario) -> str:
    return "line" if scenario.source == "directory" else "name"


# ----- what every script shares ----------------------------------------------------------------
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
TITLES = {
    "rows": "Resume gives different rows than an uninterrupted run",
    "ghost": "An interrupted run goes on writing the dataset after it has returned",
    "redone": "Resume generates completed row groups again",
    "mixed": "A resume after the inputs changed gives a dataset no uninterrupted run gives",
    "uninterrupted": "A run fails without any interruption",
    "hang": "A resumed run never ends",
}

IMPACT = {
    "mixed": "After the seed data or the config changed between an interruption and its resume, the resume "
             "neither refuses nor starts over: it reports success on a dataset that holds rows made from the old "
             "inputs (next to rows made from the new ones), which no uninterrupted run of either produces. It "
             "looks finished.",
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


#: where the uninterrupted run shows the same anomaly: what it costs, resume or not
IMPACT_UNINTERRUPTED = {
    "error": "Not specific to resuming: every run of this config and seed data fails, interrupted or not, and "
             "the dataset cannot be generated at all.",
    "torn": "Not specific to resuming: every run of this config and seed data writes a dataset that cannot be "
            "read back, interrupted or not.",
}


def render_report(scenario: Scenario, target_name: str, release: str, verdict: Verdict, script: str,
                  script_name: str, explanation: str | None = None) -> str:
    column = value_column(scenario)
    first = verdict.anomalies[0]
    straight = _uninterrupted_too(verdict)
    engine = f"{scenario.engine} engine"
    title = TITLES["uninterrupted"] if straight else TITLES.get(first.kind, TITLES['rows'])
    impact = IMPACT_UNINTERRUPTED.get(first.kind, "Not specific to resuming: every run of this config and seed data "
                                      "meets it, interrupted or not. " + IMPACT.get(first.kind, "")) \
        if straight else IMPACT.get(first.kind, "")
    lines = [
        f"# {title}: {first.kind} "
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
        _run_words(scenario, script_name),
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
    lines += ["- " + _portable(a.line()) + "." for a in verdict.anomalies]
    if has_changes(scenario):
        changed = "; ".join(f"before segment {i}: " + ", ".join(c.describe() for c in seg.changes)
                            for i, seg in enumerate(scenario.segments) if seg.changes)
        warned = ("it warned: " + "; ".join(verdict.warnings)) if verdict.warnings else \
            "it gave no warning (no Python warning, no log record at WARNING or above) and no error"
        lines += ["", f"What changed between the interruption and the resume: {changed}. The target resumed; {warned}."]
    if explanation:
        lines += ["", explanation]
    lines += ["", "## Impact", "", impact]
    return "\n".join(lines) + "\n"


def _portable(text: str) -> str:
    """A hung run's stacks name files by where this machine installed them: by package
    (`data_designer/...`) and standard library module (`threading.py`) instead."""
    text = re.sub(r'File "[^"]*/(?:site-packages|lib/python3\.\d+)/', 'File "', text)
    return re.sub(r'File "/[^"\s]*(?= \(set )', 'File "...', text)  # one cut short by the summary's length


def _run_words(scenario: Scenario, script_name: str) -> str:
    words = (f"Run it with `python {script_name}` in an environment with DataDesigner installed, or with "
             f"`uv run {script_name}`, which installs the pinned versions from the header.")
    others = sorted({c.text for seg in scenario.segments for c in seg.changes if c.kind == "release"})
    if others:
        flags = " ".join(f"--python {r}=/path/to/dd-{r}/bin/python" for r in others)
        words += (f" The chain resumes on other releases: add `{flags}`, the Python of an environment with each "
                  "(the script says how to make one and exits 2 without it). The first segment runs on the "
                  "interpreter that runs the script, so \"Versions checked\" below names the release a run started on.")
    return words


def _target_words(target_name: str, release: str, scenario: Scenario) -> str:
    if target_name.startswith("data_designer"):
        return f"DataDesigner {release}, {scenario.engine} engine"
    return f"{target_name}, resume-harness {release}"


def _resume_mode(scenario: Scenario) -> str:
    return scenario.segments[1].resume.upper() if len(scenario.segments) > 1 else "NEVER"


def _summary(scenario: Scenario, verdict: Verdict) -> str:
    first = verdict.anomalies[0]
    faults = "; ".join(f"segment {s}: {d}" for s, d in verdict.faults_fired) or "no fault fired"
    if len(scenario.segments) == 1 and scenario.segments[0].fault is None and first.kind == "hang":
        said = first.detail.split("; it was stopped")[0].removeprefix("hang: ")
        return (f"an uninterrupted run never ends ({said}), where a correct run gives "
                f"{len(verdict.expected)} row(s) and returns. Not a resume defect.")
    if len(scenario.segments) == 1 and scenario.segments[0].fault is None:
        # one uninterrupted run: no resume in it (a bug that a resume cannot repair)
        return (f"an uninterrupted run ends with {first.kind}: {first.detail} "
                f"({len(verdict.actual)} rows, {len(verdict.expected)} asked for). Not a resume defect.")
    if first.kind == "hang":  # what it hung in (the stacks, with this machine's paths) is the report's below
        said = first.detail.split("; it was ")[0].removeprefix("hang: ")
        where = " in the same process" if any(s.process == "same" for s in scenario.segments) else ""
        return (f"a run interrupted ({faults}) and resumed{where} never ends ({said}), where a correct resume "
                f"gives {len(verdict.expected)} row(s) and returns.")
    text = (f"a run interrupted ({faults}) and resumed ends with {first.kind} rows: {first.detail} "
            f"({len(verdict.actual)} rows, {len(verdict.expected)} asked for).")
    straight = _uninterrupted_too(verdict)
    if straight is not None:
        text += (f" The same config run without any interruption fails the same way ({straight.detail}): "
                 "this is not a resume defect.")
    return text


def _uninterrupted_too(verdict: Verdict) -> Any:
    """The straight run's anomaly of the same kind as the first, where it has one."""
    first = verdict.anomalies[0]
    return next((a for a in verdict.anomalies if a.run == "straight" and a.kind == first.kind), None)


# ----- running scripts in release environments ---------------------------------------------------
def versions_checked(script_path: Path, releases: list[tuple[str, Path]],
                     extra: tuple[str, ...] = ()) -> list[tuple[str, int]]:
    """(release, exit code) of the script run by each release environment's Python (with
    `extra` arguments: a cross-release chain's `--python RELEASE=PATH`)."""
    results = []
    for release, python in releases:
        try:
            code = subprocess.run([str(python), str(script_path), *extra], capture_output=True, text=True,
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


def build(scenario: Scenario, target_name: str, release: str, verdict: Verdict, ident: str | None = None,
          explanation: str | None = None, hang_seconds: float | None = None) -> Reproducer:
    """`hang_seconds`: where the finding is a run that never ends, after how long a process of
    its script counts as hung (a ledger entry's `hang_seconds`; default `DEADLOCK_SECONDS`)."""
    ident = checked_name(ident or finding_id(scenario, target_name), "finding id", "mutant-93757431")
    kind = verdict.anomalies[0].kind
    # a hang is a row retried without end where the provider said so (it refused the row past
    # its limit); any other is the process's (its threads wait for ever, nothing is asked): the
    # finding is the hang, whatever else the run showed
    stuck = "hang" in verdict.kinds and not any(
        a.kind == "hang" and RETRIED_WITHOUT_END in a.detail for a in verdict.anomalies)
    summary = ("a run that never ends: a resumed run's process hangs" if stuck else
               {"ghost": "ghost work after an interrupted run had returned",
                "hang": "a run that never ends: a row retried without end",
                "redone": "redone: complete row groups generated again on resume"}.get(kind, f"{kind} rows after a resume"))
    script_name = f"repro_{ident}.py"
    if target_name.startswith("data_designer"):
        from harness.reference.known_bugs import INTERNAL_TASK_FAILURE
        from harness.targets.data_designer_repro import deadlock, render_dd_script, render_dd_test

        hang = "process" if stuck else "row" if "hang" in verdict.kinds else ""
        # a deadlock's script asks only whether each process ends (work done late is not its question)
        work = bool({"ghost", "redone"} & set(verdict.kinds)) and not deadlock(scenario, hang)
        crash = any(a.kind == "error" and INTERNAL_TASK_FAILURE in a.detail for a in verdict.anomalies)
        script = render_dd_script(scenario, release, summary, ident, work, crash, hang, hang_seconds)
        test = render_dd_test(scenario, release, summary, ident, work, crash, hang, hang_seconds)
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
              all_environments: bool = True, hang_seconds: float | None = None) -> list[Path]:
    """Render the reproducer for `target`, run it in every release environment present
    (for DataDesigner, unless `all_environments` is off; else in this interpreter), and
    write script, test and report."""
    from harness import environments

    reproducer = build(scenario, target.name, target.version, verdict, ident=ident, explanation=explanation,
                       hang_seconds=hang_seconds)
    out_dir.mkdir(parents=True, exist_ok=True)
    script = out_dir / f"repro_{reproducer.id}.py"
    script.write_text(reproducer.script, encoding="utf-8")
    if target.name.startswith("data_designer"):
        releases = [(name, environments.env_python(name)) for name, _version in environments.ready_envs()]
        if not all_environments or not releases:
            releases = [(target.version, Path(sys.executable))]
    else:
        releases = [(f"{target.name} (resume-harness {harness.__version__})", Path(sys.executable))]
    extra: list[str] = []
    for other in sorted({c.text for seg in scenario.segments for c in seg.changes if c.kind == "release"}):
        extra += ["--python", f"{other}={environments.env_python(other)}"]  # where the chain's other releases live
    say(f"checking the reproducer in {len(releases)} environment(s)")
    return write(out_dir, reproducer, versions_checked(script, releases, tuple(extra)), scenario.engine)
