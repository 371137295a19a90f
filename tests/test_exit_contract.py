"""The exit-code contract as a bisection script meets it: 0 nothing found, 1 a finding and
nothing else, 2 bad input (one line naming the problem and the fix), 3 the harness's own
failure (one line, the traceback in a file), 130 / 143 a stop by SIGINT / SIGTERM that
leaves no process and no directory behind."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from helpers import issue_709_scenario

CLI = [sys.executable, "-m", "harness.cli"]


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=cwd, timeout=300,
                          env={**os.environ, **(env or {})})


def one_error_line(result: subprocess.CompletedProcess) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("resume-harness: error: "), lines[0]
    assert "Traceback" not in result.stdout + result.stderr
    return lines[0]


def scenario_file(tmp_path: Path, name: str = "scenario.json", **changes) -> Path:
    data = issue_709_scenario().to_dict()
    data.update(changes)
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


# ----- bad input: exit 2, one line, before any work --------------------------------------------
def _bad_inputs(tmp_path: Path) -> dict[str, tuple[list[str], str]]:
    binary = tmp_path / "finding.json"
    binary.write_bytes(b'{"scenario": "\xff\xfe"}')
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000)
    huge_int = tmp_path / "digits.json"
    huge_int.write_text('{"seeds": [{"seed_id": 1' + "0" * 5000 + ', "name": "a"}]}')
    existing = tmp_path / "a-file"
    existing.write_text("not a directory")
    big = issue_709_scenario().to_dict()
    big["segments"][-1]["num_records"] = 10**12
    big_path = tmp_path / "big.json"
    big_path.write_text(json.dumps(big))
    scenario = scenario_file(tmp_path)
    return {
        "non-UTF-8 finding": (["replay", str(binary)], "not UTF-8"),
        "deeply nested JSON": (["replay", str(deep)], "nests JSON too deeply"),
        "an integer too long to convert": (["replay", str(huge_int)], "not a usable JSON document"),
        "hunt --out an existing file": (["hunt", "--out", str(existing)], "is a file, not a directory"),
        "replay --out an existing file": (["replay", str(scenario), "--out", str(existing)], "is a file"),
        "--out under /dev/null": (["hunt", "--out", "/dev/null/x"], "/dev/null is not a directory"),
        "--workdir an existing file": (["hunt", "--workdir", str(existing)], "is a file, not a directory"),
        "--workdir under /dev/null": (["replay", str(scenario), "--workdir", "/dev/null/x"], "not a directory"),
        "num_records 10**12": (["replay", str(big_path)], "pass --max-records N"),
        "a directory as the file": (["replay", str(tmp_path)], "is a directory"),
        "an unknown option": (["hunt", "--bogus"], "No such option: --bogus"),
        "an option without its value": (["hunt", "--seed"], "--seed"),
        "a malformed environment name": (["env", "create", "0.6.0\n"], "is not a usable name"),
        "an unknown --shrink-on": (["hunt", "--shrink-on", "bisect"], "--shrink-on takes model or target"),
    }


BAD_INPUTS = ["non-UTF-8 finding", "deeply nested JSON", "an integer too long to convert",
              "hunt --out an existing file", "replay --out an existing file", "--out under /dev/null",
              "--workdir an existing file", "--workdir under /dev/null", "num_records 10**12",
              "a directory as the file", "an unknown option", "an option without its value",
              "a malformed environment name", "an unknown --shrink-on"]


def test_every_bad_input_case_is_tested(tmp_path):
    assert sorted(_bad_inputs(tmp_path)) == sorted(BAD_INPUTS)


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_exits_2_with_one_line_that_names_it(tmp_path, case):
    args, named = _bad_inputs(tmp_path)[case]
    started = time.monotonic()
    result = run_cli(*args)
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert named in one_error_line(result)
    assert "hunting" not in result.stdout  # refused before the search started
    assert time.monotonic() - started < 30


def test_size_bounds_can_be_raised_and_lowered(tmp_path):
    scenario = scenario_file(tmp_path)  # three records
    assert run_cli("replay", str(scenario), "--max-records", "2").returncode == 2
    assert run_cli("replay", str(scenario), "--max-records", "3").returncode == 0
    assert "pass --max-seed-rows N" in one_error_line(run_cli("replay", str(scenario), "--max-seed-rows", "2"))
    long_name = scenario_file(tmp_path, "long.json", seeds=[{"seed_id": 0, "name": "x" * 50}], selection=None)
    assert "pass --max-string-length N" in one_error_line(
        run_cli("replay", str(long_name), "--max-string-length", "10"))


def test_a_finding_id_that_is_not_a_safe_name_is_refused_before_any_file_is_written(tmp_path):
    finding = {"id": "x\nimport os", "title": "t", "target": "mutant:seed_restart", "fails_on": ["0.1.0"],
               "anomalies": ["duplicated"], "explanation": "e", "scenario": issue_709_scenario().to_dict()}
    path = tmp_path / "finding.json"
    path.write_text(json.dumps(finding))
    result = run_cli("replay", str(path), "--out", str(tmp_path / "repro"))
    assert result.returncode == 2
    assert "finding id" in one_error_line(result)
    assert not (tmp_path / "repro").exists()


def test_the_harness_failing_exits_3_with_one_line_and_the_traceback_in_a_file(tmp_path):
    scenario = scenario_file(tmp_path)
    code = ("import sys; import harness.cli as cli\n"
            "def broken(*args, **kwargs):\n"
            "    raise RuntimeError('the checker fell over')\n"
            "cli.check_repeatedly = broken\n"
            f"sys.exit(cli.main(['replay', {str(scenario)!r}]))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 3, result.stderr
    line = one_error_line(result)
    assert "internal error, not a finding: RuntimeError: the checker fell over" in line
    report = Path(re.search(r"traceback in (\S+)$", line).group(1))
    try:
        assert "Traceback" in report.read_text() and "broken" in report.read_text()
    finally:
        report.unlink()


def test_only_a_finding_exits_1(tmp_path):
    scenario = scenario_file(tmp_path)
    assert run_cli("replay", str(scenario), "--target", "mutant:seed_restart").returncode == 1
    assert run_cli("replay", str(scenario), "--target", "reference").returncode == 0
    assert run_cli("hunt", "--max-examples", "5", "--seed", "3").returncode == 0


# ----- replay and repro use what the finding records --------------------------------------------
def test_replay_uses_the_target_the_finding_records_and_says_so(tmp_path):
    assert run_cli("hunt", "--target", "mutant:seed_restart", "--seed", "1", "--out", str(tmp_path)).returncode == 1
    recorded = run_cli("replay", str(tmp_path / "finding.json"))
    assert recorded.returncode == 1, recorded.stdout + recorded.stderr
    assert "on mutant:seed_restart 0.1.0 (the target the file records)" in recorded.stdout
    other = run_cli("replay", str(tmp_path / "finding.json"), "--target", "reference")
    assert other.returncode == 0
    assert "(as asked; the file records mutant:seed_restart)" in other.stdout


def test_replay_of_a_data_designer_finding_without_its_release_says_how_to_get_it(tmp_path):
    finding = json.loads((Path(__file__).parent.parent / "fixtures" / "findings" /
                          "dd-ordered-resume-replays-seed-rows-sync.json").read_text())
    path = tmp_path / "entry.json"
    path.write_text(json.dumps(finding))
    result = run_cli("replay", str(path), env={"RESUME_HARNESS_ENVS": str(tmp_path / "no-envs")})
    assert result.returncode == 2
    assert "resume-harness env create 0.6.0" in one_error_line(result)


# ----- honest summaries, output for pipes, nothing written where not asked ---------------------------
def test_known_failures_are_counted_per_entry_never_called_agreement(tmp_path):
    ledger = tmp_path / "ledger"
    ledger.mkdir()
    (ledger / "seed-restart.json").write_text(json.dumps({
        "id": "seed-restart", "title": "a resumed reader starts over", "target": "mutant:seed_restart",
        "fails_on": ["0.1.0"], "anomalies": ["duplicated", "lost", "skipped", "reordered"],
        "signature": {"sampling": ["ordered"]}, "explanation": "by construction", "model": "ordered_reader_restarts",
        "scenario": issue_709_scenario().to_dict()}))
    result = run_cli("hunt", "--target", "mutant:seed_restart", "--samplings", "ordered", "--seed", "4",
                     "--max-examples", "60", "--known", str(ledger))
    assert result.returncode == 0, result.stdout + result.stderr
    summary = next(line for line in result.stdout.splitlines() if line.startswith("no new finding"))
    counted = re.search(r"(\d+) of the 60 examples failed as known findings in \S+ explain: seed-restart \((\d+)\)",
                        summary)
    assert counted is not None, summary
    assert counted.group(1) == counted.group(2) and int(counted.group(1)) > 0
    assert "on every one" not in summary
    assert f"the other {60 - int(counted.group(1))} agreed" in summary


def test_piped_output_keeps_every_line_whole_and_the_current_directory_empty(tmp_path):
    cwd = tmp_path / "empty"
    cwd.mkdir()
    workdir = tmp_path / ("a-long-directory-name-" * 4) / "work"
    result = run_cli("hunt", "--max-examples", "5", "--seed", "1234567", "--workdir", str(workdir), cwd=cwd)
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert any(line.endswith("with up to 5 examples, seed 1234567 (rerun: --seed 1234567)") for line in lines), lines
    assert any(line.startswith("no finding: 5 examples") and line.endswith("seed 1234567") for line in lines), lines
    assert list(cwd.iterdir()) == []  # no .hypothesis/, nothing else
    assert list(workdir.iterdir()) == []


def test_flags_show_no_metavar_in_help():
    result = run_cli("hunt", "--help")
    assert result.returncode == 0
    flag = next(line for line in result.stdout.splitlines() if "--no-extension" in line)
    assert "<bool>" not in flag and "BOOLEAN" not in flag


# ----- signals: stop, clean up, say where it stopped ---------------------------------------------
def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_the_search_leaves_nothing_behind_and_says_how_to_go_on(tmp_path, signum, code):
    marker = f"RESUME_HARNESS_TEST_MARK={uuid.uuid4().hex}"
    workdir = tmp_path / "work"
    # kill faults: children of the fork server are running when the signal comes
    proc = subprocess.Popen([*CLI, "hunt", "--max-examples", "100000", "--seed", "77", "--faults", "kill,raise",
                             "--workdir", str(workdir)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, marker.split("=")[0]: marker.split("=")[1]})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(_processes_with(marker)) < 3:  # the hunt, its server, a child
        time.sleep(0.05)
    time.sleep(1.0)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, (out, err)
    name = "SIGINT" if signum == signal.SIGINT else "SIGTERM"
    line = err.strip().splitlines()[-1]
    assert re.match(rf"resume-harness: stopped by {name} after \d+ examples in [\d.]+s, seed 77; no finding so far; "
                    r"run it again: \S+ hunt .*--seed 77$", line), line
    # the children it stopped are gone, and their directories, within seconds (a fixed half
    # second failed once with both cores busy: how long reaping takes is the machine's load)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (_processes_with(marker) or list(workdir.iterdir())):
        time.sleep(0.1)
    assert _processes_with(marker) == []
    assert list(workdir.iterdir()) == []


@pytest.mark.parametrize("stop, code", [("KeyboardInterrupt", 130), ("Terminated", 143)])
def test_a_search_stopped_while_shrinking_writes_the_failure_it_had(tmp_path, stop, code):
    # The mutant fails within a few examples (seed 6: at the third); the stop lands at the 20th, while shrinking.
    script = ("import sys; import harness.cli as cli; from harness.exits import Terminated\n"
              "real = cli.hunt\n"
              "def hunt(*args, on_example=None, **kwargs):\n"
              "    def tick(n):\n"
              "        if n == 20:\n"
              f"            raise {stop}\n"
              "    return real(*args, on_example=tick, **kwargs)\n"
              "cli.hunt = hunt\n"
              f"sys.exit(cli.main(['hunt', '--target', 'mutant:seed_restart', '--seed', '6', '--out', "
              f"{str(tmp_path / 'out')!r}, '--workdir', {str(tmp_path / 'work')!r}]))\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == code, result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert re.match(r"resume-harness: stopped by SIG(INT|TERM) after 20 examples .* a failure so far, maybe not "
                    r"shrunk: duplicated .* replay it: resume-harness replay \S+finding.json; run it again: ", line), line
    finding = json.loads((tmp_path / "out" / "finding.json").read_text())
    assert finding["target"] == "mutant:seed_restart" and finding["seed"] == 6
    assert run_cli("replay", str(tmp_path / "out" / "finding.json")).returncode == 1
    assert list((tmp_path / "work").iterdir()) == []


def test_a_stop_the_search_engine_turned_into_its_own_error_is_still_a_stop(tmp_path):
    # A SIGTERM landing while Hypothesis draws data comes out of it as "inconsistent data
    # generation"; the stop was recorded when it arrived, so it is reported as the stop it was.
    script = ("import signal, sys; import harness.cli as cli; from harness import exits\n"
              "real = cli.hunt\n"
              "def hunt(*args, on_example=None, **kwargs):\n"
              "    def tick(n):\n"
              "        if n == 7:\n"
              "            exits._RECEIVED.append(signal.SIGTERM)\n"
              "            raise RuntimeError('a library wrapped the stop')\n"
              "    return real(*args, on_example=tick, **kwargs)\n"
              "cli.hunt = hunt\n"
              f"sys.exit(cli.main(['hunt', '--seed', '3', '--workdir', {str(tmp_path / 'work')!r}]))\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 143, result.stderr
    assert re.match(r"resume-harness: stopped by SIGTERM after \d+ examples .*seed 3; no finding so far",
                    result.stderr.strip().splitlines()[-1]), result.stderr
    assert list((tmp_path / "work").iterdir()) == []


def test_a_stop_swallowed_where_it_landed_still_ends_the_search(tmp_path):
    # A signal whose handler runs inside a garbage-collector callback or a __del__ raises
    # there, and Python reports "Exception ignored" and goes on: the search must still stop,
    # at the next example, with the stop's exit code and message (seen: Hypothesis's gc callback).
    script = ("import signal, sys; import harness.cli as cli; from harness import exits\n"
              "class Swallowed:\n"
              "    def __del__(self):\n"
              "        exits._raise_stop(signal.SIGTERM, None)\n"
              "real = cli.hunt\n"
              "def hunt(*args, on_example=None, **kwargs):\n"
              "    def tick(n):\n"
              "        if n == 7:\n"
              "            Swallowed()\n"
              "    return real(*args, on_example=tick, **kwargs)\n"
              "cli.hunt = hunt\n"
              f"sys.exit(cli.main(['hunt', '--seed', '3', '--max-examples', '100000', "
              f"'--workdir', {str(tmp_path / 'work')!r}]))\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert "Exception ignored" in result.stderr  # the stop was swallowed where it landed
    assert result.returncode == 143, result.stderr
    assert re.match(r"resume-harness: stopped by SIGTERM after 7 examples .*seed 3; no finding so far",
                    result.stderr.strip().splitlines()[-1]), result.stderr
    assert list((tmp_path / "work").iterdir()) == []


def test_a_work_directory_made_again_after_its_removal_is_removed_again(tmp_path):
    """An async engine's threads can outlive their trial in the harness's process and write
    into its directory after it was removed, making it again: the next sweep removes it, and
    so does the process's exit."""
    import subprocess
    import sys

    from harness import workdirs

    with workdirs.work_directory(tmp_path) as first:
        pass
    (first / "resumed" / "artifacts").mkdir(parents=True)  # a late write, after the removal
    workdirs.sweep()
    assert not first.exists()
    code = (
        "from pathlib import Path\n"
        "from harness.workdirs import work_directory\n"
        f"with work_directory(Path({str(tmp_path)!r})) as trial:\n"
        "    pass\n"
        "(trial / 'late').mkdir(parents=True)\n"
        "print(trial)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    made_again = result.stdout.strip()
    assert made_again and not Path(made_again).exists()


def test_a_home_whose_maker_was_killed_is_removed_by_the_next_process_that_makes_one(tmp_path):
    """A process ended by SIGKILL runs no atexit: its DataDesigner home stays. The next
    harness process that makes a home under the same root removes it, and never a home of
    a process still running (nor one it did not name)."""
    code = (
        "import os, sys\n"
        "from harness.targets.data_designer import hermetic\n"
        "hermetic()\n"
        "print(os.environ['DATA_DESIGNER_HOME'], flush=True)\n"
        "if sys.argv[1] == 'die':\n"
        "    os.kill(os.getpid(), 9)\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("RESUME_HARNESS_DD_HOME_OWNER", "DATA_DESIGNER_HOME")}
    env["RESUME_HARNESS_WORKDIR"] = str(tmp_path)
    killed = subprocess.run([sys.executable, "-c", code, "die"], capture_output=True, text=True, env=env, timeout=60)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    orphan = Path(killed.stdout.strip())
    assert orphan.parent == tmp_path and orphan.is_dir()  # no atexit ran
    living = tmp_path / f"resume-harness-dd-home-{os.getpid()}-kept"
    living.mkdir()
    foreign = tmp_path / "resume-harness-dd-home-abcdef"
    foreign.mkdir()
    clean = subprocess.run([sys.executable, "-c", code, "live"], capture_output=True, text=True, env=env, timeout=60)
    assert clean.returncode == 0, clean.stderr
    assert not orphan.exists()
    assert living.is_dir() and foreign.is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([living.name, foreign.name])
