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


def test_exactly_once_marks_a_duplicate_only_where_every_placing_of_the_missing_rows_puts_both_in_one_pass():
    """Under SHUFFLE a row dropped (a model column's request given up) shifts every later row's
    place among the reader's records: with k rows missing, a repeated row is a duplicate only
    where it stays in one pass however the k missing records fall; the missing rows are
    `short` in any case. With none missing, passes are blocks of rows, as before."""
    from harness.checker import _exactly_once

    valid = {("a",), ("b",), ("c",)}
    a, b, c = ("a",), ("b",), ("c",)
    # two of five asked for are missing: [b b b] may be [x b | b x | b] or [b x | b b |..]: no certain duplicate
    assert [f.kind for f in _exactly_once([b, b, b], [a] * 5, {a, b}, 2)] == ["short"]
    # nothing missing: a pass of [a a] is a duplicate, and b is lost from it
    assert [f.kind for f in _exactly_once([a, a, b, b], [a] * 4, {a, b}, 2)] == ["duplicated", "lost"]
    # one missing, passes of three: [a a ...] stays in one pass wherever the missing record falls
    found = _exactly_once([a, a, b, c, a], [a] * 6, valid, 3)
    assert [f.kind for f in found] == ["duplicated"] and found[0].position == 1
    # one missing: a at rows 2 and 3 may be rows 2 and 4 of the reader's: two passes of two
    assert [f.kind for f in _exactly_once([a, b, a, a], [a] * 5, {a, b}, 2)] == ["short"]


def test_unseeded_shuffle_with_dropped_rows_accepts_the_count_any_permutation_gives():
    """A seed row no run keeps (a permanent provider fault) is in or out of the last, partial
    pass as the permutation puts it: where the shuffle is the target's own, 3 or 4 rows of
    `alpha` out of 7 records over [alpha, beta] are both right, whichever the reference's
    permutation gives; 5 (a pass with alpha twice: the only sign left when one row survives)
    and 2 are not. Where the target declares its shuffle repeatable, the reference's count
    is the only one (the exact-shuffle tier)."""
    from harness.checker import shuffle_counts
    from harness.model_columns import ModelColumn, ProviderFault

    assert shuffle_counts(7, 2, 1) == (3, 4)
    assert shuffle_counts(6, 2, 1) == (3, 3)
    assert shuffle_counts(7, 3, 0) == (7, 7)
    assert shuffle_counts(2, 3, 2) == (0, 1)
    scenario = Scenario(seeds=seeds(2), sampling="shuffle", buffer_size=1, segments=(Segment(7),),
                        model_columns=(ModelColumn("llm_0", "summarize in one line"),),
                        provider_faults=(ProviderFault(1, "http400", permanent=True),))
    expected = expected_rows(scenario)
    wanted = len(expected)
    assert wanted in (3, 4)

    def alphas(count: int) -> Outcome:
        return Outcome(rows=[dict(expected[0]) for _ in range(count)], layout=[(g, 1) for g in range(count)])

    for count in (3, 4):
        run = alphas(count)
        assert compare(scenario, expected, run, run, repeatable_shuffle=False).ok, count
    mixed = compare(scenario, expected, alphas(4), alphas(3), repeatable_shuffle=False)
    assert mixed.ok and "permutation of the selection, 3 rows and 4" in mixed.summary(), mixed.summary()
    other = alphas(7 - wanted)
    assert not compare(scenario, expected, other, other, repeatable_shuffle=True).ok
    for count, kind in ((5, "unexpected"), (2, "short")):
        verdict = compare(scenario, expected, alphas(wanted), alphas(count), repeatable_shuffle=False)
        assert verdict.kinds == (kind,), (count, verdict.summary())
        assert "whatever the permutation" in verdict.summary()
