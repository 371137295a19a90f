from helpers import issue_709_scenario, names, seeds
from hypothesis import given
from hypothesis import strategies as st

from harness.reference.model import expected_rows, record_stream
from harness.scenario import IndexRange, Scenario, SeedRow, Segment
from harness.strategies import scenarios


def test_issue_709_expected_rows_are_alpha_beta_gamma():
    assert names(expected_rows(issue_709_scenario())) == ["alpha", "beta", "gamma"]


def test_ordered_reading_wraps_around_the_selection():
    scenario = Scenario(seeds=seeds(4), selection=IndexRange(1, 3), segments=(Segment(7),))
    assert names(expected_rows(scenario)) == ["beta", "gamma", "delta", "beta", "gamma", "delta", "beta"]


def test_expression_column_copies_the_seed_column():
    rows = expected_rows(issue_709_scenario())
    assert [r["echo"] for r in rows] == names(rows)


def test_directory_source_hydrates_one_record_per_line_and_skips_empty_files():
    table = (SeedRow(0, "alpha", ("a0", "a1")), SeedRow(1, "beta", ()), SeedRow(2, "gamma", ("g0",)))
    scenario = Scenario(seeds=table, source="directory", segments=(Segment(5),))
    assert [r["line"] for r in expected_rows(scenario)] == ["a0", "a1", "g0", "a0", "a1"]
    assert [r["line_no"] for r in expected_rows(scenario)] == [0, 1, 0, 0, 1]


@given(st.integers(1, 6), st.integers(1, 30), st.integers(0, 1000))
def test_shuffle_every_pass_is_a_permutation_of_the_selection(n, num_records, shuffle_seed):
    scenario = Scenario(seeds=seeds(n), sampling="shuffle", shuffle_seed=shuffle_seed, segments=(Segment(num_records),))
    ids = [r["seed_id"] for r in expected_rows(scenario)]
    for start in range(0, num_records - n + 1, n):
        assert sorted(ids[start : start + n]) == list(range(n))


@given(scenarios(), st.integers(0, 10))
def test_record_content_depends_on_its_index_alone(scenario, more):
    base = scenario.straight()  # the inputs in force at the end, which the rows are made of
    longer = Scenario.from_dict({**base.to_dict(), "segments": [{"num_records": scenario.num_records + more}]})
    assert expected_rows(longer)[: scenario.num_records] == expected_rows(scenario)
    assert len(record_stream(scenario)) >= 1
