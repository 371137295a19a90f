"""The command line, as a user meets it: exit codes, one-line errors, files it writes."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import issue_709_scenario

from harness.reference.mutants import MUTANTS

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "corpus"


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def test_targets_lists_the_reference_and_every_mutant():
    result = run_cli("targets")
    assert result.returncode == 0
    for name in ["reference", *(f"mutant:{m}" for m in MUTANTS)]:
        assert name in result.stdout


def test_hunt_on_reference_finds_nothing_prints_the_seed_and_cleans_up(tmp_path):
    result = run_cli("hunt", "--max-examples", "40", "--seed", "7", "--workdir", str(tmp_path / "work"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "seed 7" in result.stdout
    assert "no finding" in result.stdout
    share = re.search(r"(\d+)% of it inside the target", result.stdout)
    assert share is not None and 0 < int(share.group(1)) < 100, result.stdout
    assert list((tmp_path / "work").iterdir()) == []


def test_hunt_on_a_mutant_exits_1_writes_a_finding_that_replays(tmp_path):
    result = run_cli("hunt", "--target", "mutant:seed_restart", "--seed", "1", "--out", str(tmp_path))
    assert result.returncode == 1, result.stdout + result.stderr
    finding = json.loads((tmp_path / "finding.json").read_text())
    assert finding["target"] == "mutant:seed_restart"
    assert finding["seed"] == 1
    assert finding["anomalies"][0] == "duplicated"
    replayed = run_cli("replay", str(tmp_path / "finding.json"), "--target", "mutant:seed_restart")
    assert replayed.returncode == 1
    assert "duplicated" in replayed.stdout
    assert run_cli("replay", str(tmp_path / "finding.json"), "--target", "reference").returncode == 0


def test_hunt_is_deterministic_for_a_seed(tmp_path):
    first = run_cli("hunt", "--target", "mutant:wrap_offset", "--seed", "5", "--out", str(tmp_path / "a"))
    second = run_cli("hunt", "--target", "mutant:wrap_offset", "--seed", "5", "--out", str(tmp_path / "b"))
    assert first.returncode == second.returncode == 1
    assert (tmp_path / "a" / "finding.json").read_text() == (tmp_path / "b" / "finding.json").read_text()


def _bad_inputs(tmp_path: Path) -> dict[str, list[str]]:
    malformed = tmp_path / "malformed.json"
    malformed.write_text('{"seeds": [')
    invalid = tmp_path / "invalid.json"
    data = issue_709_scenario().to_dict()
    data["selection"] = {"kind": "index_range", "start": 0, "end": 9}
    invalid.write_text(json.dumps(data))
    return {
        "unknown target": ["hunt", "--target", "data_designr"],
        "malformed JSON": ["replay", str(malformed)],
        "invalid selection": ["replay", str(invalid)],
        "missing file": ["replay", str(tmp_path / "nope.json")],
        "unknown replay target": ["replay", str(invalid), "--target", "nope"],
        "one bad file of several": ["replay", str(CORPUS / "issue-709-ordered-index-range.json"), str(malformed)],
        "--out with several files": ["replay", *(str(p) for p in sorted(CORPUS.glob("*.json"))[:2]),
                                     "--out", str(tmp_path / "out")],
        "several files, none runnable here": ["replay", *(str(p) for p in sorted(CORPUS.glob("*.json"))[:2]),
                                              "--target", "data_designer"],
        "--json in a missing directory": ["replay", str(CORPUS / "issue-709-ordered-index-range.json"), "--json",
                                          str(tmp_path / "nope" / "verdicts.json")],
        "hunt --then on the reference": ["hunt", "--then", "0.8.0", "-n", "1"],
        "models --then on the reference": ["models", "--target", "reference", "--then", "0.8.0", "-n", "1"],
    }


@pytest.mark.parametrize("case", ["unknown target", "malformed JSON", "invalid selection", "missing file",
                                  "unknown replay target", "one bad file of several", "--out with several files",
                                  "several files, none runnable here", "--json in a missing directory",
                                  "hunt --then on the reference", "models --then on the reference"])
def test_bad_input_is_one_line_exit_2_no_traceback(tmp_path, case):
    result = run_cli(*_bad_inputs(tmp_path)[case])
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("resume-harness: error: ")
    assert "Traceback" not in result.stderr + result.stdout


def test_replay_of_several_files_runs_each_in_one_process_and_says_which_failed(tmp_path):
    """A ledger replayed at once (`replay FILE... --json`): every file's verdict, exit 1 when
    any fails and 0 when none does; a bad file stops it before any run (exit 2, above)."""
    files = sorted(CORPUS.glob("*.json"))[:3]
    report = tmp_path / "verdicts.json"
    on_mutant = run_cli("replay", *(str(f) for f in files), "--target", "mutant:seed_restart", "--json", str(report))
    verdicts = json.loads(report.read_text())
    assert [v["file"] for v in verdicts] == [str(f) for f in files]
    assert {v["target"] for v in verdicts} == {"mutant:seed_restart"}
    failed = [v for v in verdicts if v["exit"] == 1]
    assert failed and all(v["anomalies"] for v in failed), verdicts
    assert all(not v["anomalies"] for v in verdicts if v["exit"] == 0)
    assert on_mutant.returncode == 1, on_mutant.stdout + on_mutant.stderr
    assert on_mutant.stdout.count("replaying ") == 3
    assert f"3 files replayed: {len(failed)} failed ({failed[0]['file']}" in " ".join(on_mutant.stdout.split())
    on_reference = run_cli("replay", *(str(f) for f in files), "--json", str(report))
    assert on_reference.returncode == 0, on_reference.stdout + on_reference.stderr
    assert [v["exit"] for v in json.loads(report.read_text())] == [0, 0, 0]


def test_invalid_selection_error_names_the_field(tmp_path):
    result = run_cli(*_bad_inputs(tmp_path)["invalid selection"])
    assert "selection.end" in result.stderr


def test_hunt_and_replay_write_a_reproducer_with_out(tmp_path):
    assert run_cli("hunt", "--target", "mutant:seed_restart", "--seed", "1", "--out", str(tmp_path / "h")).returncode == 1
    assert len(list((tmp_path / "h").glob("repro_*.py"))) == 1
    assert len(list((tmp_path / "h").glob("report_*.md"))) == 1
    replayed = run_cli("replay", str(tmp_path / "h" / "finding.json"), "--target", "mutant:seed_restart",
                       "--out", str(tmp_path / "r"))
    assert replayed.returncode == 1
    assert len(list((tmp_path / "r").glob("test_regression_*.py"))) == 1


def test_a_datadesigner_log_record_from_a_thread_after_a_call_prints_nothing():
    """Engine threads that outlive a call log on: once the adapter has silenced DataDesigner's
    loggers, a warning of any of them (a child logger of the package with no level of its
    own, no handler anywhere, the root's none) is not printed by logging's last resort."""
    import subprocess
    import sys

    code = (
        "import logging\n"
        "from harness.targets.data_designer import _silence_data_designer_loggers\n"
        "child = logging.getLogger('data_designer.engine.dataset_builders.async_scheduler')\n"
        "child.warning('before: printed bare by the last resort')\n"
        "_silence_data_designer_loggers()\n"
        "logging.getLogger('data_designer').setLevel(logging.WARNING)  # as a release's own config may\n"
        "child.warning('Non-retryable failure on llm_0[rg=1, row=1]: after')\n"
        "logging.getLogger('asyncio').error('Task exception was never retrieved: after')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "before" in result.stderr and "after" not in result.stderr, result.stderr
