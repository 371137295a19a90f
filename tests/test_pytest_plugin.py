"""The pytest plugin and the conformance suite, driven as a fork's CI would drive them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "example_target.py"
FAST = ["--resume-profile", "dev", "-p", "no:randomly"]


def suite(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("--pyargs", "harness.suite", *FAST, *args)


def test_header_names_target_release_engine_profile_and_seed(pytester):
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest_subprocess("--resume-target", "mutant:seed_restart", "--resume-seed", "1234")
    result.assert_outcomes(passed=1)
    header = result.stdout.str()
    assert re.search(r"resume-harness \S+: target mutant:seed_restart \S+ \(seed_restart\), profile ci, seed 1234",
                     header), header
    assert "--resume-seed 1234" in header


def test_bad_seed_is_a_usage_error(pytester):
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest_subprocess("--resume-seed", "soon")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--resume-seed takes a whole number or 'last'" in result.stderr.str()


def test_resume_seed_last_reuses_the_previous_seed(pytester):
    pytester.makepyfile("def test_nothing():\n    pass\n")
    first = pytester.runpytest_subprocess("-p", "cacheprovider")
    seed = re.search(r"seed (\d+)", first.stdout.str()).group(1)
    again = pytester.runpytest_subprocess("-p", "cacheprovider", "--resume-seed", "last")
    assert f"seed {seed} " in again.stdout.str()


def test_suite_passes_on_the_reference(pytester):
    result = suite(pytester, "--resume-target", "reference", "--resume-seed", "3", "-k", "engine or fault")
    result.assert_outcomes(passed=9)  # two engines, seven fault kinds


def test_suite_fails_on_a_mutant_with_a_summary_whose_replay_reproduces(pytester, tmp_path):
    artifacts = tmp_path / "artifacts"
    # the ci profile's budget (30 examples): with the dev profile's 15 the sync case of seed 3 draws
    # no replayed ORDERED resume, and this test is about what the summary says of a failure
    result = suite(pytester, "--resume-target", "mutant:seed_restart", "--resume-seed", "3", "-k", "engine-sync",
                   "--resume-artifacts", str(artifacts), "--resume-profile", "ci")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "resume-harness findings" in out
    assert "duplicated" in out
    replay = re.search(r"replay: +(resume-harness replay \S+ --target \S+)", out).group(1)
    reproducer = re.search(r"reproducer: +(\S+\.py)", out).group(1)
    assert Path(reproducer).is_file()
    command = [sys.executable, "-m", "harness.cli", *replay.split()[1:]]
    assert subprocess.run(command, capture_output=True, text=True, timeout=300).returncode == 1


def _verdicts(result: pytest.RunResult) -> dict[str, str]:
    return dict((m.group(2), m.group(1)) for m in re.finditer(r"^(PASSED|FAILED) \S+\[([^\]]+)\]", result.stdout.str(),
                                                              flags=re.M))


def test_parallel_run_gives_the_same_verdicts_as_a_serial_one(pytester):
    args = ["--resume-target", "mutant:shuffle_restart", "--resume-seed", "11", "-k", "sampling", "-rA"]
    serial = _verdicts(suite(pytester, *args, "-p", "no:xdist"))
    parallel_result = suite(pytester, *args, "-n", "2")
    parallel = _verdicts(parallel_result)
    assert serial == parallel == {"sampling-ordered": "PASSED", "sampling-shuffle": "FAILED"}, (serial, parallel)
    assert ("FAILED" in serial.values()) == ("resume-harness findings" in parallel_result.stdout.str())


def _install_example(tmp_path: Path) -> Path:
    """'Install' the README's example adapter as a package with an entry point."""
    site = tmp_path / "site"
    (site / "example_fork").mkdir(parents=True)
    (site / "example_fork" / "__init__.py").write_text(EXAMPLE.read_text())
    info = site / "example_fork-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: example-fork\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[resume_harness.targets]\njsonl_pipeline = example_fork:JsonlPipelineTarget\n")
    return site


def test_target_registered_by_another_package_is_picked_up(pytester, tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(_install_example(tmp_path)))
    listed = subprocess.run([sys.executable, "-m", "harness.cli", "targets"], capture_output=True, text=True)
    assert "jsonl_pipeline" in listed.stdout and "registered by example-fork" in listed.stdout
    result = suite(pytester, "--resume-target", "jsonl_pipeline", "--resume-seed", "5", "-k", "engine or fault")
    result.assert_outcomes(passed=3)
    assert "target jsonl_pipeline" in result.stdout.str()


def test_check_resume_fixture_in_a_hand_written_test(pytester):
    pytester.makepyfile(
        """
        from harness.scenario import Fault, Scenario, Segment, SeedRow

        def test_my_case(resume_target, check_resume):
            seeds = (SeedRow(0, "alpha"), SeedRow(1, "beta"), SeedRow(2, "gamma"))
            scenario = Scenario(seeds=seeds, segments=(Segment(3, fault=Fault("raise", "checkpoint", 1)),
                                                      Segment(3, "always")))
            check_resume(resume_target, scenario)
        """
    )
    assert pytester.runpytest_subprocess("--resume-target", "reference").ret == 0
    failing = pytester.runpytest_subprocess("--resume-target", "mutant:seed_restart")
    failing.assert_outcomes(failed=1)
    assert "duplicated (resumed run)" in failing.stdout.str()


def test_the_suites_summary_shows_what_its_searches_exercised_merged_over_workers(pytester):
    result = suite(pytester, "--resume-target", "reference", "--resume-seed", "3", "-k", "engine", "-n", "2")
    result.assert_outcomes(passed=2)
    out = result.stdout.str()
    assert "resume-harness coverage" in out
    examples = int(re.search(r"coverage of (\d+) examples:", out).group(1))
    engines = re.search(r"^  engine +(.*)$", out, flags=re.M).group(1)
    counts = dict((k, int(n)) for k, n in re.findall(r"(\w+) (\d+)", engines))
    assert set(counts) == {"sync", "async"} and sum(counts.values()) == examples  # both cases, both workers


def test_resume_examples_sets_each_conformance_test_s_budget_and_must_be_positive(pytester):
    result = suite(pytester, "--resume-target", "reference", "--resume-seed", "3", "-k", "engine",
                   "--resume-examples", "4")
    result.assert_outcomes(passed=2)
    assert "coverage of 8 examples:" in result.stdout.str()  # two tests, four each (the dev profile's is 15)
    bad = suite(pytester, "--resume-target", "reference", "--resume-examples", "0")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    assert "--resume-examples" in bad.stderr.str()
