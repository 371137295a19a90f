"""Typed seed tables: values as users' files hold them, one definition of equality, each
source's reader exact (but for what it declares), and the mutant only typed values catch."""

from __future__ import annotations

import datetime as dt
import importlib
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.errors import ScenarioError
from harness.property import check_scenario, hunt
from harness.reference import sources
from harness.reference.model import record_stream
from harness.scenario import Fault, Scenario, SeedRow, Segment
from harness.seed_values import SeedColumn, value_key
from harness.strategies import column_values, seed_columns, typed_seed_tables
from harness.targets.registry import get_target

COLUMNS = (SeedColumn("count_0", "int"), SeedColumn("score_1", "float"), SeedColumn("flag_2", "bool"),
           SeedColumn("created_3", "timestamp"), SeedColumn("note_4", "string"))
VALUES = ((2**63 - 1, math.nan, True, dt.datetime(1900, 1, 1, 0, 0, 0, 7), "NA"),
          (None, -math.inf, None, None, None),
          (-(2**63), -0.0, False, dt.datetime(2199, 12, 31, 23, 59, 59), "001"))


def typed(source: str = "csv", values=VALUES, **kw) -> Scenario:
    seeds = tuple(SeedRow(i, n, values=v) for i, (n, v) in enumerate(zip(("alpha", "beta", "gamma"), values)))
    segments = kw.pop("segments", (Segment(3, fault=Fault("raise", "checkpoint", 1)), Segment(3, "always")))
    return Scenario(seeds=seeds, columns=COLUMNS, source=source, segments=segments, **kw)


def test_equality_is_defined_once_type_and_value():
    assert value_key(math.nan) == value_key(float("nan"))
    assert value_key(None) != value_key(math.nan)
    assert len({value_key(1), value_key(1.0), value_key(True), value_key("1")}) == 4
    assert value_key("001") != value_key(1) and value_key("") != value_key(None)
    np = pytest.importorskip("numpy")
    assert value_key(np.int64(5)) == value_key(5) and value_key(np.float64("nan")) == value_key(math.nan)
    assert value_key(np.bool_(True)) == value_key(True)
    pd = pytest.importorskip("pandas")
    assert value_key(pd.Timestamp("2024-01-02 03:04:05.000006")) == value_key(dt.datetime(2024, 1, 2, 3, 4, 5, 6))
    assert value_key(pd.NaT) == value_key(None) == value_key(pd.NA)


def test_a_typed_scenario_round_trips_through_json_byte_for_byte():
    scenario = typed()
    text = scenario.to_json()
    assert '"nan"' in text and '"-inf"' in text and '"1900-01-01T00:00:00.000007"' in text
    again = Scenario.from_json(text)
    assert again.to_json() == text
    assert [value_key(v) for v in again.seeds[0].values] == [value_key(v) for v in VALUES[0]]


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["seeds"][0]["values"].pop(), "needs one value per seed column"),
    (lambda d: d["seeds"][0]["values"].__setitem__(2, 1), "expected a bool value"),
    (lambda d: d["seeds"][0]["values"].__setitem__(0, True), "expected a int value"),
    (lambda d: d["seeds"][0]["values"].__setitem__(3, "yesterday"), "ISO 8601"),
    (lambda d: d["columns"].append({"name": "echo", "type": "int"}), "cannot name a seed column"),
    (lambda d: d["columns"][0].__setitem__("type", "decimal"), "'decimal' is not one of"),
    (lambda d: d.__setitem__("source", "jsonl"), "a jsonl source cannot hold nan"),
])
def test_bad_typed_values_are_scenario_errors_naming_the_field(change, message):
    data = typed().to_dict()
    change(data)
    with pytest.raises(ScenarioError, match=message):
        Scenario.from_dict(data)


@pytest.mark.parametrize("source", ["dataframe", "parquet", "csv", "jsonl"])
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_each_source_reads_back_exactly_what_was_written_but_what_the_reference_declares(source, data, tmp_path_factory):
    columns = data.draw(seed_columns(("int", "float", "bool", "timestamp", "string"), source))
    rows = data.draw(typed_seed_tables(tuple(SeedRow(i, f"w{i}") for i in range(3)), columns, source))
    scenario = Scenario(seeds=rows, columns=columns, source=source, segments=(Segment(3),))
    directory = tmp_path_factory.mktemp(source)
    sources.materialize(scenario, directory)
    read = sources.read_stream(scenario, directory)
    declared = record_stream(scenario, get_target("reference").seed_value_as_read)
    names = ["seed_id", "name", *(c.name for c in columns)]
    assert [[value_key(r[n]) for n in names] for r in read] == [[value_key(r[n]) for n in names] for r in declared]
    if source != "csv":  # only a CSV cannot tell a null string from an empty one
        assert declared == record_stream(scenario) or any(v != v for r in rows for v in r.values if isinstance(v, float))


@settings(max_examples=200, deadline=None)
@given(value=column_values("float", "jsonl"))
def test_a_jsonl_source_is_never_drawn_a_value_json_cannot_hold(value):
    assert value is None or math.isfinite(value)


def test_a_directory_source_takes_no_typed_columns():
    with pytest.raises(ScenarioError, match="directory source's rows are files"):
        typed(source="directory")


def test_the_reference_passes_typed_seeds_on_every_source_and_engine():
    for source in ("dataframe", "parquet", "csv"):
        for engine in ("sync", "async"):
            assert check_scenario(get_target("reference"), typed(source, engine=engine)).ok


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_a_resume_that_rereads_the_csv_with_inference_is_caught_by_a_default_hunt(seed):
    result = hunt(get_target("mutant:csv_reinfer"), seed=seed)
    assert result.finding is not None, f"mutant:csv_reinfer survived seed {seed}"
    assert result.finding.source == "csv" and len(result.finding.columns) == 1
    assert "column " in result.verdict.summary() and "was expected" in result.verdict.summary()
    assert check_scenario(get_target("reference"), result.finding).ok


def test_a_hunt_draws_the_same_scenarios_whatever_local_modules_are_loaded(tmp_path, monkeypatch):
    # Hypothesis draws constants from the source of loaded local modules; a pytest worker
    # that had imported other test modules drew other scenarios for the same seed
    import harness.property as prop

    def drawn() -> list[str]:
        seen: list[str] = []
        real = prop.check_repeatedly

        def recording(target, scenario, *args, **kwargs):
            seen.append(scenario.to_json())
            return real(target, scenario, *args, **kwargs)

        monkeypatch.setattr(prop, "check_repeatedly", recording)
        hunt(get_target("reference"), max_examples=25, seed=7)
        monkeypatch.setattr(prop, "check_repeatedly", real)
        return seen

    before = drawn()
    module = tmp_path / "many_constants_for_hypothesis.py"
    names = "', '".join(f"constant-{k}-\\u00e9" for k in range(300))
    module.write_text(f"INTS = {list(range(3, 3000, 7))}\nSTRS = ['{names}']\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.import_module("many_constants_for_hypothesis")
    assert drawn() == before


def test_a_csv_seed_value_of_a_lone_carriage_return_is_quoted_and_read_back():
    """Python's csv writer (3.11), with "\\n" as its line terminator, left a lone "\\r"
    unquoted; readers took it for a line break (found by a 2000-example reference hunt)."""
    from harness.reference.sources import csv_text
    from harness.scenario import Scenario

    scenario = Scenario.from_dict({
        "source": "csv", "buffer_size": 1, "engine": "sync", "sampling": "ordered",
        "columns": [{"name": "note_0", "type": "string"}, {"name": "count_1", "type": "int"}],
        "seeds": [{"name": "delta", "seed_id": 3, "values": ["\r", 0]}],
        "segments": [{"num_records": 2, "resume": "never", "fault": {"action": "raise", "at": "checkpoint", "index": 1}},
                     {"num_records": 2, "resume": "always", "fault": None}]})
    assert '"\r"' in csv_text(scenario)
    verdict = check_scenario(get_target("reference"), scenario)
    assert verdict.ok, verdict.summary()


def test_an_integral_double_is_the_int_it_stands_for_in_int_and_string_columns_only():
    """One rule for the adapter's rows and the models' (`integral_as_int`): a CSV sniffer
    types a string column of "001" or "1e100" as numbers, and both read such a double back
    as the int; a float column keeps its double."""
    from harness.seed_values import integral_as_int

    assert integral_as_int("string", 1e100) == int(1e100) and isinstance(integral_as_int("int", 3.0), int)
    assert integral_as_int("float", 3.0) == 3.0 and isinstance(integral_as_int("float", 3.0), float)
    assert integral_as_int("int", 2.5) == 2.5 and integral_as_int("string", "1e100") == "1e100"
