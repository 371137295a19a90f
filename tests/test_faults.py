import os
import time
from pathlib import Path

import pytest
from helpers import (
    fail_in_child,
    kill_parent_process,
    leave_a_thread_writing,
    names,
    seeds,
    write_environment_variable,
    write_whether_loaded,
)

from harness import zygote
from harness.errors import HarnessUsageError
from harness.faults import START_METHODS, FaultInjector, run_in_child, start_method
from harness.journal import Journal
from harness.property import check_scenario
from harness.scenario import Fault, Scenario, Segment
from harness.targets.reference import ReferenceTarget
from harness.targets.registry import get_target


def _kill_scenario(engine: str) -> Scenario:
    return Scenario(seeds=seeds(3), engine=engine, buffer_size=1,
                    segments=(Segment(3, fault=Fault("kill", "checkpoint", 2)), Segment(3, "always")))


@pytest.mark.parametrize("engine", ["sync", "async"])
def test_kill_fault_sigkills_a_child_and_the_resume_completes(tmp_path, engine):
    outcome = get_target("reference").run(_kill_scenario(engine), tmp_path)
    assert outcome.faults_fired == [(0, "SIGKILL after checkpoint 2")]
    assert outcome.error is None
    assert names(outcome.rows) == ["alpha", "beta", "gamma"]


@pytest.mark.parametrize("method", START_METHODS)
def test_every_start_method_runs_a_killed_child_and_reports_its_errors(tmp_path, monkeypatch, method):
    monkeypatch.setenv("RESUME_HARNESS_START_METHOD", method)
    outcome = get_target("reference").run(_kill_scenario("sync"), tmp_path / "run")
    assert outcome.faults_fired == [(0, "SIGKILL after checkpoint 2")]
    assert names(outcome.rows) == ["alpha", "beta", "gamma"]
    failed = run_in_child(fail_in_child, ("no such seed row",), tmp_path / "err")
    assert failed.exitcode == 3 and not failed.timed_out
    assert "ValueError: no such seed row" in failed.error


def test_an_unknown_start_method_is_a_usage_error(monkeypatch):
    monkeypatch.setenv("RESUME_HARNESS_START_METHOD", "thread")
    with pytest.raises(HarnessUsageError, match="RESUME_HARNESS_START_METHOD='thread'.*server, forkserver, spawn"):
        start_method()


@pytest.fixture
def fork_server(monkeypatch):
    """The harness's own fork server, whatever the environment of the test run says."""
    monkeypatch.setenv("RESUME_HARNESS_START_METHOD", "server")


def test_children_see_the_environment_of_the_moment_not_of_the_server_start(tmp_path, monkeypatch, fork_server):
    seen = tmp_path / "seen"
    monkeypatch.setenv("RESUME_HARNESS_PROBE", "first")
    run_in_child(write_environment_variable, ("RESUME_HARNESS_PROBE", str(seen)), tmp_path / "err")
    assert seen.read_text() == "first"
    monkeypatch.setenv("RESUME_HARNESS_PROBE", "second")
    run_in_child(write_environment_variable, ("RESUME_HARNESS_PROBE", str(seen)), tmp_path / "err")
    assert seen.read_text() == "second"


def test_the_fork_server_exits_when_the_harness_lets_go_of_it(tmp_path, fork_server):
    run_in_child(write_environment_variable, ("HOME", str(tmp_path / "seen")), tmp_path / "err")
    server = zygote._SERVERS.get(None)
    assert server is not None and server.process.poll() is None
    spares = [d for d in os.listdir("/proc") if d.isdigit() and _parent_of(d) == server.process.pid]
    assert spares  # the child forked ahead for the next request
    zygote._shutdown()
    assert server.process.poll() is not None
    assert all(_ends(int(pid)) for pid in spares)  # it goes with the server


def test_kill_fault_is_caught_on_the_seed_restart_mutant():
    verdict = check_scenario(get_target("mutant:seed_restart"), _kill_scenario("sync"))
    assert verdict.kinds[0] == "duplicated"


def test_kill_in_process_is_refused_rather_than_killing_the_test_process(tmp_path):
    injector = FaultInjector(Fault("kill", "checkpoint", 1), Journal(tmp_path / "j"), 0, in_child=False)
    with pytest.raises(RuntimeError, match="child process"):
        injector.after_checkpoint(tmp_path / "x")
    assert os.getpid() > 0


def test_child_that_hangs_is_reaped_and_reported_as_timed_out(tmp_path):
    started = time.monotonic()
    result = run_in_child(time.sleep, (60,), tmp_path / "err", timeout=1.0)
    assert result.timed_out
    assert time.monotonic() - started < 30


class HangingTarget(ReferenceTarget):
    """A target whose resumed segments never finish."""

    isolate = True
    segment_timeout = 1.0

    def run_segment(self, scenario, index, workdir, injector, journal):
        if index > 0:
            time.sleep(60)
        super().run_segment(scenario, index, workdir, injector, journal)


def test_hanging_segment_becomes_a_hang_anomaly_not_a_stuck_test():
    scenario = Scenario(seeds=seeds(2), segments=(Segment(2, fault=Fault("raise", "checkpoint", 1)), Segment(2, "always")))
    verdict = check_scenario(HangingTarget(), scenario)
    assert verdict.kinds == ("hang",)
    assert "did not finish within 1s" in verdict.anomalies[0].detail


class SlowTarget(ReferenceTarget):
    """A target whose every segment and load takes a known time of its own."""

    PAUSE = 0.2

    def __init__(self, isolate: bool) -> None:
        super().__init__()
        self.isolate = isolate

    def run_segment(self, scenario, index, workdir, injector, journal):
        time.sleep(self.PAUSE)
        super().run_segment(scenario, index, workdir, injector, journal)

    def load(self, scenario, workdir):
        time.sleep(self.PAUSE)
        return super().load(scenario, workdir)


@pytest.mark.parametrize(("isolate", "action"), [(False, "raise"), (True, "raise"), (False, "kill"), (True, "kill")])
def test_the_targets_own_time_is_counted_wherever_its_segments_run(tmp_path, isolate, action):
    """In process, in a child, and in a child SIGKILLed mid-segment (whose time is reported
    before the kill): two segments and one load, each at least PAUSE, and never more than
    the wall time of the whole run (the harness's own time is not the target's)."""
    scenario = Scenario(seeds=seeds(3), buffer_size=1,
                        segments=(Segment(3, fault=Fault(action, "checkpoint", 2)), Segment(3, "always")))
    target = SlowTarget(isolate)
    started = time.perf_counter()
    outcome = target.run(scenario, tmp_path)
    wall = time.perf_counter() - started
    assert names(outcome.rows) == ["alpha", "beta", "gamma"]
    assert 3 * SlowTarget.PAUSE <= outcome.target_seconds < wall
    assert target.spent == outcome.target_seconds


def test_write_fault_fires_before_the_indexed_durable_write(tmp_path):
    scenario = Scenario(seeds=seeds(2), segments=(Segment(2, fault=Fault("raise", "write", 2)), Segment(2, "always")))
    outcome = get_target("reference").run(scenario, tmp_path)
    assert outcome.faults_fired == [(0, "raise before durable write 2")]
    # sync: write 1 is group 0's data file, write 2 its metadata. Without metadata the resume
    # takes the configuration written at the start and keeps group 0, complete on disk (where
    # DataDesigner starts over): no checkpoint event, since the fault came before it.
    assert [(c.segment, c.group) for c in outcome.checkpoints] == [(1, 1)]
    assert names(outcome.rows) == ["alpha", "beta"]


def test_a_fork_server_that_dies_is_reported_mid_request_and_replaced_after(tmp_path, fork_server):
    with pytest.raises(zygote.ServerDied, match="fork server exited"):
        run_in_child(kill_parent_process, (str(tmp_path / "child"),), tmp_path / "err")
    # The child outlived its server: it must end, not stay stopped forever under init.
    assert _ends(int((tmp_path / "child").read_text()))
    result = run_in_child(write_environment_variable, ("HOME", str(tmp_path / "seen")), tmp_path / "err")
    assert result.exitcode == 0 and (tmp_path / "seen").read_text() == os.environ["HOME"]
    first = zygote._SERVERS.get(None)
    first.process.kill()
    first.process.wait()
    run_in_child(write_environment_variable, ("HOME", str(tmp_path / "again")), tmp_path / "err")
    assert zygote._SERVERS.get(None) is not first and (tmp_path / "again").read_text() == os.environ["HOME"]


def test_nothing_of_a_finished_child_runs_after_it_is_reported(tmp_path, fork_server):
    """A finished child is reported once every thread of it has stopped, not once the
    kernel has torn it down; a thread it left running never writes again."""
    written = tmp_path / "written"
    result = run_in_child(leave_a_thread_writing, (str(written),), tmp_path / "err")
    assert result.exitcode == 0 and not result.timed_out and result.error is None
    size = written.stat().st_size
    assert size > 0
    time.sleep(0.3)
    assert written.stat().st_size == size


def test_the_fork_server_reaps_the_children_it_stopped(tmp_path, fork_server):
    for _ in range(5):
        assert run_in_child(write_whether_loaded, ("os", str(tmp_path / "seen")), tmp_path / "err").exitcode == 0
    time.sleep(0.5)  # the kernel tears the killed ones down meanwhile; the next request reaps them
    assert run_in_child(write_whether_loaded, ("os", str(tmp_path / "seen")), tmp_path / "err").exitcode == 0
    server = zygote._SERVERS[None].process.pid
    children = [d for d in os.listdir("/proc") if d.isdigit() and _parent_of(d) == server]
    assert len(children) <= 2, children  # the spare, and the last one, maybe still in its teardown


def _ends(pid: int, within: float = 10.0) -> bool:
    """Whether process `pid` is gone (or a zombie) within `within` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state == "Z":
            return True
        time.sleep(0.05)
    return False


def _parent_of(pid: str) -> int | None:
    try:
        stat = open(f"/proc/{pid}/stat").read()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def test_children_of_the_fork_server_do_not_carry_pandas(tmp_path, fork_server):
    """pyarrow imports pandas on its first `pa.array`; a server holding pandas makes every
    kill fault's fork copy three times the memory. The warm-up runs every seed source."""
    seen = tmp_path / "seen"
    run_in_child(write_whether_loaded, ("pyarrow.parquet", str(seen)), tmp_path / "err")
    assert seen.read_text() == "True"  # the server did preload the harness's storage
    run_in_child(write_whether_loaded, ("pandas", str(seen)), tmp_path / "err")
    assert seen.read_text() == "False"


_RECORD = """
import json, os, sys
with open({path!r}, "w") as out:
    json.dump({{"path": sys.path, "parent": os.getppid()}}, out)
"""


def test_a_server_of_another_python_keeps_its_own_path_and_serves_every_request(tmp_path, fork_server):
    """What runs a chain's segment on another release: a server of that environment's Python
    (here this one's, by its path) imports with its own `sys.path`, not the parent's (which
    would import the parent's release), is started once for its requests, and is another
    server than this process's own."""
    import json
    import sys

    seen = []
    for k in range(2):
        record = tmp_path / f"record-{k}.json"
        code, timed_out = zygote.run_in_server(exec, (_RECORD.format(path=str(record)),), tmp_path / "err", 60.0,
                                               ["json"], python=sys.executable)
        assert (code, timed_out) == (0, False), (tmp_path / "err").read_text() if (tmp_path / "err").exists() else code
        seen.append(json.loads(record.read_text()))
    server = zygote._SERVERS[sys.executable]
    assert [s["parent"] for s in seen] == [server.process.pid] * 2
    tests = str(Path(__file__).parent)
    assert tests in sys.path and tests not in seen[0]["path"]
    run_in_child(write_environment_variable, ("HOME", str(tmp_path / "home")), tmp_path / "err")
    assert zygote._SERVERS[None].process.pid != server.process.pid
