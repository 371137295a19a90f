"""The harness has teeth: every bug-seeded mutant is caught with a small example, and
the reference passes the same properties."""

import pytest
from hypothesis import given

from harness.property import DEFAULT_MAX_EXAMPLES, check_scenario, hunt
from harness.reference.mutants import MUTANTS
from harness.strategies import scenarios
from harness.targets.registry import get_target

HUNT_SEED = 20261128


@pytest.fixture(scope="module")
def findings():
    return {}


def _hunt(name: str, findings: dict):
    if name not in findings:
        findings[name] = hunt(get_target(name), max_examples=DEFAULT_MAX_EXAMPLES, seed=HUNT_SEED)
    return findings[name]


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_mutant_is_caught_within_the_default_budget_with_a_small_example(mutant, findings):
    result = _hunt(f"mutant:{mutant}", findings)
    assert result.finding is not None, f"mutant:{mutant} survived {result.examples} examples (seed {HUNT_SEED})"
    scenario = result.finding
    assert scenario.interruptions <= 3
    assert len(scenario.seeds) <= 4
    assert scenario.buffer_size <= 4
    assert scenario.num_records <= 12
    # The finding is the mutant's bug, not the harness's: it replays, and the reference passes it.
    assert not check_scenario(get_target(f"mutant:{mutant}"), scenario).ok
    assert check_scenario(get_target("reference"), scenario).ok


def test_seed_replay_mutant_is_caught_with_minimal_example(findings):
    """Issue #709's class shrinks to what the upstream report needed: buffer_size 1, at
    most three ORDERED seed rows, one interruption, and the anomaly is a replay."""
    result = _hunt("mutant:seed_restart", findings)
    scenario = result.finding
    assert scenario is not None
    assert scenario.buffer_size == 1
    assert len(scenario.seeds) <= 3
    assert scenario.interruptions == 1
    assert scenario.sampling == "ordered"
    assert result.verdict.kinds[0] == "duplicated"


def test_reference_passes_the_same_hunt():
    result = hunt(get_target("reference"), max_examples=DEFAULT_MAX_EXAMPLES, seed=HUNT_SEED)
    assert result.finding is None, result.verdict.summary()
    assert result.examples == DEFAULT_MAX_EXAMPLES


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
@given(scenario=scenarios())
def test_mutant_straight_runs_are_correct_so_only_resume_catches_it(mutant, scenario):
    verdict = check_scenario(get_target(f"mutant:{mutant}"), scenario.straight())
    assert verdict.ok, verdict.summary()


def test_a_finding_keeps_no_segment_that_did_nothing(tmp_path):
    """Segment 1 resumes a complete dataset to the same size (nothing to do, no fault):
    the shrunk finding drops it; segment 2's extension, which the bug needs, stays."""
    from helpers import seeds

    from harness.property import drop_idle_segments, idle_segments
    from harness.scenario import Fault, Scenario, Segment

    target = get_target("mutant:seed_restart")
    scenario = Scenario(seeds=seeds(3), buffer_size=1, segments=(
        Segment(1), Segment(1, "always"), Segment(3, "always", fault=Fault("raise", "checkpoint", 1)),
        Segment(3, "always")))
    verdict = check_scenario(target, scenario)
    assert not verdict.ok
    assert idle_segments(scenario, target.run(scenario, tmp_path / "look")) == [1]
    shrunk, again = drop_idle_segments(target, scenario, verdict)
    assert [s.num_records for s in shrunk.segments] == [1, 3, 3] and not again.ok
    # a segment whose removal makes the failure go away stays, idle or not
    reference = get_target("reference")
    assert drop_idle_segments(reference, scenario, verdict)[0] == scenario


def test_shrinking_never_trades_a_new_failure_for_one_the_ledger_explains():
    from helpers import seeds

    from harness.property import drop_idle_segments
    from harness.scenario import Fault, Scenario, Segment

    target = get_target("mutant:seed_restart")
    scenario = Scenario(seeds=seeds(3), buffer_size=1, segments=(
        Segment(1), Segment(1, "always"), Segment(3, "always", fault=Fault("raise", "checkpoint", 1)),
        Segment(3, "always")))
    verdict = check_scenario(target, scenario)
    explained_when_smaller = lambda s, v: "known-entry" if s != scenario else None  # noqa: E731
    assert drop_idle_segments(target, scenario, verdict, known=explained_when_smaller)[0] == scenario


def test_a_shrink_budget_ends_shrinking_with_the_smallest_failure_so_far_and_says_so():
    unbounded = hunt(get_target("mutant:seed_restart"), seed=HUNT_SEED)
    bounded = hunt(get_target("mutant:seed_restart"), seed=HUNT_SEED, shrink_seconds=0)
    assert bounded.finding is not None and "may not be minimal" in bounded.note and "--shrink-seconds" in bounded.note
    assert not check_scenario(get_target("mutant:seed_restart"), bounded.finding).ok
    assert bounded.examples < unbounded.examples and unbounded.note == ""
    assert len(bounded.finding.to_json()) >= len(unbounded.finding.to_json())


def test_a_search_pays_each_straight_run_once_and_never_keeps_a_failed_one(tmp_path):
    from helpers import seeds

    from harness.property import StraightRuns
    from harness.scenario import Fault, Scenario, Segment
    from harness.targets.base import Outcome
    from harness.targets.reference import ReferenceTarget

    result = hunt(get_target("mutant:seed_restart"), seed=HUNT_SEED)
    assert result.finding is not None and result.straight_runs_kept > 0, "shrink candidates share straight runs"
    runs = StraightRuns()
    target = get_target("reference")
    straight = Scenario(seeds=seeds(2), segments=(Segment(3),))
    first = runs.run(target, straight, tmp_path / "a")
    assert runs.run(target, straight, tmp_path / "b") is first and (runs.hits, runs.misses) == (1, 1)

    class Erring(ReferenceTarget):
        def run(self, scenario, workdir):
            return Outcome(error="boom")

    erring = Erring(name="erring")
    runs.run(erring, straight, tmp_path / "c")
    runs.run(erring, straight, tmp_path / "d")
    assert runs.misses == 3, "a straight run that erred is run again"
    scenario = Scenario(seeds=seeds(3), buffer_size=1,
                        segments=(Segment(2, fault=Fault("raise", "checkpoint", 1)), Segment(3, "always")))
    assert check_scenario(target, scenario, straight_runs=runs).ok


def test_the_reference_stands_in_for_a_deterministic_straight_run_until_the_resumed_run_fails(tmp_path):
    """`StraightRuns.stands_in`: where a target declares its straight runs deterministic, a
    search pays the straight run only where the resumed run failed (the verdict is then the
    one two real runs give) and on one straight scenario in `sample`, and never where the
    scenario leaves something to chance (model columns, an unseeded shuffle)."""
    import zlib

    from helpers import issue_709_scenario, seeds

    from harness.model_columns import ModelColumn
    from harness.property import StraightRuns
    from harness.reference.mutants import MUTANTS
    from harness.scenario import Fault, Scenario, Segment
    from harness.targets.reference import ReferenceTarget

    class Counting(ReferenceTarget):
        straight = 0

        def run(self, scenario, workdir):
            if len(scenario.segments) == 1 and scenario.segments[0].fault is None:
                Counting.straight += 1
            return super().run(scenario, workdir)

    def sampled(scenario: Scenario) -> bool:
        return zlib.crc32(scenario.straight().to_json().encode()) % StraightRuns().sample == 0

    def chain(records: int) -> Scenario:
        return Scenario(seeds=seeds(3), buffer_size=1,
                        segments=(Segment(records, fault=Fault("raise", "checkpoint", 1)), Segment(records, "always")))

    free = next(chain(n) for n in range(2, 40) if not sampled(chain(n)))
    paid = next(chain(n) for n in range(2, 40) if sampled(chain(n)))
    target, runs = Counting(), StraightRuns()
    assert check_scenario(target, free, straight_runs=runs).ok
    assert (Counting.straight, runs.stood_in) == (0, 1), "a passing resumed run needs no straight run"
    assert check_scenario(target, paid, straight_runs=runs).ok and Counting.straight == 1, "the sample is run"
    for chancy in (free.__class__(**{**free.__dict__, "model_columns": (ModelColumn("llm_0", "describe"),)}),
                   free.__class__(**{**free.__dict__, "sampling": "shuffle"})):
        before = Counting.straight
        check_scenario(target, chancy, straight_runs=runs)
        assert Counting.straight == before + 1 or chancy.sampling == "shuffle", chancy
    undeclared = Counting()
    undeclared.deterministic = False
    before = Counting.straight
    check_scenario(undeclared, free, straight_runs=runs)
    assert Counting.straight == before + 1, "a target that does not declare itself deterministic runs both"

    # a resumed run that fails: the straight run is paid, and the verdict is two real runs'
    class Mutant(Counting):
        pass

    mutant = Mutant(MUTANTS["seed_restart"], name="mutant:seed_restart")
    bug = issue_709_scenario()
    before = Counting.straight
    with_runs = check_scenario(mutant, bug, straight_runs=StraightRuns())
    without = check_scenario(mutant, bug)
    assert not with_runs.ok and Counting.straight == before + 2
    assert (with_runs.kinds, with_runs.actual, with_runs.straight) == (without.kinds, without.actual, without.straight)
