"""Interruptions as users cause them and resumes as users start them: real SIGINT and
SIGTERM, resumes in the same process, a watchdog on every segment, and the two properties
of the work (quiescence: `ghost`; progress reuse: `redone`)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from helpers import names, seeds
from hypothesis import given, settings

from harness.chain import process_groups
from harness.errors import ScenarioError
from harness.fault_kinds import KINDS
from harness.model_columns import ModelColumn
from harness.property import check_scenario, hunt
from harness.scenario import FAULT_ACTIONS, Fault, Scenario, Segment
from harness.strategies import scenarios
from harness.targets.base import Capabilities
from harness.targets.reference import ReferenceTarget
from harness.targets.registry import get_target

NEW_MUTANTS = {"ghost_writer": "ghost", "start_over": "redone", "process_cache": None}


def chain(*segments: Segment, n: int = 3, engine: str = "sync", buffer_size: int = 1) -> Scenario:
    return Scenario(seeds=seeds(n), segments=segments, engine=engine, buffer_size=buffer_size)


def events(outcome, kind: str) -> list[dict]:
    return [e for e in outcome.events if e["event"] == kind]


# ----- the table of kinds ---------------------------------------------------------------------
def test_every_fault_kind_has_one_table_entry_that_the_scenario_accepts():
    assert FAULT_ACTIONS == tuple(KINDS) == ("raise", "kill", "tear", "sigint", "sigterm", "outage", "revoked")
    model = (ModelColumn("llm_0", "describe"),)
    for kind in KINDS.values():
        for point in ("checkpoint", "row", "write"):
            fault = Fault(kind.name, point, 1)
            if point in kind.points:
                assert Scenario(seeds=seeds(2), segments=(Segment(2, fault=fault), Segment(2, "always")),
                                model_columns=model)
            else:
                with pytest.raises(ScenarioError):
                    Scenario(seeds=seeds(2), segments=(Segment(2, fault=fault), Segment(2, "always")),
                             model_columns=model)
    # an outage interrupts the model provider: a config without a model column has none to interrupt
    with pytest.raises(ScenarioError, match="model_columns"):
        Scenario(seeds=seeds(2), segments=(Segment(2, fault=Fault("outage", "checkpoint", 1)), Segment(2, "always")))


@pytest.mark.parametrize("action, signal_name", [("sigint", "SIGINT"), ("sigterm", "SIGTERM")])
def test_a_signal_fault_is_a_real_signal_the_segments_process_sends_itself(tmp_path, action, signal_name):
    scenario = chain(Segment(3, fault=Fault(action, "checkpoint", 2)), Segment(3, "always"))
    outcome = get_target("reference").run(scenario, tmp_path)
    assert outcome.error is None, outcome.error
    assert outcome.faults_fired == [(0, f"{signal_name} after checkpoint 2")]
    starts = {e["segment"]: e["pid"] for e in events(outcome, "segment_start")}
    assert starts[0] != os.getpid()  # never the harness's own process
    ends = {e["segment"]: e for e in events(outcome, "segment_end")}
    if action == "sigint":  # Python's handler: KeyboardInterrupt in the main thread, where the callback runs
        assert ends[0]["how"] == "interrupted" and ends[0]["detail"].startswith("KeyboardInterrupt")
    else:  # the default disposition ends the process inside the segment: no end is recorded
        assert 0 not in ends
    assert [(c.segment, c.group) for c in outcome.checkpoints] == [(0, 0), (0, 1), (1, 2)]
    assert names(outcome.rows) == ["alpha", "beta", "gamma"]


# ----- where a resume runs -----------------------------------------------------------------------
def test_same_process_segments_share_one_child_and_fresh_ones_do_not(tmp_path):
    scenario = chain(Segment(3, fault=Fault("raise", "checkpoint", 1)),
                     Segment(3, "always", Fault("sigint", "checkpoint", 1), process="same"),
                     Segment(3, "always", Fault("raise", "checkpoint", 1)),
                     Segment(3, "always", process="same"))
    assert process_groups(scenario) == [[0, 1], [2, 3]]
    outcome = get_target("reference").run(scenario, tmp_path)
    assert outcome.error is None, outcome.error
    pids = {e["segment"]: e["pid"] for e in events(outcome, "segment_start")}
    assert pids[0] == pids[1] != pids[2] == pids[3]
    assert os.getpid() not in pids.values()
    assert names(outcome.rows) == ["alpha", "beta", "gamma"]


def test_a_same_process_resume_after_a_fault_that_ends_the_process_is_refused():
    for action in ("kill", "sigterm"):
        with pytest.raises(ScenarioError, match="ends its process"):
            chain(Segment(2, fault=Fault(action, "checkpoint", 1)), Segment(2, "always", process="same"))
    assert chain(Segment(2, fault=Fault("sigint", "checkpoint", 1)), Segment(2, "always", process="same"))


def test_the_process_field_round_trips_and_is_absent_when_fresh():
    scenario = chain(Segment(2, fault=Fault("sigint", "row", 1, 0)), Segment(3, "if_possible", process="same"))
    assert Scenario.from_json(scenario.to_json()) == scenario
    fresh = chain(Segment(2, fault=Fault("raise", "checkpoint", 1)), Segment(3, "always"))
    assert "process" not in fresh.to_json()


@settings(max_examples=200, deadline=None)
@given(scenario=scenarios(Capabilities()))
def test_strategies_never_draw_a_same_process_resume_after_the_process_has_ended(scenario):
    for before, after in zip(scenario.segments, scenario.segments[1:]):
        if after.process == "same":
            assert before.fault is None or not KINDS[before.fault.action].ends_process


# ----- the watchdog, wherever the segment runs ---------------------------------------------------
class NeverReturns(ReferenceTarget):
    """A target whose resumed segment never returns (after checkpoint 1, it waits forever)."""

    segment_timeout = 2.0

    def __init__(self, isolate: bool = False) -> None:
        super().__init__()
        self.isolate = isolate

    def run_segment(self, scenario, index, workdir, injector, journal):
        if index == 0:
            return super().run_segment(scenario, index, workdir, injector, journal)
        (workdir / f"alive-{os.getpid()}").write_text("")
        threading.Event().wait()


PLACEMENTS = {
    "in process": (NeverReturns(), chain(Segment(2, fault=Fault("raise", "checkpoint", 1)), Segment(2, "always"))),
    "in a child": (NeverReturns(isolate=True),
                   chain(Segment(2, fault=Fault("raise", "checkpoint", 1)), Segment(2, "always"))),
    "in a same-process chain": (NeverReturns(), chain(Segment(2, fault=Fault("sigint", "checkpoint", 1)),
                                                      Segment(2, "always", process="same"))),
}


@pytest.mark.parametrize("placement", list(PLACEMENTS))
def test_a_segment_that_never_returns_is_a_hang_within_the_timeout_and_leaves_nothing_running(tmp_path, placement):
    target, scenario = PLACEMENTS[placement]
    started = time.monotonic()
    outcome = target.run(scenario, tmp_path)
    assert time.monotonic() - started < target.segment_timeout + 5
    assert outcome.hang, outcome.error
    assert outcome.error.startswith("hang: segment 1 did not finish within 2s")
    assert "threading.py" in outcome.error or "wait" in outcome.error  # what it was doing
    for marker in tmp_path.glob("alive-*"):
        pid = int(marker.name.split("-")[1])
        if pid != os.getpid():
            time.sleep(0.2)
            assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]


class StopsWorking(ReferenceTarget):
    """A target whose resumed segment, in a child, waits for ever (`busy`: works for ever)."""

    isolate = True
    stall_seconds = 1.0

    def __init__(self, busy: bool, segment_timeout: float) -> None:
        super().__init__()
        self.busy, self.segment_timeout = busy, segment_timeout

    def run_segment(self, scenario, index, workdir, injector, journal):
        if index == 0:
            return super().run_segment(scenario, index, workdir, injector, journal)
        while self.busy:
            pass
        threading.Event().wait()


def test_a_child_that_stops_working_is_a_hang_long_before_the_timeout_and_one_that_works_is_not(tmp_path):
    """A deadlocked segment, or one that waits for ever, takes no CPU time, writes no journal
    event and asks nothing: its child is killed once it has done nothing for `stall_seconds`
    (`Stall`), not after the segment timeout; a segment that keeps working runs to the timeout."""
    scenario = chain(Segment(2, fault=Fault("raise", "checkpoint", 1)), Segment(2, "always"))
    started = time.monotonic()
    idle = StopsWorking(busy=False, segment_timeout=60.0).run(scenario, tmp_path / "idle")
    assert time.monotonic() - started < 20
    assert idle.hang and idle.error.startswith("hang: segment 1 stopped working (after checkpoint 0): no CPU time"), idle.error
    started = time.monotonic()
    busy = StopsWorking(busy=True, segment_timeout=3.0).run(scenario, tmp_path / "busy")
    assert time.monotonic() - started >= 3.0
    assert busy.hang and busy.error.startswith("hang: segment 1 did not finish within 3s"), busy.error


@pytest.mark.parametrize(("cpu_step", "state", "journal_grows", "fires"), [
    (0.0, "S", False, True),     # asleep, no CPU time, nothing written: stopped
    (0.01, "S", False, True),    # waking now and then (a wait-and-look-again loop): stopped
    (0.5, "S", False, False),    # using CPU time: working
    (0.0, "R", False, False),    # runnable but starved of CPU on a loaded machine: not stopped
    (0.0, "D", False, False),    # waiting on the disk: not stopped
    (0.0, "S", True, False),     # writing journal events: working
])
def test_the_stall_watchdog_fires_only_on_a_sleeping_child_that_does_nothing(cpu_step, state, journal_grows, fires,
                                                                            tmp_path):
    """`Stall`'s rule, with the process's CPU time and state given: it fires once `seconds`
    pass with the child asleep at every look, its CPU time up by less than
    `CPU_PER_WINDOW`, and no journal event."""
    from harness.journal import Journal
    from harness.targets.base import Stall

    journal = Journal(tmp_path / "journal.jsonl")
    stall = Stall(0.3, journal, None)
    cpu = [0.0]

    def read(_pid):
        cpu[0] += cpu_step
        return cpu[0], state

    stall._cpu = read
    said = []
    for i in range(10):
        if journal_grows:
            journal.append({"event": "checkpoint", "i": i})
        said.append(stall(1))
        time.sleep(0.05)
    assert any(said) is fires and stall.fired is fires


def test_a_load_that_never_returns_is_a_hang_too(tmp_path):
    class LoadNeverReturns(ReferenceTarget):
        segment_timeout = 1.0

        def load(self, scenario, workdir):
            threading.Event().wait()

    scenario = chain(Segment(2, fault=Fault("raise", "checkpoint", 1)), Segment(2, "always"))
    outcome = LoadNeverReturns().run(scenario, tmp_path)
    assert outcome.hang and outcome.error.startswith("hang: loading the dataset did not finish within 1s")


# ----- the new properties, and mutants only they catch --------------------------------------------
def test_ghost_work_is_reported_with_when_and_while_what(tmp_path):
    scenario = chain(Segment(3, fault=Fault("sigint", "checkpoint", 1)), Segment(3, "always", process="same"))
    verdict = check_scenario(get_target("mutant:ghost_writer"), scenario)
    ghosts = [a for a in verdict.anomalies if a.kind == "ghost"]
    assert ghosts, verdict.summary()
    assert ghosts[0].detail.startswith("segment 0 was interrupted (SIGINT after checkpoint 1) (KeyboardInterrupt)")
    assert "were then checkpointed by segment 0" in ghosts[0].detail and "s later" in ghosts[0].detail
    assert check_scenario(get_target("reference"), scenario).ok


def test_redone_work_names_the_groups_and_the_checkpoints_that_had_them():
    scenario = chain(Segment(3, fault=Fault("raise", "checkpoint", 2)), Segment(3, "always"))
    verdict = check_scenario(get_target("mutant:start_over"), scenario)
    assert verdict.kinds == ("redone",)
    assert verdict.anomalies[0].detail == ("segment 1 generated row group(s) 0, 1 again, complete on disk when it "
                                           "started (group 0: checkpoint 1 of segment 0; group 1: checkpoint 2 of "
                                           "segment 0)")


def test_a_torn_checkpoint_generated_again_is_not_redone():
    scenario = chain(Segment(3, fault=Fault("tear", "checkpoint", 2)), Segment(3, "always"))
    verdict = check_scenario(get_target("reference"), scenario)
    assert verdict.ok, verdict.summary()


def test_the_reference_keeps_progress_recorded_before_metadata_exists():
    # async: metadata is written after the first checkpoint's callback, where the fault fires
    scenario = chain(Segment(3, fault=Fault("raise", "checkpoint", 1)), Segment(3, "always"), engine="async")
    assert check_scenario(get_target("reference"), scenario).ok
    assert check_scenario(get_target("mutant:start_over"), scenario).kinds == ("redone",)


@pytest.mark.parametrize("mutant", sorted(NEW_MUTANTS))
@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_each_new_mutant_is_caught_by_a_default_hunt_only_through_the_new_dimensions(mutant, seed, tmp_path):
    result = hunt(get_target(f"mutant:{mutant}"), max_examples=300, seed=seed)
    assert result.finding is not None, f"mutant:{mutant} survived seed {seed}"
    kind = NEW_MUTANTS[mutant]
    if kind is not None:
        assert result.verdict.kinds == (kind,), result.verdict.summary()
    else:  # wrong only when the resume runs in the process that was interrupted
        assert any(s.process == "same" for s in result.finding.segments)
        fresh = Scenario.from_dict({**result.finding.to_dict(), "segments": [
            {k: v for k, v in s.items() if k != "process"} for s in result.finding.to_dict()["segments"]]})
        assert check_scenario(get_target(f"mutant:{mutant}"), fresh).ok
    outcome = get_target(f"mutant:{mutant}").run(result.finding, Path(tmp_path))
    fired = {segment for segment, _ in outcome.faults_fired}
    worked = {c.segment for c in outcome.checkpoints}
    idle = [i for i in range(len(result.finding.segments) - 1) if i not in fired and i not in worked]
    assert not idle, f"segments {idle} do nothing in {result.finding.describe()}"


def test_a_replay_of_a_finding_tries_until_the_kind_it_records_shows(monkeypatch):
    """A Ctrl-C ghost scenario on 0.6.0 also meets #709 on every try and shows `ghost` on
    some tries only: replaying the ghost finding must not stop at the first `duplicated`."""
    from harness import property as prop
    from harness.checker import Anomaly, Verdict

    def verdict(*kinds: str) -> Verdict:
        return Verdict("row-for-row", tuple(Anomaly(k, "resumed", k) for k in kinds))

    tries = iter([verdict(), verdict("duplicated"), verdict("duplicated", "ghost"), verdict()])
    seen: list[int] = []

    def fake(target, scenario, root=None, straight_runs=None):
        seen.append(1)
        return next(tries)

    monkeypatch.setattr(prop, "check_scenario", fake)
    scenario = chain(Segment(2, fault=Fault("raise", "checkpoint", 1)), Segment(3, "always"))
    found = prop.check_repeatedly(get_target("reference"), scenario, attempts=4, wanted=("ghost",))
    assert found.kinds == ("duplicated", "ghost") and len(seen) == 3
    tries = iter([verdict("duplicated"), verdict("lost"), verdict()])
    seen.clear()
    assert prop.check_repeatedly(get_target("reference"), scenario, attempts=3, wanted=("ghost",)).kinds == (
        "duplicated",), "with the wanted kind never showing, the first failure counts"
    tries = iter([verdict("duplicated"), verdict("ghost")])
    seen.clear()
    assert prop.check_repeatedly(get_target("reference"), scenario, attempts=2).kinds == ("duplicated",)
    assert len(seen) == 1, "without a wanted kind the first failure ends the tries"


def test_after_an_interruption_the_harness_waits_while_the_target_says_it_has_work_and_no_longer():
    """`Target.pending_work` (DataDesigner: its event loop has tasks left) decides how long the
    harness waits before it looks at the dataset, whatever the machine's load; bounded."""
    from harness.chain import wait_while_pending

    class Busy:
        def __init__(self, times: int) -> None:
            self.left = times

        def pending_work(self) -> bool:
            self.left -= 1
            return self.left >= 0

    target = Busy(5)
    waited = wait_while_pending(target)
    assert target.left == -1 and waited >= 0.05
    idle = Busy(0)
    assert wait_while_pending(idle) == 0.0 and idle.left == -1
    assert wait_while_pending(Busy(10**6), cap=0.05) < 1.0


class _StopsOnRevokedKey(ReferenceTarget):
    """The reference, but a segment whose key was revoked raises once its run is done, as
    DataDesigner's sync engine does at its early shutdown; `declares`: whether the target says
    that error is its stop (`stopped_by_provider`)."""

    def __init__(self, declares: bool) -> None:
        super().__init__()
        self.declares = declares

    def run_segment(self, scenario, index, workdir, injector, journal, *args, **kwargs):
        super().run_segment(scenario, index, workdir, injector, journal, *args, **kwargs)
        if injector.fired and injector.fault.action == "revoked":
            raise RuntimeError("terminated early: the provider refuses the key")

    def stopped_by_provider(self, error, warnings):
        return self.declares and error is not None and "terminated early" in str(error)


def test_a_run_the_target_stops_itself_after_its_key_is_revoked_was_interrupted_not_broken():
    scenario = Scenario(seeds=seeds(3), buffer_size=1, model_columns=(ModelColumn("llm_0", "describe"),),
                        segments=(Segment(3, fault=Fault("revoked", "checkpoint", 1)), Segment(3, "always")))
    verdict = check_scenario(_StopsOnRevokedKey(declares=True), scenario)
    assert verdict.ok and verdict.stopped == (0,), verdict.summary()
    from harness.coverage import Coverage

    coverage = Coverage()
    coverage.record(scenario, verdict.faults_fired, verdict.kinds, stopped=verdict.stopped)
    assert coverage.drawn["run stopped"] == {"revoked": 1}
    # the same error, not declared as the target's stop: an error
    verdict = check_scenario(_StopsOnRevokedKey(declares=False), scenario)
    assert "error" in verdict.kinds and verdict.stopped == ()


def test_a_revoked_key_is_drawn_only_when_a_search_asks_for_it():
    """`revoked` is opt-in (`Capabilities.opt_in`): a default search draws as it did before the
    kind existed, and `hunt --faults revoked` draws it; the coverage table says which."""
    import dataclasses
    from collections import Counter

    from hypothesis import HealthCheck
    from hypothesis import strategies as st

    from harness.coverage import Coverage
    from harness.strategies import faults

    caps = get_target("reference").capabilities
    assert "fault revoked" in caps.opt_in
    seen: dict[tuple[str, ...], Counter] = {caps.opt_in: Counter(), (): Counter()}
    for opt_in, revoked in ((caps.opt_in, False), ((), True)):

        @settings(max_examples=200, database=None, suppress_health_check=list(HealthCheck))
        @given(faults(dataclasses.replace(caps, opt_in=opt_in), 8, 2, True, "sync"), st.just(opt_in))
        def draw(fault, key):
            seen[key][fault.action] += 1

        draw()
        assert (seen[opt_in]["revoked"] > 0) == revoked, seen
    assert "fault revoked (drawn only with --faults revoked)" in Coverage().unexercised(caps)
