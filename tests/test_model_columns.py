"""Model-backed columns: a resume is correct when a row the provider refused is dropped in
the resumed run as in the straight one, a row lost to an outage is asked for again after it,
and a row already on disk is never paid for twice; each way of getting that wrong is a
mutant a default search catches."""

from __future__ import annotations

import dataclasses
import json

import pytest
from helpers import seeds

from harness.errors import ScenarioError
from harness.model_columns import ModelColumn, ProviderFault, answer
from harness.property import check_scenario, hunt
from harness.quiescence import repaid_findings
from harness.reference.model import expected_rows
from harness.scenario import Fault, Scenario, Segment
from harness.targets.registry import get_target

LLM = (ModelColumn("llm_0", "describe"),)


def outage_scenario(engine: str = "sync") -> Scenario:
    """Three groups of one row; the provider goes down after the first checkpoint, so the
    run ends with two groups on disk whose row the provider never answered."""
    return Scenario(seeds=seeds(3), buffer_size=1, engine=engine, model_columns=LLM,
                    segments=(Segment(3, fault=Fault("outage", "checkpoint", 1)), Segment(3, "always")))


@pytest.mark.parametrize("engine", ["sync", "async"])
def test_a_resume_after_an_outage_asks_again_for_the_lost_rows_only(engine):
    scenario = outage_scenario(engine)
    verdict = check_scenario(get_target("reference"), scenario)
    assert verdict.ok, verdict.summary()
    assert [r["llm_0"] for r in verdict.actual] == [answer(LLM[0].prompt(r)) for r in verdict.expected]
    # what the provider saw: the outage's failed tries in segment 0, one paid answer per
    # lost row in segment 1, nothing for the row on disk
    target = get_target("reference")
    from harness.workdirs import work_directory

    with work_directory(None) as trial:
        outcome = target.run(scenario, trial / "run")
    paid = [(r["segment"], r["row"]) for r in outcome.requests if r["answer"] == "ok"]
    assert sorted(paid) == [(0, 0), (1, 1), (1, 2)]
    assert {r["answer"] for r in outcome.requests if r["segment"] == 0 and r["row"] != 0} == {"outage"}


@pytest.mark.parametrize("engine", ["sync", "async"])
def test_a_resume_after_a_revoked_key_asks_again_for_the_refused_rows_only(engine):
    """A revoked key refuses every request (HTTP 401) from the first checkpoint on: the rows
    it refused are not the rows' fault, so the resume, with a valid key, asks for them, once
    each, and the dataset is the straight run's."""
    scenario = dataclasses.replace(outage_scenario(engine), segments=(
        Segment(3, fault=Fault("revoked", "checkpoint", 1)), Segment(3, "always")))
    verdict = check_scenario(get_target("reference"), scenario)
    assert verdict.ok, verdict.summary()
    from harness.workdirs import work_directory

    with work_directory(None) as trial:
        outcome = get_target("reference").run(scenario, trial / "run")
    paid = [(r["segment"], r["row"]) for r in outcome.requests if r["answer"] == "ok"]
    assert sorted(paid) == [(0, 0), (1, 1), (1, 2)]
    refused = [r["row"] for r in outcome.requests if r["answer"] == "revoked"]
    assert sorted(refused) == [1, 2]  # tried once each: a refused key is not tried again


def test_a_row_the_provider_refuses_for_good_is_dropped_in_every_run_alike():
    scenario = Scenario(seeds=seeds(3), buffer_size=2, model_columns=LLM,
                        provider_faults=(ProviderFault(1, "http400", permanent=True),),
                        segments=(Segment(5, fault=Fault("raise", "checkpoint", 1)), Segment(5, "always")))
    assert [r["seed_id"] for r in expected_rows(scenario)] == [0, 2, 0]
    verdict = check_scenario(get_target("reference"), scenario)
    assert verdict.ok, verdict.summary()


@pytest.mark.parametrize("kind", ["http500", "http429", "reset", "malformed", "slow"])
def test_a_transient_fault_costs_a_retry_and_no_row(kind):
    scenario = Scenario(seeds=seeds(2), buffer_size=1, model_columns=LLM,
                        provider_faults=(ProviderFault(0, kind),),
                        segments=(Segment(4, fault=Fault("raise", "checkpoint", 1)), Segment(4, "always")))
    verdict = check_scenario(get_target("reference"), scenario)
    assert verdict.ok and len(verdict.actual) == 4, verdict.summary()


def test_the_paid_once_oracle_names_a_row_paid_for_again():
    scenario = Scenario(seeds=seeds(1), buffer_size=1, model_columns=LLM,
                        segments=(Segment(1, fault=Fault("raise", "checkpoint", 1)), Segment(2, "always")))
    prompt = LLM[0].prompt({"seed_id": 0, "name": "alpha"})
    events = [{"event": "dataset", "segment": 0, "path": "d", "t": 0.0},
              {"event": "segment_start", "segment": 0, "t": 1.0},
              {"event": "checkpoint", "segment": 0, "ordinal": 1, "group": 0, "rows": 1, "seed_ids": [0], "t": 2.0},
              {"event": "segment_start", "segment": 1, "t": 3.0}]
    paid_once = [{"segment": 0, "prompt": prompt, "row": 0, "answer": "ok", "t": 1.5},
                 {"segment": 1, "prompt": prompt, "row": 0, "answer": "ok", "t": 3.5}]
    assert repaid_findings(scenario, events, paid_once) == []  # record 1 was still to make
    twice = [*paid_once, {"segment": 1, "prompt": prompt, "row": 0, "answer": "ok", "t": 3.6}]
    found = repaid_findings(scenario, events, twice)
    assert found and "paid the model provider for 2 answer(s) of seed row 0's llm_0 where 1" in found[0][1]
    # failed tries and a health check are not paid for
    retries = [*paid_once, {"segment": 1, "prompt": prompt, "row": 0, "answer": "http500", "t": 3.4},
               {"segment": 1, "prompt": "Hello!", "row": None, "answer": "ok", "t": 3.3}]
    assert repaid_findings(scenario, events, retries) == []


@pytest.mark.parametrize("mutant", ["drop_on_resume", "rerequest_completed", "short_group_complete"])
@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_each_model_column_mutant_is_caught_by_a_default_hunt(mutant, seed):
    result = hunt(get_target(f"mutant:{mutant}"), seed=seed)
    assert result.finding is not None, f"mutant:{mutant} survived seed {seed}"
    assert result.finding.model_columns


def test_model_columns_and_provider_faults_round_trip_and_bad_ones_are_named():
    scenario = Scenario(seeds=seeds(2), model_columns=(*LLM, ModelColumn("llm_1", "summarize")),
                        provider_faults=(ProviderFault(1, "slow"), ProviderFault(0, "http400", True)),
                        segments=(Segment(2, fault=Fault("outage", "checkpoint", 1)), Segment(2, "always")))
    assert Scenario.from_json(scenario.to_json()) == scenario
    data = json.loads(scenario.to_json())
    data["provider_faults"][1]["permanent"] = False
    with pytest.raises(ScenarioError, match="permanent"):
        Scenario.from_dict(data)
    data = json.loads(scenario.to_json())
    data["model_columns"][1]["name"] = "echo"
    with pytest.raises(ScenarioError, match="model_columns"):
        Scenario.from_dict(data)
    data = json.loads(scenario.to_json())
    data["provider_faults"][0]["seed_id"] = 7
    with pytest.raises(ScenarioError, match="seed_id"):
        Scenario.from_dict(data)


def test_provider_fault_plans_fault_selected_rows_only():
    """A fault on a row the selection never reads changes nothing: plans name selected rows
    only (drawn from the whole table, most of a large table's faults fell outside a small
    selection). A small selection may so lose every row to permanent faults: no dataset."""
    from hypothesis import HealthCheck, given, seed, settings
    from hypothesis import strategies as st

    from harness.property import _no_local_constants
    from harness.strategies import scenarios

    caps = get_target("reference").capabilities
    every_row_lost = []

    # a seed of its own and no constants from the loaded modules: unseeded, a worker's draws
    # depend on what it ran before, and one unit-suite run drew no plan that lost every row
    @settings(max_examples=400, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @seed(1)
    @given(st.data())
    def check(data):
        scenario = data.draw(scenarios(caps))
        if not scenario.provider_faults:
            return
        start, end = (0, len(scenario.seeds) - 1) if scenario.selection is None else \
            scenario.selection.bounds(len(scenario.seeds))
        selected = {s.seed_id for s in scenario.seeds[start:end + 1]}
        faulted = {f.seed_id for f in scenario.provider_faults}
        assert faulted <= selected, (faulted, selected)
        if faulted == selected and all(f.permanent for f in scenario.provider_faults):
            every_row_lost.append(scenario)

    with _no_local_constants():
        check()
    assert every_row_lost, "no plan lost every selected row"
