"""Reproducers for DataDesigner findings, run the way a maintainer would run them: with
nothing but a DataDesigner release installed (each release's own environment)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from test_data_designer import FINDINGS, LATEST, LEDGER, LEDGER_CASES, OLDEST, harness_in, python_of, version_tuple

from harness.scenario import Fault, IndexRange, Scenario, SeedRow, Segment

REPORTS = FINDINGS / "reports"

pytestmark = pytest.mark.datadesigner

#: upstream issue #709's own repro: three ORDERED rows, buffer_size 1, stop after checkpoint 1
ISSUE_709 = Scenario(
    seeds=(SeedRow(0, "alpha"), SeedRow(1, "beta"), SeedRow(2, "gamma")),
    selection=IndexRange(0, 2),
    engine="sync",
    segments=(Segment(3, fault=Fault("raise", "checkpoint", 1)), Segment(3, "always")),
)


#: starts a command with SIGINT ignored, as a shell starts a background job (`script.py &`) and
#: some CI runners start their steps: a script that interrupts itself with Ctrl-C must still
#: be interrupted (it gives its process Python's own handler), or it would say "passes"
IGNORING_SIGINT = "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); os.execv(sys.argv[1], sys.argv[1:])"


def run_script(release: str, script: Path, env: dict[str, str] | None = None,
               args: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    python = str(python_of(release))
    return subprocess.run([python, "-c", IGNORING_SIGINT, python, str(script), *args], capture_output=True, text=True,
                          timeout=600, env={**os.environ, **env} if env else None)


def other_releases(finding) -> tuple[str, ...]:
    """`--python RELEASE=PATH` for each release a cross-release entry's chain resumes on (the
    script runs those segments with that release's Python, as a maintainer would tell it)."""
    named = sorted({c.text for s in finding.scenario.segments for c in s.changes if c.kind == "release"})
    return tuple(arg for release in named for arg in ("--python", f"{release}={python_of(release)}"))


def test_issue_709_reproducer_fails_on_0_6_0_and_passes_on_the_latest_release(tmp_path):
    scenario = tmp_path / "issue-709.json"
    scenario.write_text(ISSUE_709.to_json())
    result = harness_in(OLDEST, "repro", str(scenario), "--target", "data_designer:sync", "--out", str(tmp_path / "out"))
    assert result.returncode == 1, result.stdout + result.stderr
    script = next((tmp_path / "out").glob("repro_*.py"))
    on_oldest = run_script(OLDEST, script)
    assert on_oldest.returncode == 1, on_oldest.stdout + on_oldest.stderr
    assert "resumed:  ['alpha', 'alpha', 'beta']" in on_oldest.stdout
    assert "expected: ['alpha', 'beta', 'gamma']" in on_oldest.stdout
    on_latest = run_script(LATEST, script)
    assert on_latest.returncode == 0, on_latest.stdout + on_latest.stderr
    # a maintainer's first run of it on a fresh installation shows #709, not the bug of a fresh
    # installation's first run (dd-first-run-of-an-installation-cannot-be-resumed)
    (tmp_path / "new-home").mkdir()
    fresh = run_script(OLDEST, script, {"DATA_DESIGNER_HOME": str(tmp_path / "new-home")})
    assert fresh.returncode == 1 and "resumed:  ['alpha', 'alpha', 'beta']" in fresh.stdout, fresh.stdout + fresh.stderr
    report = next((tmp_path / "out").glob("report_*.md")).read_text()
    assert f"data-designer=={OLDEST} (sync engine where the release has it): fails" in report
    assert f"data-designer=={LATEST} (sync engine where the release has it): passes" in report


def _versions_checked(report: str) -> dict[str, str]:
    return dict(re.findall(r"^- data-designer==(\S+) \(.*\): (fails|passes)", report, flags=re.M))


@pytest.mark.parametrize("finding", LEDGER, ids=lambda f: f.id)
def test_every_ledger_entry_has_a_report_whose_versions_agree_with_the_ledger(finding):
    report = (REPORTS / finding.id / f"report_{finding.id}.md").read_text()
    checked = _versions_checked(report)
    for release in finding.fails_on:
        assert checked.get(release) == "fails", f"{finding.id} {release}: {checked}"
    for release in finding.passes_on:
        assert checked.get(release) == "passes", f"{finding.id} {release}: {checked}"


def _at_a_boundary(finding, release: str) -> bool:
    """Whether `release` is the oldest or the newest release the entry names, or one whose
    outcome (fails, passes) differs from a neighbour's: where a script could disagree with
    the ledger. A release between two of the same outcome is left to the ledger replays,
    which run the entry's scenario on every release it names (each script ran on every one
    before: 115 runs of about 5 s, a tenth of CI)."""
    named = sorted(set(finding.fails_on) | set(finding.passes_on), key=version_tuple)
    i = named.index(release)
    fails = [r in finding.fails_on for r in named]
    return i in (0, len(named) - 1) or fails[i] != fails[i - 1] or fails[i] != fails[i + 1]


#: LEDGER_CASES at a boundary (`_at_a_boundary`), without their xdist group (the ledger
#: replays' shared batch per release): a script runs on its own
SCRIPT_CASES = [pytest.param(*case.values, id=case.id) for case in LEDGER_CASES if _at_a_boundary(*case.values[:2])]


@pytest.mark.parametrize(("finding", "release", "fails"), SCRIPT_CASES)
def test_committed_reproducer_exit_code_agrees_with_the_ledger(finding, release, fails):
    script = REPORTS / finding.id / f"repro_{finding.id}.py"
    result = run_script(release, script, args=other_releases(finding))
    # What the engine's threads do shows on some runs only, fewer on a loaded machine (a CI run
    # with every worker busy): late work (the script tries 12 times), the requests in flight
    # when a provider outage began (answered or not: the outage entry's script passed 3 runs
    # of 3 once in CI on 0.9.7); a failing entry gets up to 5 scripts.
    for _ in range(4 if fails else 0):
        if result.returncode == 1:
            break
        result = run_script(release, script, args=other_releases(finding))
    assert result.returncode == (1 if fails else 0), result.stdout + result.stderr
