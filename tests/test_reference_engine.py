import json
from dataclasses import replace
from pathlib import Path

import pytest
from helpers import issue_709_scenario, names, seeds
from hypothesis import given

from harness.faults import FaultInjector, Interrupted
from harness.journal import Journal
from harness.property import check_scenario
from harness.reference import storage
from harness.reference.engine import DATASET_NAME, Group, ReferenceEngine, ResumeRefused, plan_groups
from harness.scenario import Fault, Scenario, Segment
from harness.strategies import scenarios
from harness.targets.registry import get_target

REFERENCE = get_target("reference")


@given(scenarios())
def test_resume_equals_straight_run_on_reference(scenario):
    verdict = check_scenario(REFERENCE, scenario)
    assert verdict.ok, verdict.summary()


def test_issue_709_scenario_resumes_to_alpha_beta_gamma(tmp_path):
    outcome = REFERENCE.run(issue_709_scenario(), tmp_path)
    assert outcome.faults_fired == [(0, "raise after checkpoint 1")]
    assert names(outcome.rows) == ["alpha", "beta", "gamma"]


def test_checkpoints_are_batch_files_and_metadata_with_nothing_partial_left(tmp_path):
    scenario = Scenario(seeds=seeds(3), buffer_size=2, segments=(Segment(5),))
    REFERENCE.run(scenario, tmp_path)
    dataset = tmp_path / "artifacts" / DATASET_NAME
    files = sorted(p.name for p in (dataset / storage.PARQUET_DIR).iterdir())
    assert files == ["batch_00000.parquet", "batch_00001.parquet", "batch_00002.parquet"]
    assert list((dataset / storage.PARTIAL_DIR).iterdir()) == []
    meta = json.loads((dataset / storage.METADATA).read_text())
    assert (meta["buffer_size"], meta["target_num_records"], meta["num_completed_groups"]) == (2, 5, 3)


def test_async_checkpoints_land_in_the_scenarios_completion_order(tmp_path):
    scenario = Scenario(seeds=seeds(3), engine="async", completion_order=(2, 1), segments=(Segment(5),))
    outcome = REFERENCE.run(scenario, tmp_path)
    assert [c.group for c in outcome.checkpoints] == [2, 1, 0, 3, 4]
    assert [g for g, _ in outcome.layout] == [0, 1, 2, 3, 4]


def test_extension_keeps_the_original_groups_and_appends_new_ones():
    assert plan_groups([5, 8], 2) == [Group(0, 0, 2), Group(1, 2, 2), Group(2, 4, 1), Group(3, 5, 2), Group(4, 7, 1)]
    assert plan_groups([4, 4], 2) == [Group(0, 0, 2), Group(1, 2, 2)]


def test_torn_checkpoint_is_regenerated_on_resume(tmp_path):
    scenario = replace(issue_709_scenario(), segments=(Segment(3, fault=Fault("tear", "checkpoint", 2)), Segment(3, "always")))
    outcome = REFERENCE.run(scenario, tmp_path)
    assert outcome.faults_fired == [(0, "tear after checkpoint 2")]
    assert names(outcome.rows) == ["alpha", "beta", "gamma"]
    assert [(c.segment, c.group) for c in outcome.checkpoints] == [(0, 0), (0, 1), (1, 1), (1, 2)]


def _segment(scenario: Scenario, root: Path, segment: Segment, index: int = 0) -> None:
    journal = Journal(root / "journal.jsonl")
    injector = FaultInjector(segment.fault, journal, index, in_child=False)
    try:
        ReferenceEngine(scenario, root, injector, journal, index).run_segment(segment)
    except Interrupted:
        pass


def _interrupted_dataset(root: Path, scenario: Scenario | None = None) -> Scenario:
    scenario = scenario or Scenario(seeds=seeds(3), buffer_size=1, segments=(Segment(4),))
    _segment(scenario, root, Segment(4, fault=Fault("raise", "checkpoint", 2)))
    return scenario


def test_resume_with_a_different_buffer_size_is_refused(tmp_path):
    scenario = _interrupted_dataset(tmp_path)
    with pytest.raises(ResumeRefused, match="buffer_size 2 differs"):
        _segment(replace(scenario, buffer_size=2), tmp_path, Segment(4, "always"), 1)


def test_resume_below_the_stored_target_is_refused(tmp_path):
    scenario = _interrupted_dataset(tmp_path)
    with pytest.raises(ResumeRefused, match="below the original target of 4"):
        _segment(scenario, tmp_path, Segment(3, "always"), 1)


def test_resume_with_corrupt_metadata_is_refused(tmp_path):
    scenario = _interrupted_dataset(tmp_path)
    (tmp_path / DATASET_NAME / storage.METADATA).write_text("{not json")
    with pytest.raises(ResumeRefused, match="corrupt"):
        _segment(scenario, tmp_path, Segment(4, "always"), 1)


def test_config_change_is_refused_by_always_and_starts_fresh_with_if_possible(tmp_path):
    scenario = _interrupted_dataset(tmp_path)
    changed = replace(scenario, seeds=seeds(4))
    with pytest.raises(ResumeRefused, match="configuration differs"):
        _segment(changed, tmp_path, Segment(4, "always"), 1)
    _segment(changed, tmp_path, Segment(4, "if_possible"), 1)
    rows, _ = storage.load_dataset(tmp_path / f"{DATASET_NAME}_1")
    assert names(rows) == ["alpha", "beta", "gamma", "delta"]
    assert len(storage.listed_groups(tmp_path / DATASET_NAME)) == 2  # the old run is untouched


def test_always_with_no_dataset_is_refused(tmp_path):
    with pytest.raises(ResumeRefused, match="Cannot resume: no existing dataset found"):
        _segment(issue_709_scenario(), tmp_path, Segment(3, "always"), 1)


def test_tables_built_from_buffers_equal_what_pyarrow_builds():
    import pyarrow as pa

    from harness.reference.storage import columns_to_table

    columns = {"seed_id": [0, -7, 2**40], "name": ["alpha", "", "ümlaut-ß"], "score": [0.5, 1.0, -2.25]}
    built = columns_to_table(columns)
    built.validate(full=True)
    assert built.schema.types == [pa.int64(), pa.string(), pa.float64()]
    assert built.to_pylist() == pa.table(columns).to_pylist()


def test_ints_no_int64_holds_are_written_as_uint64_or_as_the_doubles_they_stand_for():
    """What a reader made of a large value: an int in [2**63, 2**64) is a uint64; beyond that
    (a CSV's "1e100", an integral double a reader's conversion made an int), or where a
    column mixes such an int with a negative one, the double it stands for (pyarrow converts
    no such int itself: the models' runs failed with OverflowError)."""
    import pyarrow as pa

    from harness.reference.storage import columns_to_table

    big = int(1e100)
    built = columns_to_table({"u": [2**63, None, 1], "huge": [None, big, 3], "mixed": [-1, 2**63, None]})
    built.validate(full=True)
    assert built.schema.types == [pa.uint64(), pa.float64(), pa.float64()]
    assert built.to_pylist() == [{"u": 2**63, "huge": None, "mixed": -1.0},
                                 {"u": None, "huge": 1e100, "mixed": float(2**63)},
                                 {"u": 1, "huge": 3.0, "mixed": None}]
