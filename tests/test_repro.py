"""The reproducer generator, proven without DataDesigner: mutant reproducers run and fail,
and DataDesigner scripts are rendered standalone, lint-clean and short."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import issue_709_scenario, seeds

from harness import repro
from harness.model_columns import ModelColumn, ProviderFault
from harness.property import check_scenario
from harness.scenario import Fault, IndexRange, Scenario, Segment
from harness.targets.registry import get_target

RUFF = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))


def _mutant_reproducer(tmp_path: Path) -> list[Path]:
    scenario = issue_709_scenario()
    target = get_target("mutant:seed_restart")
    verdict = check_scenario(target, scenario)
    reproducer = repro.build(scenario, target.name, target.version, verdict)
    script = tmp_path / f"repro_{reproducer.id}.py"
    script.write_text(reproducer.script)
    versions = repro.versions_checked(script, [("here", Path(sys.executable))])
    return repro.write(tmp_path, reproducer, versions, scenario.engine)


def test_mutant_reproducer_script_exits_1_and_prints_the_replayed_rows(tmp_path):
    script, _test, report = _mutant_reproducer(tmp_path)
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "resumed:  ['alpha', 'alpha', 'beta']" in result.stdout
    assert "- here" in report.read_text() and "fails (reproduces)" in report.read_text()


def test_mutant_regression_test_fails_while_the_bug_exists(tmp_path):
    _script, test, _report = _mutant_reproducer(tmp_path)
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test)],
                            capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 1, result.stdout
    assert "1 failed" in result.stdout


def _dd_files(scenario: Scenario, release: str = "0.6.0") -> repro.Reproducer:
    # Rendering needs a failing verdict; the #709 scenario on its mutant gives one.
    verdict = check_scenario(get_target("mutant:seed_restart"), issue_709_scenario())
    return repro.build(scenario, "data_designer:sync", release, verdict)


def test_data_designer_script_is_standalone_and_pins_the_release():
    script = _dd_files(issue_709_scenario()).script
    tree = ast.parse(script)
    imported = {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert not any(name.split(".")[0] == "harness" for name in imported)
    assert '# dependencies = ["data-designer==0.6.0", "pandas==' in script
    assert 'os.environ["DATA_DESIGNER_ASYNC_ENGINE"] = "0"' in script
    assert "EXPECTED = ['alpha', 'beta', 'gamma']" in script


def test_async_scripts_run_every_stopped_segment_in_a_process_of_its_own():
    """The async engine's event loop outlives an interrupted create() in its process; the
    script ends that process at once, as a crash would. Sync runs `raise` in process."""
    reproducer = _dd_files(issue_709_scenario("async"))
    for text in (reproducer.script, reproducer.test):
        assert "        if SEGMENTS[group[0]][2]:  # its end stops the async engine's loop" in text
        assert "os._exit(0)" in text
    assert '"--segments", ",".join(map(str, group))' in reproducer.script
    assert "subprocess" not in _dd_files(issue_709_scenario()).script


def test_a_script_with_two_fresh_starts_aligns_them_to_a_second_and_reads_back_the_last_run_s_dataset():
    """0.6 to 0.8 name a fresh run's directory by the wall clock's second: the script starts
    the first fresh run (IF_POSSIBLE after a change, or NEVER) just after a second begins, and
    reads back the directory the last run reported, not the original dataset's. A chain
    without two fresh starts renders neither."""
    from harness.ledger import load_ledger, packaged_ledger

    entry = next(f for f in load_ledger(packaged_ledger()) if f.id == "dd-fresh-runs-of-one-second-share-a-directory-sync")
    script = _dd_files(entry.scenario).script
    assert "    if index == 1:  # two runs that start fresh in one second share a directory (0.6 to 0.8)" in script
    assert "time.sleep(1.02 - time.time() % 1)" in script and "import time" in script
    assert 'Path(base, "dataset.txt").write_text(str(storage.base_dataset_path))' in script
    assert "ArtifactStorage(artifact_path=where.parent, dataset_name=where.name," in script
    plain = _dd_files(issue_709_scenario()).script
    assert "dataset.txt" not in plain and "time.sleep" not in plain


def test_a_script_s_first_run_is_a_fresh_installation_s_only_where_its_scenario_says_so():
    """On a fresh installation the first DataDesigner() writes the model defaults a config
    without model configs takes (dd-first-run-of-an-installation-cannot-be-resumed): a script
    builds its DataDesigner before its config, so that a maintainer's first run of it shows
    its own bug, not that one; a fresh_home scenario's script builds the config first, on a
    DATA_DESIGNER_HOME of its own that its child processes share."""
    import dataclasses

    for scenario in (issue_709_scenario(), issue_709_scenario("async")):
        plain = _dd_files(scenario).script
        assert plain.index("    designer = DataDesigner(") < plain.index("    builder = dd.DataDesignerConfigBuilder(")
        assert "DATA_DESIGNER_HOME" not in plain
        fresh = _dd_files(dataclasses.replace(scenario, fresh_home=True)).script
        assert fresh.index("    builder = dd.DataDesignerConfigBuilder(") < fresh.index("    designer = DataDesigner(")
        assert 'if "REPRO_FRESH_DD_HOME" not in os.environ:' in fresh
        assert fresh.index("DATA_DESIGNER_HOME") < fresh.index("import data_designer")
        compile(fresh, "fresh.py", "exec")


def test_minimal_data_designer_script_is_under_90_lines():
    assert len(_dd_files(issue_709_scenario()).script.splitlines()) < 90


KINDS = {
    "minimal": issue_709_scenario(),
    "kill-csv-range": Scenario(seeds=seeds(4), source="csv", selection=IndexRange(1, 3), buffer_size=2,
                               segments=(Segment(5, fault=Fault("kill", "checkpoint", 1)), Segment(6, "always"))),
    "tear-directory": Scenario(seeds=(seeds(2)[0].__class__(0, "alpha", ("a0", "a1")),), source="directory",
                               segments=(Segment(2, fault=Fault("tear", "checkpoint", 1)), Segment(2, "always"))),
    "shuffle-jsonl": Scenario(seeds=seeds(3), source="jsonl", sampling="shuffle",
                              segments=(Segment(3, fault=Fault("raise", "checkpoint", 1)), Segment(3, "always"))),
    "async-kill-and-raise": Scenario(seeds=seeds(3), engine="async", buffer_size=1,
                                     segments=(Segment(3, fault=Fault("kill", "checkpoint", 1)),
                                               Segment(3, "always", fault=Fault("raise", "checkpoint", 1)),
                                               Segment(3, "always"))),
    "sync-sigint-then-sigterm-same-process": Scenario(
        seeds=seeds(3), segments=(Segment(3, fault=Fault("sigint", "checkpoint", 1)),
                                  Segment(3, "always", Fault("sigterm", "checkpoint", 1), process="same"),
                                  Segment(3, "always"))),
    "async-sigint-same-process-shuffle": Scenario(
        seeds=seeds(3), engine="async", sampling="shuffle",
        segments=(Segment(3, fault=Fault("sigint", "checkpoint", 2)), Segment(3, "always", process="same"))),
    "async-outage-model-columns-provider-faults": Scenario(
        seeds=seeds(3), engine="async", buffer_size=2,
        model_columns=(ModelColumn("llm_0", "describe"), ModelColumn("llm_1", "summarize")),
        provider_faults=(ProviderFault(1, "slow"), ProviderFault(2, "http400", permanent=True)),
        segments=(Segment(4, fault=Fault("outage", "checkpoint", 1)), Segment(4, "always"))),
}


def test_a_model_column_script_serves_its_own_provider_and_needs_nothing_else():
    """The provider lives in the script (the standard library's HTTP server), with the
    scenario's faults by row; the expected rows hold the model's answers and leave out the
    row the provider refuses; an outage tells the provider and lets the segment go on."""
    script = _dd_files(KINDS["async-outage-model-columns-provider-faults"], release="0.9.7").script
    tree = ast.parse(script)
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert not any(name.split(".")[0] == "harness" for name in imported)
    assert "FAULTS = {1: ('slow', False), 2: ('http400', True)}" in script
    assert "class Provider(http.server.BaseHTTPRequestHandler):" in script
    assert 'if stop[1] == "outage":' in script and 'tell("outage")' in script
    assert "dd.LLMTextColumnConfig(name='llm_1', prompt='[row {{ seed_id }}] llm_1: summarize {{ name }}'" in script
    assert "COLUMNS = ['name', 'llm_0', 'llm_1']" in script
    assert "gamma" not in script.split("EXPECTED = ")[1].split("]")[0]  # row 2 is refused for good


def _work_files(scenario: Scenario) -> repro.Reproducer:
    # A verdict of work done twice: the start_over mutant on the #709 scenario.
    verdict = check_scenario(get_target("mutant:start_over"), issue_709_scenario())
    assert verdict.kinds == ("redone",)
    return repro.build(scenario, "data_designer:async", "0.9.7", verdict)


@pytest.mark.parametrize("work", [False, True], ids=["rows", "work"])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_generated_scripts_and_tests_pass_ruff(tmp_path, kind, work):
    reproducer = _work_files(KINDS[kind]) if work else _dd_files(KINDS[kind], release="0.9.7")
    (tmp_path / "repro_x.py").write_text(reproducer.script)
    (tmp_path / "test_regression_x.py").write_text(reproducer.test)
    result = subprocess.run([RUFF, "check", "--no-cache", "--isolated", "--select", "E,F,I,W", "--line-length", "120",
                             str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_signals_and_same_process_segments_are_delivered_as_the_scenario_says():
    script = _dd_files(KINDS["sync-sigint-then-sigterm-same-process"]).script
    assert "os.kill(os.getpid(), signal.SIGINT)" in script and "os.kill(os.getpid(), signal.SIGTERM)" in script
    assert "except (Stop, KeyboardInterrupt):" in script
    # started as a background job (SIGINT ignored), the script must still meet Ctrl-C
    assert "    signal.signal(signal.SIGINT, signal.default_int_handler)" in script
    assert "    signal.signal(signal.SIGTERM, signal.SIG_DFL)" in script
    assert "default_int_handler" not in _dd_files(issue_709_scenario("async")).script
    assert "RETURNED" not in script  # the sync engine's callback runs in the main thread: it is interrupted
    # async: the engine's thread that pressed Ctrl-C holds until the interrupted call has
    # returned, so that the work the engine goes on with shows on every run, not on its timing
    on_engine_thread = _dd_files(KINDS["async-sigint-same-process-shuffle"], release="0.7.0").script
    assert "RETURNED = threading.Event()" in on_engine_thread and "import threading" in on_engine_thread
    kill = on_engine_thread.index("os.kill(os.getpid(), signal.SIGINT)")
    assert on_engine_thread.index("RETURNED.wait(1)") > kill
    assert on_engine_thread.index("    RETURNED.set()") > on_engine_thread.index("except (Stop, KeyboardInterrupt):")
    assert "PROCESSES = [[0, 1], [2]]" in script
    assert "if len(group) > 1 or SEGMENTS[group[0]][2] and SEGMENTS[group[0]][2][1] in OWN_PROCESS:" in script


def test_a_work_finding_script_logs_checkpoints_and_fails_on_waste():
    script = _work_files(issue_709_scenario("async")).script
    assert 'log(base, f"{index} {Path(path).name}")' in script
    assert "if not (actual == baseline == EXPECTED and not waste):" in script
    assert "def wasted(base):" not in _dd_files(issue_709_scenario("async")).script


def test_report_has_the_sections_of_a_good_upstream_issue():
    report = _dd_files(issue_709_scenario()).report
    for heading in ("## Summary", "## Versions checked", "## Minimal repro", "## Actual vs Expected",
                    "## Why this happens", "## Impact"):
        assert heading in report
    assert "['alpha', 'alpha', 'beta']" in report
    assert "checkpoint 1 of segment 0 (group 0) had already produced seed_id 0" in report


def test_a_crash_on_the_engine_s_timing_is_tried_again_by_its_reproducer_and_its_test():
    """A run that fails on its threads' timing (the async crash of 0.6.1 to 0.8.0) shows on
    some runs only: the reproducer and the regression test try it `CRASH_TRIES` times, and a
    run that raises is the bug; any other reproducer runs once."""
    from harness.targets.data_designer_repro import CRASH_TRIES, render_dd_script, render_dd_test

    scenario = Scenario(seeds=seeds(3), engine="async", buffer_size=1, segments=(Segment(9),),
                        model_columns=(ModelColumn("llm_0", "describe"),),
                        provider_faults=(ProviderFault(1, "http400", permanent=True),))
    script = render_dd_script(scenario, "0.8.0", "s", "ident", crash=True)
    test = render_dd_test(scenario, "0.8.0", "s", "ident", crash=True)
    ast.parse(script)
    ast.parse(test)
    assert f"for _ in range({CRASH_TRIES}):" in script and "except Exception as exc:" in script
    assert f"for attempt in range({CRASH_TRIES}):" in test
    once = render_dd_script(scenario, "0.8.0", "s", "ident")
    main = once.split("def main():")[1].split('if __name__ == "__main__":')[0]
    assert "for _ in range(" not in main and "except Exception" not in main


@pytest.mark.parametrize(("where", "code"), [("data_designer", 1), ("script", 3), (None, 0)])
def test_a_datadesigner_reproducer_exits_1_only_where_datadesigner_raised(where, code, tmp_path):
    """Exit 1 is the release failing the run and nothing else: an exception raised inside
    DataDesigner's code is the release's (exit 1); one the script's own code raises is the
    script failing (exit 3, traceback printed), never a reproduction. The rendered script's
    own `__main__` block runs here, around a `main` that raises from a module in a
    `data_designer` package directory, or from the script."""
    import subprocess
    import sys

    from harness.targets.data_designer_repro import render_dd_script

    script = render_dd_script(Scenario(seeds=seeds(2), engine="sync", segments=(Segment(2),)), "0.6.1", "s", "x")
    tree = ast.parse(script)
    kept = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom)) and "data_designer" not in ast.unparse(n)
            or (isinstance(n, ast.FunctionDef) and n.name == "raised_by_data_designer")
            or (isinstance(n, ast.If) and "__main__" in ast.unparse(n.test))]
    package = tmp_path / "site" / "data_designer"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("def create():\n    raise ValueError('Failed to load generated dataset')\n")
    body = {"data_designer": "def main():\n    import data_designer\n    data_designer.create()\n",
            "script": "def main():\n    return [][0]\n", None: "def main():\n    return 0\n"}[where]
    probe = tmp_path / "probe.py"
    probe.write_text(f"import sys\nsys.path.insert(0, {str(tmp_path / 'site')!r})\n"
                     + "\n".join(ast.unparse(n) for n in kept[:-1]) + "\n" + body + ast.unparse(kept[-1]) + "\n")
    result = subprocess.run([sys.executable, str(probe)], capture_output=True, text=True, timeout=60)
    assert result.returncode == code, result.stdout + result.stderr
    if code:
        assert "Traceback" in result.stderr


def test_a_hang_reproducer_s_provider_refuses_a_row_retried_without_end_and_the_script_says_so():
    """A run that never ends (a row rate-limited on every request, retried without end on
    0.6.1 to 0.9.7's async engine): the script's provider counts each prompt's requests in a
    run and, past `ASK_LIMIT`, notes it and refuses the row (HTTP 400), so that `create()`
    returns and the script exits 1 saying what it saw; the regression test asserts no prompt
    went past it. The rendered provider runs here, without DataDesigner."""
    import http.client
    import json

    from harness.targets.data_designer_repro import render_dd_script, render_dd_test
    from harness.targets.data_designer_repro_provider import ASK_LIMIT

    scenario = Scenario(seeds=seeds(2), engine="async", buffer_size=1, segments=(Segment(2),),
                        model_columns=(ModelColumn("llm_0", "describe"),),
                        provider_faults=(ProviderFault(1, "http429", permanent=True),))
    script = render_dd_script(scenario, "0.9.7", "s", "ident", hang="row")
    assert 'for prompt, asked in Provider.state["over_asked"][:1]:' in script
    assert 'assert not Provider.state["over_asked"]' in render_dd_test(scenario, "0.9.7", "s", "ident", hang="row")
    assert "over_asked" not in render_dd_script(scenario, "0.9.7", "s", "ident")
    tree = ast.parse(script)
    kept = [n for n in tree.body if (isinstance(n, (ast.Import, ast.ImportFrom)) and "data_designer" not in ast.unparse(n)
                                     and "pandas" not in ast.unparse(n))
            or (isinstance(n, ast.Assign) and ast.unparse(n.targets[0]) in ("FAULTS", "SLOW", "ASK_LIMIT"))
            or (isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name in ("answer", "Provider", "Server",
                                                                                "endpoint", "tell"))]
    space: dict = {}
    exec(compile(ast.Module(body=kept, type_ignores=[]), "repro", "exec"), space)  # noqa: S102 - the rendered script
    port = int(space["endpoint"]().split(":")[2].split("/")[0])
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "[row 1] llm_0: describe beta"}]})
    statuses = []
    for _ in range(ASK_LIMIT + 3):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("POST", "/v1/chat/completions", body, {"Content-Type": "application/json"})
        statuses.append(connection.getresponse().status)
        connection.close()
    assert statuses == [429] * ASK_LIMIT + [400] * 3
    assert space["Provider"].state["over_asked"][0] == ("[row 1] llm_0: describe beta", ASK_LIMIT + 1)
    space["tell"]("reset")  # a new run counts again; what was seen stays
    assert space["Provider"].state["asked"] == {} and space["Provider"].state["over_asked"]


@pytest.mark.parametrize("given", [False, True])
def test_a_model_column_script_removes_the_datadesigner_home_it_made_and_keeps_one_it_was_given(tmp_path, given):
    """A model-column reproducer points DataDesigner's home at a directory of its own (its
    defaults are written there, not in the user's home); it removes that directory when it
    exits, and leaves alone one the caller set. The script's lines up to DataDesigner's
    import run here, without DataDesigner."""
    import os

    from harness.targets.data_designer_repro import render_dd_script

    scenario = Scenario(seeds=seeds(2), engine="async", buffer_size=1, segments=(Segment(2),),
                        model_columns=(ModelColumn("llm_0", "describe"),))
    script = render_dd_script(scenario, "0.9.7", "s", "ident")
    head = script[:script.index("\ntry:\n    import data_designer")]
    assert "DATA_DESIGNER_HOME" in head
    probe = tmp_path / "probe.py"
    probe.write_text(head + 'Path(os.environ["DATA_DESIGNER_HOME"], "config.yaml").write_text("x")\n'
                     'print(os.environ["DATA_DESIGNER_HOME"])\n')
    env = {k: v for k, v in os.environ.items() if k != "DATA_DESIGNER_HOME"}
    if given:
        env["DATA_DESIGNER_HOME"] = str(tmp_path / "home")
        (tmp_path / "home").mkdir()
    result = subprocess.run([sys.executable, str(probe)], capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    home = Path(result.stdout.strip())
    assert (home == tmp_path / "home") is given
    assert home.exists() is given


@pytest.mark.parametrize(("child", "code"), [("hangs", 1), ("ends", 0)])
def test_a_deadlock_reproducer_runs_each_process_with_a_deadline_and_a_hung_one_is_the_bug(child, code, tmp_path):
    """A hang without model columns is the process's (a resume in the process of a stopped run
    that deadlocks, 0.6.0's shared seed reader): the script runs each process of the chain with
    a deadline, up to `DEADLOCK_TRIES` times; one that does not end in time is killed and is
    the bug (exit 1), and when every process ends it exits 0, whatever the runs gave. The
    rendered main runs here with a `run` that hangs or returns in place of DataDesigner's."""
    import subprocess
    import sys

    from harness.targets.data_designer_repro import DEADLOCK_SECONDS, DEADLOCK_TRIES, render_dd_script, render_dd_test

    scenario = Scenario(seeds=seeds(1), engine="async", buffer_size=1,
                        segments=(Segment(4, "never", Fault("sigint", "checkpoint", 1)),
                                  Segment(4, "always", None, process="same")))
    script = render_dd_script(scenario, "0.6.0", "s", "ident", hang="process")
    assert "0: every process of the chain ended" in script
    assert f"HANG_SECONDS = {DEADLOCK_SECONDS}  #" in script
    assert ", timeout=HANG_SECONDS)" in render_dd_test(scenario, "0.6.0", "s", "ident", hang="process")
    assert "HANG_SECONDS" not in render_dd_script(scenario, "0.6.0", "s", "ident")
    tree = ast.parse(script)
    kept = [n for n in tree.body if (isinstance(n, (ast.Import, ast.ImportFrom)) and "data_designer" not in ast.unparse(n)
                                     and "pandas" not in ast.unparse(n))
            or (isinstance(n, ast.Assign) and ast.unparse(n.targets[0]) in ("SEGMENTS", "PROCESSES"))
            or (isinstance(n, ast.FunctionDef) and n.name == "main")]
    body = "def run(base, index, num_records, mode, stop):\n"
    body += "    time.sleep(30)\n" if child == "hangs" else "    pass\n"
    probe = tmp_path / "probe.py"
    probe.write_text("import time\nHANG_SECONDS = 1\n" + "\n".join(ast.unparse(n) for n in kept) + "\n" + body
                     + "sys.exit(main())\n")
    result = subprocess.run([sys.executable, str(probe)], capture_output=True, text=True, timeout=120)
    assert result.returncode == code, result.stdout + result.stderr
    said = "did not end within 1 s: the process hung" if code else f"{DEADLOCK_TRIES} runs of the chain: every process ended"
    assert said in result.stdout


def test_a_hang_with_model_columns_is_the_process_s_unless_the_provider_saw_a_row_retried_without_end():
    """A run with model columns that hangs asking nothing (0.7.0 and 0.8.0's orphaned retry of
    a freed row group: the scheduler waits for ever) is a process that never ends: its script
    gives each process of the chain a deadline, the finding's own (`hang_seconds`) where it has
    one; a hang the provider ended by refusing a row asked past its limit is a row retried
    without end, which the script's provider counts instead."""
    from harness.checker import Anomaly, Verdict
    from harness.provider import RETRIED_WITHOUT_END

    scenario = Scenario(seeds=seeds(2), engine="async", buffer_size=1,
                        segments=(Segment(4, "never", Fault("raise", "checkpoint", 2)),
                                  Segment(4, "always", Fault("outage", "checkpoint", 1), process="same"),
                                  Segment(4, "always")),
                        model_columns=(ModelColumn("llm_0", "describe"), ModelColumn("llm_1", "describe")),
                        provider_faults=(ProviderFault(0, "malformed", permanent=True),))

    def verdict(detail: str) -> Verdict:
        return Verdict("hang", (Anomaly("hang", "resumed", detail, segment=1),))

    stuck = repro.build(scenario, "data_designer:async", "0.8.0",
                        verdict("hang: segment 1 did not finish within 20s (after checkpoint 1)"), hang_seconds=20)
    assert "0: every process of the chain ended" in stuck.script and "HANG_SECONDS = 20  #" in stuck.script
    assert "over_asked" not in stuck.script and ", timeout=HANG_SECONDS)" in stuck.test
    retried = repro.build(scenario, "data_designer:async", "0.8.0",
                          verdict(f"hang: segment 1 was still asking ...: {RETRIED_WITHOUT_END} (...)"), hang_seconds=20)
    assert "HANG_SECONDS" not in retried.script and 'Provider.state["over_asked"]' in retried.script
