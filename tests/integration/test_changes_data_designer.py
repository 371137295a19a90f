"""What DataDesigner releases do when something changed between an interruption and its
resume, run on the real releases: the README's table is what `harness.change_table`
measures, a resume on another release runs in that release's environment, and the target's
warnings reach the report."""

from __future__ import annotations

import json
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


MODEL_SCENARIOS = ROOT / "fixtures" / "model-scenarios"


def test_an_upgrade_s_failure_is_known_by_the_models_of_the_release_each_segment_ran_on():
    """0.8.0 interrupted (pandas 2 wrote a sentinel timestamp's group in microseconds, an
    ordinary one's in nanoseconds: two of three groups, one sentinel, in whichever order its
    scheduler finished them), resumed on 0.9.7, whose read at the end of `create()`
    unifies the files' schemas to nanoseconds and cannot cast the sentinel. The timestamp
    entry is open on 0.8.0: known with each segment composed from its release's entries
    and reader (0.9.7's facts read off its installed code); 0.8.0's reader for every segment
    reads the files (the first file's schema) and called it new."""
    python_of(LATEST)
    result = harness_in("0.8.0", "replay", str(MODEL_SCENARIOS / "upgrade-from-0.8.0-timestamp-sentinel.json"),
                        "--target", "data_designer:async", "--known", str(ROOT / "fixtures" / "findings"))
    assert result.returncode == 1, result.stdout + result.stderr
    assert re.search(r"error \(resumed run\): segment 1 failed: .*Casting from timestamp\[us\] to timestamp\[ns\]",
                     result.stdout), result.stdout
    known = [line for line in result.stdout.splitlines() if line.startswith("known: ")]
    assert known and known[0].startswith("known: dd-timestamp-beyond-nanoseconds-unreadable-async "), result.stdout
    assert f"and {LATEST}'s for the segments run there" in known[0]


@pytest.mark.parametrize(("name", "shows"), [
    # the search's own example: JSON lines timestamps DuckDB reads as text, a first group of nulls
    ("rollback-to-0.8.0-jsonl-timestamps-as-text-null-group-first.json",
     r"error \(resumed run\): segment 1 failed: .*Failed to parse string: '2024-01-02T01:07:56.020804' as a "
     r"scalar of type double"),
    # a string Arrow parses as a double: 0.8.0 reads "001" as 1, and the run passes with wrong rows
    ("rollback-to-0.8.0-null-string-group-then-001.json", r"unexpected \(resumed run\): output row 2 is not a row"),
    # 0.9.7 alone: its own files cannot be unified, so it reads each on its own, and a JSONL
    # int column of both signs edited to one sign reads (Decimals and ints) where the unified
    # read fails; known as the edit entry's (the read is the string entry's model's)
    ("jsonl-sign-mix-edited-beside-null-string-group.json", r"mixed \(resumed run\)"),
])
def test_a_first_group_of_null_strings_0_9_7_wrote_as_double_is_cast_by_0_8_0(name, shows):
    """The string entry's model (`NullStringsAsDoubles`, `strings_as_double_read`) on the
    real releases beyond the entry's own scenario: a column read as text whatever its
    declared type, and a later string 0.8.0's cast parses (no error, the rows wrong); each
    known by the entry, the models of each segment's release reproducing it exactly."""
    python_of("0.8.0")
    result = harness_in(LATEST, "replay", str(MODEL_SCENARIOS / name), "--target", "data_designer:async",
                        "--known", str(ROOT / "fixtures" / "findings"))
    assert result.returncode == 1, result.stdout + result.stderr
    assert re.search(shows, result.stdout), result.stdout
    known = [line for line in result.stdout.splitlines() if line.startswith("known: ")]
    entry = ("dd-resume-after-seed-file-edit-mixes-rows-async" if name.startswith("jsonl-")
             else "dd-null-string-group-read-as-double-after-rollback-async")
    assert known and known[0].startswith(f"known: {entry} "), result.stdout


@pytest.mark.parametrize(("release", "name"), [
    # a rollback: 0.8.0 finishes, reading with the first file's schema (microseconds, 0.9.7's);
    # 0.9.7's unified read of the same files would fail
    (LATEST, "rollback-to-0.8.0-timestamp-sentinel.json"),
    # an upgrade: 0.9.7 runs the straight run, whose first group of null timestamps it writes
    # in milliseconds (pandas 3: seconds, which parquet does not have); 0.8.0's read of those
    # files, with the first file's schema, would fail ("would lose data"), 0.9.7's passes
    ("0.8.0", "upgrade-to-0.9.7-null-timestamps-first.json"),
])
def test_a_chain_s_dataset_is_read_by_the_release_that_ran_its_last_segment(release, name):
    """As the user's `create()` on that release reads it: a search's release reading a
    dataset another release finished called those readers' differences findings."""
    python_of("0.8.0")
    result = harness_in(release, "replay", str(MODEL_SCENARIOS / name), "--target", "data_designer:async")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "resumed run == straight run == reference" in result.stdout


def test_another_release_s_reader_facts_are_read_off_its_installed_code():
    """What the models need of the release a segment of a chain runs on, from that release's
    environment, equals what its own target says (0.6.0: no read at the end of a run; 0.8.0:
    the first file's schema; 0.9.7: unified)."""
    from harness.targets.data_designer_release import FACTS

    for release, expected in (("0.6.0", (False, "first", True)), ("0.8.0", (True, "first", False)),
                              (LATEST, (True, "unified", False))):
        python_of(release)
        probe = subprocess.run([str(python_of(LATEST)), "-c",
                                "import json; from harness.targets.data_designer_release import release_facts; "
                                f"print(json.dumps(release_facts({release!r})))"],
                               capture_output=True, text=True, timeout=300, cwd=ROOT)
        assert probe.returncode == 0, probe.stderr[-2000:]
        facts = dict(json.loads(probe.stdout.strip().splitlines()[-1]))
        assert tuple(facts[name] for name in FACTS) == expected, (release, facts)


_SERVED = """
import json, os, sys
from harness import zygote
from harness.environments import env_python
from harness.property import check_scenario
from harness.scenario import Scenario
from harness.targets.registry import get_target

scenario = Scenario.from_json(open(sys.argv[1]).read())
target = get_target("data_designer:sync")
verdicts, servers = [], []
for _ in range(2):
    verdicts.append(check_scenario(target, scenario))
    servers.append({p: s.process.pid for p, s in zygote._SERVERS.items() if p is not None})
from pathlib import Path
from harness.journal import Journal
target.run(scenario, Path(sys.argv[3]))
starts = {e["segment"]: e["pid"] for e in Journal(Path(sys.argv[3]) / "journal.jsonl").events()
          if e["event"] == "segment_start"}
print(json.dumps({"ok": [v.ok for v in verdicts], "summary": [v.summary() for v in verdicts],
                  "fired": [[list(f) for f in v.faults_fired] for v in verdicts],
                  "servers": servers, "expected": str(env_python(sys.argv[2])),
                  "pids": [starts[k] for k in sorted(starts)], "search": os.getpid()}))
"""


def test_segments_on_another_release_are_forked_from_that_release_s_server_and_killed_there(tmp_path):
    """Resumed segments on another release are children of a fork server of that release's
    environment, started once for every run (not a new interpreter and a new import of the
    release per segment); a `kill` kills its segment's child, the next segment resumes, and
    two segments in one process (a notebook's second call) share one child. Both runs resume
    right (0.6.1 carries the reader's position: issue 709 fixed)."""
    python_of("0.6.1")
    scenario = Scenario(
        seeds=(SeedRow(0, "alpha"), SeedRow(1, "beta"), SeedRow(2, "gamma")), source="csv", engine="sync",
        segments=(Segment(4, fault=Fault("raise", "checkpoint", 1)),
                  Segment(4, "always", changes=(Change("release", text="0.6.1"),), fault=Fault("kill", "checkpoint", 1)),
                  Segment(4, "always", fault=Fault("raise", "checkpoint", 1)),
                  Segment(4, "always", process="same")))
    path = tmp_path / "scenario.json"
    path.write_text(scenario.to_json())
    done = subprocess.run([str(python_of(OLDEST)), "-c", _SERVED, str(path), "0.6.1", str(tmp_path / "run")],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["ok"] == [True, True], report["summary"]
    assert report["fired"] == [[[0, "raise after checkpoint 1"], [1, "SIGKILL after checkpoint 1"],
                                [2, "raise after checkpoint 1"]]] * 2, report
    assert list(report["servers"][0]) == [report["expected"]] and report["servers"][0] == report["servers"][1], report
    search, (first, killed, interrupted, same) = report["search"], report["pids"]
    # segment 0 on 0.6.0 in the search's process (a raise), each later one in a child on 0.6.1,
    # the last in the child of the one before it
    assert first == search and len({search, killed, interrupted}) == 3 and same == interrupted, report
