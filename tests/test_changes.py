"""What changes between an interruption and its resume (`harness.changes`): scenarios carry
changes and round-trip them, the checker's resume-or-refuse tier accepts a refusal or the
rows of the final inputs and calls anything else `mixed`, the reference refuses what it
cannot continue consistently, and each change mutant is caught."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from helpers import names, seeds
from hypothesis import given, settings

from harness.changes import CHANGE_KINDS, Change, final_inputs, inputs_at, versions
from harness.checker import compare
from harness.errors import ScenarioError
from harness.ledger import load_ledger
from harness.property import check_scenario, hunt
from harness.reference.model import expected_rows
from harness.scenario import Fault, Scenario, Segment
from harness.strategies import scenarios
from harness.targets.base import Outcome
from harness.targets.registry import get_target

REFERENCE_CAPS = get_target("reference").capabilities
CHANGE_MUTANTS = ("fingerprint_blind", "stale_offsets", "buffer_miscount")


def chain(*changes: Change, resume: str = "always", at: int = 1, engine: str = "sync", n: int = 3,
          records: int = 3) -> Scenario:
    return Scenario(seeds=seeds(n), engine=engine, segments=(
        Segment(records, fault=Fault("raise", "checkpoint", at)), Segment(records, resume, changes=changes)))


def test_every_change_kind_has_a_table_entry_that_applies_and_round_trips():
    for kind, entry in CHANGE_KINDS.items():
        given_values = {"index": 1, "value": 2, "text": "omega" if kind != "release" else "0.6.1"}
        change = Change(kind, **{f: given_values[f] for f in entry.fields})
        scenario = chain(change)
        assert Scenario.from_json(scenario.to_json()) == scenario, kind
        assert change.describe() and set(change.to_dict()) == {"kind", *entry.fields}


@settings(max_examples=300, deadline=None)
@given(scenarios(REFERENCE_CAPS))
def test_scenarios_with_changes_round_trip_and_their_inputs_are_plain(scenario):
    assert Scenario.from_json(scenario.to_json()) == scenario
    for i in range(len(scenario.segments)):
        inputs = inputs_at(scenario, i)
        assert inputs_at(inputs, len(inputs.segments) - 1) == inputs  # changes applied once, and gone
    assert scenario.straight().segments[0].changes == ()  # the reference has no releases


def test_changes_apply_in_order_and_the_straight_run_reads_the_final_inputs():
    scenario = chain(Change("edit_row", index=1, text="omega"), Change("append_rows", value=1),
                     Change("expression", text="!"))
    final = final_inputs(scenario)
    assert names(expected_rows(scenario)) == ["alpha", "omega", "gamma"]
    assert [r["echo"] for r in expected_rows(scenario)] == ["alpha!", "omega!", "gamma!"]
    assert [s.name for s in final.seeds] == ["alpha", "omega", "gamma", "appended"]
    assert scenario.straight().seeds == final.seeds and scenario.straight().echo_suffix == "!"
    assert [i for i, _ in versions(scenario)] == [0, 1]


@pytest.mark.parametrize(("segments", "field"), [
    ([{"num_records": 2, "changes": [{"kind": "edit_row", "index": 0, "text": "x"}]}], "segments[0].changes"),
    ([{"num_records": 2, "fault": {"action": "raise", "at": "checkpoint", "index": 1}},
      {"num_records": 1, "resume": "always"}], "segments[1].num_records"),
    ([{"num_records": 2, "fault": {"action": "raise", "at": "checkpoint", "index": 1}},
      {"num_records": 2, "resume": "always", "changes": [{"kind": "typo"}]}], "segments[1].changes[0].kind"),
    ([{"num_records": 2, "fault": {"action": "raise", "at": "checkpoint", "index": 1}},
      {"num_records": 2, "resume": "always", "changes": [{"kind": "buffer_size"}]}], "segments[1].changes[0].value"),
    ([{"num_records": 2, "fault": {"action": "raise", "at": "checkpoint", "index": 1}},
      {"num_records": 2, "resume": "always", "process": "same", "changes": [{"kind": "release", "text": "0.6.1"}]}],
     "segments[1].process"),
])
def test_bad_changes_are_refused_naming_the_field(segments, field):
    with pytest.raises(ScenarioError) as caught:
        Scenario.from_dict({"seeds": [{"seed_id": 0, "name": "alpha"}, {"seed_id": 1, "name": "beta"}],
                            "segments": segments})
    assert caught.value.field == field


def test_fewer_records_is_allowed_only_as_a_change():
    scenario = Scenario(seeds=seeds(2), segments=(Segment(3, fault=Fault("raise", "checkpoint", 1)),
                                                  Segment(1, "always", changes=(Change("fewer_records"),))))
    assert scenario.num_records == 1


# ----- the resume-or-refuse tier ---------------------------------------------------------------
def _outcome(scenario: Scenario, rows: list[dict], **fields) -> Outcome:
    return Outcome(rows=rows, layout=[(i, 1) for i in range(len(rows))], **fields)


def test_a_refusal_at_the_change_passes_and_is_recorded():
    scenario = chain(Change("edit_row", index=0, text="omega"))
    straight = _outcome(scenario, expected_rows(scenario))
    refused = Outcome(error="DatasetGenerationError: Cannot resume: the config differs", error_segment=1)
    verdict = compare(scenario, expected_rows(scenario), straight, refused)
    assert verdict.ok and verdict.tier == "resume-or-refuse"
    assert "Cannot resume" in verdict.refusal and "refused" in verdict.summary()
    # the same error without a change is an error
    plain = chain()
    assert compare(plain, expected_rows(plain), _outcome(plain, expected_rows(plain)), refused).kinds == ("error",)


def test_an_error_after_the_resume_s_own_checkpoints_is_no_refusal():
    """A refusal leaves the dataset as it was. 0.9.7's resume after an edit of a JSONL seed
    file checkpointed its row groups and then failed to read them back: that is an `error`,
    not a pass; an earlier segment's checkpoints do not make a later refusal one."""
    from harness.targets.base import CheckpointEvent

    scenario = chain(Change("remove_row", index=1))
    straight = _outcome(scenario, expected_rows(scenario))
    error = "DataDesignerGenerationError: Failed to load generated dataset"
    wrote = Outcome(error=error, error_segment=1, checkpoints=[
        CheckpointEvent(segment=0, ordinal=1, group=0, rows=1, seed_ids=(0,)),
        CheckpointEvent(segment=1, ordinal=1, group=1, rows=1, seed_ids=(0,))])
    verdict = compare(scenario, expected_rows(scenario), straight, wrote)
    assert not verdict.ok and verdict.kinds == ("error",) and not verdict.refusal
    assert "checkpointed 1 row group first: not a refusal" in verdict.anomalies[0].detail
    before = Outcome(error=error, error_segment=1, checkpoints=wrote.checkpoints[:1])
    assert compare(scenario, expected_rows(scenario), straight, before).ok


def test_rows_of_the_old_and_new_inputs_side_by_side_are_mixed_with_provenance():
    scenario = chain(Change("edit_row", index=1, text="omega"))
    old = expected_rows(replace(scenario, segments=(Segment(3),)))
    new = expected_rows(scenario)
    verdict = compare(scenario, new, _outcome(scenario, new), _outcome(scenario, [new[0], old[1], new[2]]))
    assert verdict.kinds[0] == "mixed"
    mixed = verdict.anomalies[0]
    assert mixed.position == 1 and mixed.count == 1
    assert "row 1 comes from the inputs before the first change (segment 1)" in mixed.provenance
    assert "row 0 comes from any of them" in mixed.provenance
    # a dataset wholly of the old inputs, which the resume called done, is mixed too
    scenario = chain(Change("expression", text="!"))
    old, new = expected_rows(replace(scenario, segments=(Segment(3),))), expected_rows(scenario)
    stale = compare(scenario, new, _outcome(scenario, new), _outcome(scenario, old))
    assert stale.kinds[0] == "mixed" and "every row comes from inputs that were changed" in stale.anomalies[0].detail


def test_the_rows_of_the_final_inputs_pass():
    scenario = chain(Change("append_rows", value=1))
    rows = expected_rows(scenario)
    assert compare(scenario, rows, _outcome(scenario, rows), _outcome(scenario, rows)).ok


# ----- the reference and its mutants -------------------------------------------------------------
@pytest.mark.parametrize("kind", ["edit_row", "reorder_rows", "expression", "add_column", "buffer_size",
                                  "selection"])
def test_the_reference_refuses_a_changed_input_under_always(kind):
    verdict = check_scenario(get_target("reference"), chain(Change(kind, index=1, value=2, text="omega")))
    assert verdict.ok and "Cannot resume" in verdict.refusal, verdict.summary()


def test_the_reference_starts_fresh_elsewhere_under_if_possible_and_gives_the_final_rows():
    verdict = check_scenario(get_target("reference"), chain(Change("edit_row", index=0, text="omega"),
                                                             resume="if_possible"))
    assert verdict.ok and not verdict.refusal and [r["name"] for r in verdict.actual][0] == "omega"


def test_the_reference_refuses_fewer_records_than_it_has():
    scenario = Scenario(seeds=seeds(3), segments=(Segment(3, fault=Fault("raise", "checkpoint", 2)),
                                                  Segment(1, "always", changes=(Change("fewer_records"),))))
    verdict = check_scenario(get_target("reference"), scenario)
    assert verdict.ok and "below the original target" in verdict.refusal


@pytest.mark.parametrize(("mutant", "scenario", "kind"), [
    ("fingerprint_blind", chain(Change("edit_row", index=0, text="omega")), "mixed"),
    ("stale_offsets", chain(Change("edit_row", index=0, text="omega"), resume="if_possible"), "mixed"),
    ("buffer_miscount", chain(Change("buffer_size", value=2), n=4, records=4, at=1), "lost"),
])
def test_each_change_mutant_fails_its_own_scenario_where_the_reference_passes(mutant, scenario, kind):
    assert check_scenario(get_target("reference"), scenario).ok
    verdict = check_scenario(get_target(f"mutant:{mutant}"), scenario)
    assert not verdict.ok and kind in verdict.kinds, verdict.summary()


@pytest.mark.parametrize("mutant", CHANGE_MUTANTS)
@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_each_change_mutant_is_caught_by_a_default_hunt_through_a_change(mutant, seed):
    result = hunt(get_target(f"mutant:{mutant}"), max_examples=300, seed=seed)
    assert result.finding is not None, f"mutant:{mutant} survived seed {seed}"
    assert any(s.changes for s in result.finding.segments), result.finding.describe()
    plain = Scenario.from_dict({**result.finding.to_dict(), "segments": [
        {k: v for k, v in s.items() if k != "changes"} for s in result.finding.to_dict()["segments"]]}) \
        if all(c.kind != "fewer_records" for s in result.finding.segments for c in s.changes) else None
    if plain is not None:  # the same chain without the change passes: the bug is the change's
        assert check_scenario(get_target(f"mutant:{mutant}"), plain).ok


def test_ledger_signatures_can_name_change_kinds():
    ledger = {f.id: f for f in load_ledger(Path(__file__).resolve().parents[1] / "fixtures" / "findings")}
    entry = ledger["dd-resume-after-seed-file-edit-mixes-rows-async"]
    assert entry.signature == {"changes": ("edit_row", "append_rows", "remove_row", "reorder_rows")}


@pytest.mark.parametrize("value", [0, 1, 2, 3, 6])
def test_a_reorder_says_the_rotation_it_makes(value):
    """Value 0 and a whole turn rotate by one row (a reorder that changes nothing is no
    change); the description says so, not "rotated by 0"."""
    import re

    change = Change("reorder_rows", value=value)
    rotated = CHANGE_KINDS["reorder_rows"].apply(Scenario(seeds=seeds(3), segments=(Segment(3),)), change)
    made = (3 - [r.seed_id for r in rotated.seeds].index(0)) % 3
    said = int(re.search(r"rotated by (\d+)", change.describe()).group(1)) % 3
    assert made == (said or (1 if "whole turn" in change.describe() else 0)) and made != 0, change.describe()
