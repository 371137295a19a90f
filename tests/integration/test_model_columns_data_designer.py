"""DataDesigner with model-backed columns against the harness's local model provider, on the
oldest and the latest release: each provider fault kind on a row, in a run interrupted and
resumed, gives the rows an uninterrupted run gives (or what the ledger's models say the
release does), and a provider answer that is not JSON still loses its row (the triaged
finding `dd-malformed-answer-once-drops-the-row`)."""

from __future__ import annotations

import json
import re

import pytest
from test_data_designer import FINDINGS, LATEST, OLDEST, harness_in

from harness.model_columns import PROVIDER_FAULT_KINDS

pytestmark = pytest.mark.datadesigner


def scenario(kind: str, permanent: bool) -> dict:
    return {"buffer_size": 1, "engine": "async", "source": "dataframe",
            "seeds": [{"name": "alpha", "seed_id": 0}, {"name": "beta", "seed_id": 1}, {"name": "gamma", "seed_id": 2}],
            "model_columns": [{"name": "llm_0", "instruction": "describe"}],
            "provider_faults": [{"seed_id": 1, "kind": kind, "permanent": permanent}],
            "segments": [{"num_records": 3, "resume": "never", "fault": {"action": "raise", "at": "checkpoint", "index": 2}},
                         {"num_records": 3, "resume": "always", "fault": None}]}


CASES = [(kind, not info.temporary) for kind, info in PROVIDER_FAULT_KINDS.items() if kind != "malformed"]


@pytest.mark.parametrize("release", [OLDEST, LATEST])
@pytest.mark.parametrize(("kind", "permanent"), CASES, ids=[k for k, _ in CASES])
def test_a_provider_fault_on_a_row_gives_the_rows_an_uninterrupted_run_gives(tmp_path, release, kind, permanent):
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(scenario(kind, permanent)))
    result = harness_in(release, "replay", str(path), "--target", "data_designer:async", "--known", str(FINDINGS))
    text = result.stdout + result.stderr
    assert result.returncode in (0, 1), text
    if result.returncode == 1:  # only what the release's open ledger entries explain
        assert re.search(r"^known: ", result.stdout, re.M), text
    if permanent:  # a row the provider refuses is left out of every run
        assert "beta" not in re.findall(r"│ \d+ +│ [^│]+│ ([a-z]+)", result.stdout)


@pytest.mark.parametrize("release", [OLDEST, LATEST])
def test_an_answer_that_is_not_json_loses_its_row_in_every_run(tmp_path, release):
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(scenario("malformed", False)))
    result = harness_in(release, "replay", str(path), "--target", "data_designer:async", "--known", str(FINDINGS))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "lost (straight run)" in result.stdout and "lost (resumed run)" in result.stdout, result.stdout
    # in the ledger since: the release's models, that entry's included, give these rows
    assert re.search(r"^known: .*dd-unparsable-answer-drops-the-row-async", result.stdout, re.M), result.stdout


@pytest.mark.parametrize(("release", "engine"), [(OLDEST, "sync"), (OLDEST, "async"), (LATEST, "async")])
def test_a_revoked_key_stops_the_run_early_and_a_resume_with_a_valid_key_finishes_it(tmp_path, release, engine):
    """An API key revoked after the first batch, with early shutdown on (DataDesigner's
    default): the release stops the run itself (0.6's sync engine raises from the batch's
    column, the async engines return short), and the resume with a valid key gives the
    uninterrupted run's rows, or what the release's open ledger entries explain."""
    # The sync engine judges each batch apart: a batch of 6 fills the window of 4. The async
    # engine has up to 3 row groups in flight, whose rows may be answered before the key is
    # revoked: with 16 groups of 1, at least 12 are admitted after it, and their refusals fill
    # the window whatever the timing. (With groups of 2, which of a group's two requests in
    # flight was answered before the revoke is the engine's timing, and the models follow only
    # the order its row groups landed in: CI once saw the second answered and the first refused.)
    size, records = (6, 12) if engine == "sync" else (1, 16)
    case = {"buffer_size": size, "engine": engine, "source": "csv", "sampling": "ordered",
            "seeds": [{"name": "alpha", "seed_id": 0}, {"name": "beta", "seed_id": 1}, {"name": "gamma", "seed_id": 2}],
            "model_columns": [{"name": "llm_0", "instruction": "describe"}],
            "segments": [{"num_records": records, "resume": "never", "fault": {"action": "revoked", "at": "checkpoint",
                                                                              "index": 1}},
                         {"num_records": records, "resume": "always", "fault": None}]}
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(case))
    result = harness_in(release, "replay", str(path), "--target", f"data_designer:{engine}", "--known", str(FINDINGS))
    text = result.stdout + result.stderr
    assert result.returncode in (0, 1), text
    assert "runs the target stopped itself (its provider failed them): segment 0" in result.stdout, text
    if result.returncode == 1:
        assert re.search(r"^known: ", result.stdout, re.M), text


def test_an_outage_loses_the_row_held_back_by_a_slow_answer_wherever_it_stands_in_its_group(tmp_path):
    """Two seed rows, groups of two, alpha's first answer slower than the client's timeout, an
    outage from the first checkpoint on: the engine had asked for every row of its groups in
    flight before, and only alpha's retry meets the outage, so group 0 is written as [beta]
    and a resume counts it complete (`dd-provider-outage-short-group-counts-complete-async`,
    whose model gives those rows: `fixtures/model-scenarios/async-slow-first-row-held-at-outage.json`)."""
    path = FINDINGS.parent / "model-scenarios" / "async-slow-first-row-held-at-outage.json"
    result = harness_in(LATEST, "replay", str(path), "--target", "data_designer:async", "--known", str(FINDINGS))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "lost (resumed run): rows 0..0 were never written" in result.stdout, result.stdout
    assert re.search(r"^known: .*dd-provider-outage-short-group-counts-complete-async", result.stdout, re.M), result.stdout
