from helpers import issue_709_scenario, seeds

from harness.checker import compare
from harness.reference.model import expected_rows, output_row
from harness.scenario import Scenario, Segment
from harness.targets.base import CheckpointEvent, Outcome


def _row(i: int) -> dict:
    return output_row({"seed_id": i, "name": ("alpha", "beta", "gamma", "delta", "epsilon", "zeta")[i]})


def _outcome(ids: list[int], checkpoints: list[CheckpointEvent] | None = None) -> Outcome:
    return Outcome(rows=[_row(i) for i in ids], layout=[(g, 1) for g in range(len(ids))],
                   checkpoints=checkpoints or [])


def _verdict(resumed_ids, straight_ids=None, scenario=None, checkpoints=None):
    scenario = scenario or issue_709_scenario()
    expected = expected_rows(scenario)
    straight = _outcome(straight_ids if straight_ids is not None else [r["seed_id"] for r in expected])
    return compare(scenario, expected, straight, _outcome(resumed_ids, checkpoints))


def test_identical_rows_are_ok():
    assert _verdict([0, 1, 2]).ok


def test_issue_709_replay_is_duplicated_then_lost_with_provenance():
    checkpoints = [CheckpointEvent(0, 1, 0, 1, (0,)), CheckpointEvent(1, 1, 1, 1, (0,)), CheckpointEvent(1, 2, 2, 1, (1,))]
    verdict = _verdict([0, 0, 1], checkpoints=checkpoints)
    assert verdict.kinds == ("duplicated", "lost")
    first = verdict.anomalies[0]
    assert (first.position, first.seed_id, first.group, first.segment) == (1, 0, 1, 1)
    assert "checkpoint 1 of segment 0 (group 0) had already produced seed_id 0" in first.provenance


def test_reader_jumping_ahead_is_skipped():
    assert _verdict([0, 2, 0], scenario=Scenario(seeds=seeds(3), segments=(Segment(3),))).kinds[0] == "skipped"


def test_missing_middle_group_is_lost():
    scenario = Scenario(seeds=seeds(4), segments=(Segment(4),))
    verdict = _verdict([0, 1, 3], scenario=scenario, straight_ids=[0, 1, 2, 3])
    assert verdict.kinds == ("lost",)
    assert verdict.anomalies[0].position == 2


def test_truncated_output_is_short():
    assert _verdict([0, 1]).kinds == ("short",)


def test_permuted_output_is_reordered():
    assert _verdict([1, 0, 2]).kinds == ("reordered",)


def test_row_from_outside_the_selection_is_unexpected():
    assert _verdict([0, 1, 5]).kinds[0] == "unexpected"


def test_wrong_straight_run_is_reported_even_when_resume_agrees_with_it():
    verdict = _verdict([0, 0, 1], straight_ids=[0, 0, 1])
    assert {a.run for a in verdict.anomalies} == {"resumed", "straight"}


def test_errors_hangs_and_unreadable_datasets_are_named():
    scenario = issue_709_scenario()
    good = _outcome([0, 1, 2])
    cases = {
        "error": Outcome(error="ResumeRefused: Cannot resume", error_segment=1),
        "hang": Outcome(error="hang: segment 1 did not finish", error_segment=1, hang=True),
        "torn": Outcome(load_error="ArrowInvalid: magic bytes"),
    }
    for kind, outcome in cases.items():
        assert compare(scenario, expected_rows(scenario), good, outcome).kinds == (kind,)


def test_shuffle_tier_accepts_any_permutation_per_pass_and_catches_a_repeat():
    scenario = Scenario(seeds=seeds(3), sampling="shuffle", segments=(Segment(5),))
    expected = expected_rows(scenario)
    good = _outcome([2, 0, 1, 1, 0])
    assert compare(scenario, expected, good, good).ok
    verdict = compare(scenario, expected, good, _outcome([2, 0, 2, 1, 0]))
    assert verdict.kinds == ("duplicated", "lost")
    assert verdict.tier == "exactly-once"


def test_exact_shuffle_tier_catches_a_resume_that_switches_permutation_where_exactly_once_cannot(tmp_path):
    """pass_reseed finishes the pass it resumed in and draws every later pass from another
    seed: each pass is still a permutation, so only the exact tier (for a target that
    declares its shuffle repeatable) sees it."""
    from harness.scenario import Fault
    from harness.targets.registry import get_target

    scenario = Scenario(seeds=seeds(2), sampling="shuffle", buffer_size=1, segments=(
        Segment(3, fault=Fault("raise", "checkpoint", 1)), Segment(3, "always")))
    expected = expected_rows(scenario)
    runs = {}
    for name in ("reference", "mutant:pass_reseed"):
        target = get_target(name)
        runs[name] = (target.run(scenario.straight(), tmp_path / name / "straight"),
                      target.run(scenario, tmp_path / name / "resumed"))
    good = compare(scenario, expected, *runs["reference"], repeatable_shuffle=True)
    assert good.ok and good.tier == "exact-shuffle"
    caught = compare(scenario, expected, *runs["mutant:pass_reseed"], repeatable_shuffle=True)
    assert caught.kinds == ("reordered",) and caught.anomalies[0].position == 2, caught.summary()
    assert "another permutation" in caught.summary()
    blind = compare(scenario, expected, *runs["mutant:pass_reseed"], repeatable_shuffle=False)
    assert blind.ok and blind.tier == "exactly-once"
