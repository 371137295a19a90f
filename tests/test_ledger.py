"""The findings ledger is well-formed, and each finding is DataDesigner's, not the
harness's: the reference passes every recorded scenario."""

import dataclasses
from pathlib import Path

import pytest

from harness.errors import HarnessUsageError
from harness.ledger import SEED_VALUE_SIGNATURES, extensions, load_finding, load_ledger, packaged_ledger
from harness.property import check_scenario
from harness.scenario import Scenario, SeedRow, Segment
from harness.seed_values import SeedColumn
from harness.targets.registry import get_target

FINDINGS = Path(__file__).resolve().parents[1] / "fixtures" / "findings"
LEDGER = load_ledger(FINDINGS)


def test_ledger_is_not_empty_and_ids_match_file_names():
    assert LEDGER
    for finding in LEDGER:
        assert finding.path.stem == finding.id
        assert finding.fails_on, finding.id
        assert len(finding.explanation) > 200, finding.id


@pytest.mark.parametrize("finding", LEDGER, ids=lambda f: f.id)
def test_reference_passes_every_ledger_scenario(finding):
    # (a chain over two releases: the reference is the same specification on each)
    scenario = dataclasses.replace(finding.scenario, segments=tuple(
        dataclasses.replace(s, changes=tuple(c for c in s.changes if c.kind != "release"))
        for s in finding.scenario.segments))
    assert check_scenario(get_target("reference"), scenario).ok


def test_an_entry_is_open_on_its_own_target_and_releases_and_has_a_signature():
    finding = next(f for f in LEDGER if f.id == "dd-ordered-resume-replays-seed-rows-sync")
    assert finding.open_on("data_designer:sync", "0.6.0")
    assert not finding.open_on("data_designer:sync", "0.6.1")
    assert not finding.open_on("data_designer:async", "0.6.0")
    assert finding.in_signature(finding.scenario)
    shuffled = finding.scenario.__class__.from_dict({**finding.scenario.to_dict(), "sampling": "shuffle"})
    assert not finding.in_signature(shuffled)


def test_extension_count_drives_the_min_extensions_signature():
    finding = next(f for f in LEDGER if f.id.startswith("dd-second-extension"))
    assert extensions(finding.scenario) >= 2


def test_the_same_second_entry_needs_two_fresh_starts_of_its_resume_modes():
    """Two runs share a directory only where two resumes in a row start fresh beside the
    dataset (IF_POSSIBLE after a config change, or NEVER): its signature says so, and a search
    narrowed by it draws IF_POSSIBLE resumes alone (`resume_modes`), keeping the chains with
    two such fresh starts (`min_fresh_starts`)."""
    import dataclasses

    from harness.changes import fresh_starts
    from harness.model_check import signature_capabilities
    from harness.targets.base import Capabilities

    finding = next(f for f in LEDGER if f.id == "dd-fresh-runs-of-one-second-share-a-directory-sync")
    scenario = finding.scenario
    kinds = finding.signature["changes"]
    assert fresh_starts(scenario, kinds) == [1, 2] and finding.in_signature(scenario)
    # the config change at the last resume: one fresh start, which shares nothing
    moved = tuple(dataclasses.replace(seg, changes=()) if i == 1 else seg for i, seg in enumerate(scenario.segments))
    moved = moved[:2] + (dataclasses.replace(moved[2], changes=scenario.segments[1].changes + moved[2].changes),)
    late = dataclasses.replace(scenario, segments=moved)
    assert fresh_starts(late, kinds) == [2] and not finding.in_signature(late)
    # ALWAYS resumes start no fresh run
    always = dataclasses.replace(scenario, segments=(scenario.segments[0], *(
        dataclasses.replace(seg, resume="always") for seg in scenario.segments[1:])))
    assert not finding.in_signature(always)
    assert not finding.in_signature(dataclasses.replace(
        scenario, segments=(scenario.segments[0], dataclasses.replace(scenario.segments[1], fault=None))))
    caps = signature_capabilities(finding, Capabilities(resume_modes=("always", "if_possible")))
    assert caps.resume_modes == ("if_possible",)


def test_the_same_second_entry_needs_a_fresh_start_that_asks_for_fewer_records():
    """Without model columns a fresh run leaves another's row-group file in the directory
    they share only where it makes fewer files, which it does only by asking for fewer
    records than the fresh start before it (`fresh_start_asks_fewer`)."""
    import dataclasses

    finding = next(f for f in LEDGER if f.id == "dd-fresh-runs-of-one-second-share-a-directory-sync")
    scenario = finding.scenario
    assert finding.in_signature(scenario)
    segments = scenario.segments
    as_many = dataclasses.replace(scenario, segments=(*segments[:2], dataclasses.replace(
        segments[2], num_records=segments[1].num_records, changes=tuple(
            c for c in segments[2].changes if c.kind != "fewer_records"))))
    assert not finding.in_signature(as_many)
    # fewer than the first run, not fewer than the fresh start before it: no
    first_fewer = dataclasses.replace(scenario, segments=(
        dataclasses.replace(segments[0], num_records=8),
        dataclasses.replace(segments[1], num_records=2, changes=(*segments[1].changes, *segments[2].changes)),
        dataclasses.replace(segments[2], num_records=3, changes=segments[1].changes)))
    assert not finding.in_signature(first_fewer)


def test_unusable_ledger_entry_is_a_usage_error(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"id": "bad"}')
    with pytest.raises(HarnessUsageError, match="bad.json is unusable"):
        load_finding(bad)


def test_fixed_upstream_findings_are_not_expected_failures():
    by_id = {f.id: f for f in LEDGER}
    assert by_id["dd-ordered-resume-replays-seed-rows-sync"].fixed_upstream
    assert by_id["dd-ordered-resume-replays-seed-rows-async"].fixed_upstream
    assert not by_id["dd-shuffle-resume-restarts-permutation-async"].fixed_upstream
    assert not by_id["dd-ordered-hydrating-reader-offset-counts-manifest-rows-async"].fixed_upstream


def test_models_draw_the_first_n_of_what_a_larger_run_draws():
    """`models -n 30` holds the models on the first 30 of `models -n 50`'s scenarios, so a
    smaller run is a prefix of a larger one, never other scenarios."""
    from harness.model_check import drawn
    from harness.targets.registry import get_target

    finding = next(f for f in load_ledger(packaged_ledger()) if f.id == "dd-shuffle-resume-restarts-permutation-async")
    caps = get_target("reference").capabilities
    assert drawn(finding, caps, 10, 0) == drawn(finding, caps, 30, 0)[:10]


@pytest.mark.parametrize(("value", "expected"), [(15, 15.0), (2.5, 2.5), (None, None), (0, "error"), (-1, "error"),
                                                 ("15", "error"), (True, "error"), (4000, "error")])
def test_an_entry_s_hang_deadline_is_a_number_of_seconds_or_the_entry_is_unusable(value, expected, tmp_path):
    import json

    data = json.loads(next(f for f in LEDGER if f.hang_seconds is not None).path.read_text())
    if value is None:
        data.pop("hang_seconds")
    else:
        data["hang_seconds"] = value
    entry = tmp_path / f"{data['id']}.json"
    entry.write_text(json.dumps(data))
    if expected == "error":
        with pytest.raises(HarnessUsageError, match="hang_seconds must be a number of seconds"):
            load_finding(entry)
    else:
        assert load_finding(entry).hang_seconds == expected


def test_a_replay_of_an_entry_with_a_hang_deadline_runs_its_scenario_under_it(monkeypatch):
    """`replay` and `repro` give an entry's scenario its `hang_seconds` as the watchdog, and
    put the target's own back after it (one replay runs a ledger's entries in turn); a
    RESUME_HARNESS_SEGMENT_TIMEOUT set in the environment wins."""
    from harness.cli import hang_deadline, read_input
    from harness.faults import DEFAULT_SEGMENT_TIMEOUT, TIMEOUT_VARIABLE

    monkeypatch.delenv(TIMEOUT_VARIABLE, raising=False)
    entry = next(f for f in LEDGER if f.hang_seconds is not None)
    loaded = read_input(entry.path)
    assert loaded.hang_seconds == entry.hang_seconds
    target = get_target("reference")
    assert target.segment_timeout == DEFAULT_SEGMENT_TIMEOUT != entry.hang_seconds
    with hang_deadline(target, loaded):
        assert target.segment_timeout == entry.hang_seconds
    assert target.segment_timeout == DEFAULT_SEGMENT_TIMEOUT
    monkeypatch.setenv(TIMEOUT_VARIABLE, "7")
    with hang_deadline(target, loaded):
        assert target.segment_timeout == DEFAULT_SEGMENT_TIMEOUT


@pytest.mark.parametrize("kind", sorted(SEED_VALUE_SIGNATURES))
@pytest.mark.parametrize("buffer_size", [1, 3])
def test_a_seed_value_kind_makes_a_drawn_table_hold_it(kind, buffer_size):
    """What `models` and the time-to-finding searches draw within a signature's seed values
    holds them; the kinds of a first file of nulls make the whole first row group null (two
    rows, a null and a value, gave a first group holding the value wherever groups held
    two rows or more, and the rollback timestamp bug could not show)."""
    signature = SEED_VALUE_SIGNATURES[kind]
    source = "csv" if kind == "csv_infinities" else "parquet"
    scenario = Scenario(seeds=tuple(SeedRow(i, f"r{i}", values=(1,)) for i in range(6)),
                        columns=(SeedColumn("count_0", "int"),), source=source, buffer_size=buffer_size,
                        segments=(Segment(6),))
    given = signature.given(scenario)
    assert signature.holds(given), given
    if kind in ("nulls_and_microseconds", "nulls_and_strings"):
        k = next(i for i, c in enumerate(given.columns) if c.type == signature.column_type)
        values = [s.values[k] for s in given.seeds]
        assert values[:buffer_size] == [None] * buffer_size and values[buffer_size] is not None, values
