"""What DataDesigner releases do when something changed between an interruption and its
resume, run on the real releases: the README's table is what `harness.change_table`
measures, a resume on another release runs in that release's environment, and the target's
warnings reach the report."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from test_data_designer import LATEST, OLDEST, ROOT, harness_in, python_of

from harness.changes import Change
from harness.scenario import Fault, Scenario, SeedRow, Segment

pytestmark = pytest.mark.datadesigner

README = ROOT / "README.md"


def _chain(engine: str, *changes: Change, at: int = 1, records: int = 3) -> Scenario:
    return Scenario(seeds=(SeedRow(0, "alpha"), SeedRow(1, "beta"), SeedRow(2, "gamma")), source="csv",
                    engine=engine, segments=(Segment(3, fault=Fault("raise", "checkpoint", at)),
                                             Segment(records, "always", changes=changes)))


def _replay(tmp_path: Path, release: str, scenario: Scenario) -> subprocess.CompletedProcess:
    # a resume on another release runs in that release's environment, which must exist first
    # (a release without one is not a release the target supports: a usage error)
    for segment in scenario.segments:
        for change in segment.changes:
            if change.kind == "release":
                python_of(change.text)
    path = tmp_path / "scenario.json"
    path.write_text(scenario.to_json())
    return harness_in(release, "replay", str(path), "--target", f"data_designer:{scenario.engine}")


def test_the_readme_table_is_what_the_harness_measures():
    for release in ("0.6.0", "0.6.1", LATEST):
        python_of(release)
    measured = subprocess.run([sys.executable, "-m", "harness.change_table", "0.6.0", "0.6.1", LATEST],
                              capture_output=True, text=True, timeout=1800, cwd=ROOT)
    assert measured.returncode == 0, measured.stderr
    table = measured.stdout.split("\n\n")[0].strip()
    assert table in README.read_text(), f"README's change table is out of date; measured:\n{table}"


def test_an_upgrade_from_0_6_0_to_0_6_1_resumes_issue_709_correctly_and_a_rollback_meets_it(tmp_path):
    upgrade = _replay(tmp_path, OLDEST, _chain("sync", Change("release", text="0.6.1")))
    assert upgrade.returncode == 0, upgrade.stdout + upgrade.stderr
    assert "resumed run == straight run == reference" in upgrade.stdout
    rollback = _replay(tmp_path, "0.6.1", _chain("sync", Change("release", text=OLDEST)))
    assert rollback.returncode == 1 and "duplicated (resumed run)" in rollback.stdout, rollback.stdout


@pytest.mark.parametrize(("first", "then"), [("0.6.1", LATEST), (LATEST, "0.6.1")])
def test_a_resume_across_fingerprint_schemes_refuses(tmp_path, first, then):
    result = _replay(tmp_path, first, _chain("async", Change("release", text=then), at=2))
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"the resume was refused: segment 1: .*Cannot resume", result.stdout), result.stdout


def test_the_report_says_what_the_release_warned_after_a_change(tmp_path):
    # complete before the change: the resume finds nothing to do, warns so, and keeps the old rows
    result = _replay(tmp_path, LATEST, _chain("async", Change("edit_row", index=0, text="omega"), at=3))
    assert result.returncode == 1, result.stdout + result.stderr
    assert re.search(r"the target's warnings: segment 1: WARNING data_designer\S*: .*[Nn]othing to resume",
                     result.stdout), result.stdout
    assert "mixed (resumed run)" in result.stdout and "row 0 comes from the inputs before the first change" in result.stdout
