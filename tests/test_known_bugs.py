"""Known bugs as models: every ledger entry has one, the models compose, and a failure is
known only when the composition of a release's open entries reproduces it exactly, so a
new bug that shares a known one's signature and anomaly kinds is still a finding."""

from __future__ import annotations

import dataclasses
import itertools
import json
import types
from decimal import Decimal
from pathlib import Path

import pytest
from helpers import issue_709_scenario, seeds
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.ledger import KnownBugs, fits_chunks, load_ledger, packaged_ledger
from harness.property import check_scenario, hunt
from harness.reference.known_bugs import (
    CHUNK_KEY,
    CHUNK_POS,
    INTERNAL_TASK_FAILURE,
    MODELS,
    ReadRace,
    composed,
    crash_segments,
    model_target,
    shared_options,
    unified_decimal_meets_int64,
    unreadable_decimal_column,
)
from harness.reference.mutants import MUTANTS
from harness.scenario import Fault, Scenario, SeedRow, Segment
from harness.seed_values import ADVERSARIAL_STRINGS, SeedColumn
from harness.targets.reference import ReferenceTarget

LEDGER = load_ledger(packaged_ledger())
LATEST_ASYNC = ("data_designer:async", "0.9.7")
TRIAGED_CTRL_C = Path(__file__).parent.parent / "fixtures" / "findings-to-triage" / (
    "dd-async-sigint-after-fresh-restart-rare-timing.json")
#: a JSONL int column of both signs whose dataset reads are races on 0.6.1 (CI's search, seed 616161)
RACE = Path(__file__).parent.parent / "fixtures" / "model-scenarios" / "jsonl-mixed-sign-ints-read-race.json"


def as_release(target, name: str, version: str, repeatable_shuffle: bool = True):
    """`target` standing for a release: the ledger matches entries by target name and release."""
    target.name, target.version = name, version
    target.capabilities = dataclasses.replace(target.capabilities, repeatable_shuffle=repeatable_shuffle)
    return target


def every_open_model(name: str, version: str) -> tuple[str, ...]:
    """The models `KnownBugs` composes for a release: every open entry's, fixed upstream too."""
    return tuple(dict.fromkeys(f.model for f in LEDGER if f.open_on(name, version)))


def open_models(name: str, version: str) -> list[str]:
    return [f.model for f in LEDGER if f.open_on(name, version) and not f.fixed_upstream]


def test_every_ledger_entry_has_a_model_and_every_model_an_entry():
    assert all(f.model in MODELS for f in LEDGER)
    assert {f.model for f in LEDGER} == set(MODELS)


#: the reader facts of the releases the ledger's chains over two releases run segments on
#: (`DataDesignerTarget.reader_facts`; tests/integration/test_changes_data_designer.py reads
#: them off the releases' code)
READER_FACTS = {"0.8.0": (("run_reads_dataset", True), ("dataset_schema", "first"), ("checks_start_config", False))}


@pytest.mark.parametrize("finding", LEDGER, ids=lambda f: f.id)
def test_an_entry_s_model_alone_fails_its_scenario_as_the_entry_says(finding):
    # (a bug the release's threads' timing, or the wall clock, decides: in one of the runs it allows)
    every = tuple(range(len(finding.scenario.segments)))
    # (a chain over two releases: its segments on the other release are that release's reader)
    others = {c.text: ((), READER_FACTS[c.text]) for s in finding.scenario.segments for c in s.changes
              if c.kind == "release"}
    for crash, shared in itertools.product(crash_segments([finding.model], finding.scenario, INTERNAL_TASK_FAILURE, every),
                                           shared_options([finding.model], finding.scenario)):
        verdict = check_scenario(model_target([finding.model], crashes_in=crash, shared=shared,
                                              releases=others or None), finding.scenario)
        if not verdict.ok and set(verdict.kinds) & set(finding.anomalies):
            break
    assert not verdict.ok and set(verdict.kinds) & set(finding.anomalies), verdict.summary()


def test_models_compose_in_one_order_whatever_order_they_are_named_in():
    assert composed(["plan_from_two_targets", "ordered_reader_restarts"]).__mro__[1:3] == (
        MODELS["ordered_reader_restarts"], MODELS["plan_from_two_targets"])
    assert composed([]).__mro__[1].__name__ == "Modelled"


def test_a_release_that_has_exactly_its_open_bugs_has_no_new_finding():
    """The composition of 0.9.7's open async entries, standing for 0.9.7: every failure a
    search meets is known, and named."""
    target = as_release(model_target(open_models(*LATEST_ASYNC)), *LATEST_ASYNC)
    result = hunt(target, max_examples=120, seed=3, known=KnownBugs(LEDGER, target))
    assert result.finding is None, result.verdict.summary()
    assert result.known and set("+".join(result.known).split("+")) <= {f.id for f in LEDGER}


def test_a_new_bug_with_a_known_bug_s_signature_and_anomalies_is_a_finding():
    """#709 reintroduced on the async engine of 0.9.7 (the ledger has it on 0.6.0 only): its
    failures show `duplicated` and `lost` on ORDERED scenarios, as several open 0.9.7 entries
    do, and no composition of 0.9.7's models gives its rows, so it is never counted known."""
    names = ["ordered_reader_restarts", *open_models(*LATEST_ASYNC)]
    fork = as_release(model_target(names), *LATEST_ASYNC)
    known = KnownBugs(LEDGER, fork)
    scenario = dataclasses.replace(issue_709_scenario("async"), segments=(
        Segment(3, fault=Fault("raise", "checkpoint", 2)), Segment(3, "always")))
    verdict = check_scenario(fork, scenario)
    assert {"duplicated", "lost"} <= set(verdict.kinds)
    assert known(scenario, verdict) is None
    result = hunt(fork, seed=3, known=known)
    assert result.finding is not None and result.finding.sampling == "ordered"
    assert known(result.finding, result.verdict) is None


def test_a_failure_only_a_model_an_open_one_builds_on_gives_is_not_known_without_its_entry():
    """The sync hole model (`sync_hole_refuses_resume`) is built on the every-row-dropped
    model's empty batch that writes no file. Where the every-row-dropped entry is not open (a
    fork that fixed it; the time-to-finding benchmark's search for that entry), its failure
    is a finding, not known by the hole's entry or any other: the run needed a model that is
    not open. With the whole ledger it is known, and named after its own entry."""
    entry = next(f for f in LEDGER if f.id == "dd-every-row-dropped-fails-the-run-sync")
    release = as_release(model_target(open_models(entry.target, "0.6.1")), entry.target, "0.6.1")
    verdict = check_scenario(release, entry.scenario)
    assert "error" in verdict.kinds
    assert KnownBugs(LEDGER, release)(entry.scenario, verdict) == entry.id
    others = [f for f in LEDGER if f.model != entry.model]
    assert any(f.model == "sync_hole_refuses_resume" and f.open_on(entry.target, "0.6.1") for f in others)
    assert KnownBugs(others, release)(entry.scenario, verdict) is None


def test_a_failure_the_composition_reproduces_is_named_after_the_entries_it_needs():
    entry = next(f for f in LEDGER if f.id == "dd-ordered-resume-replays-seed-rows-sync")
    release = as_release(model_target([f.model for f in LEDGER if f.open_on(entry.target, "0.6.0")]),
                         entry.target, "0.6.0")
    verdict = check_scenario(release, entry.scenario)
    assert KnownBugs(LEDGER, release)(entry.scenario, verdict) == entry.id
    # the same rows on another release, whose entries do not include #709: new
    later = as_release(model_target([f.model for f in LEDGER if f.open_on(entry.target, "0.6.0")]),
                       entry.target, "0.6.1")
    assert KnownBugs(LEDGER, later)(entry.scenario, verdict) is None


def test_a_mutant_that_is_not_a_model_is_never_explained_by_the_models():
    release = as_release(ReferenceTarget(MUTANTS["wrap_offset"]), "data_designer:sync", "0.6.0")
    known = KnownBugs(LEDGER, release)
    result = hunt(release, seed=5, known=known)
    assert result.finding is not None and known(result.finding, result.verdict) is None


def test_an_unseeded_shuffle_fits_a_model_by_its_permutations_not_its_rows():
    shuffle = Scenario(seeds=seeds(3), sampling="shuffle", buffer_size=1,
                       segments=(Segment(4, fault=Fault("raise", "checkpoint", 2)), Segment(4, "always")))
    entry = next(f for f in LEDGER if f.id == "dd-shuffle-resume-restarts-permutation-sync")
    # a target whose shuffle is its own: the model with other seeds stands for its runs
    other = dataclasses.replace(shuffle, shuffle_seed=7)
    release = as_release(model_target(["shuffle_reader_restarts"]), entry.target, "0.6.1", repeatable_shuffle=False)
    known = KnownBugs(LEDGER, release)
    for candidate in (other, dataclasses.replace(shuffle, shuffle_seed=11), dataclasses.replace(shuffle, shuffle_seed=2)):
        verdict = check_scenario(release, candidate)
        if not verdict.ok:
            assert known(dataclasses.replace(candidate, shuffle_seed=0), verdict) == entry.id
            break
    else:
        pytest.fail("no seed made the restarted permutation show")


def test_a_fresh_start_of_an_unseeded_shuffle_draws_permutations_of_its_own(tmp_path):
    """A resume of an async run with no metadata.json starts over in the same directory
    (`no_metadata_starts_over`) and a group whose rows the provider all refuses writes no file
    (`no_rows_no_dataset`): where the release's second run draws a permutation of its own,
    the first run's file of a group the second emptied stays, one row too many (0.8.0 gave 5
    rows of 7 records over [alpha, beta], beta refused: found by a search, called new because
    every draw of the models' repeated the first run's permutation in the second, which then
    always wrote that file over). With the release's shuffle the model's fresh starts draw
    anew, and the 5 rows are among its outcomes; with a repeatable one they never are."""
    from harness.model_columns import ModelColumn, ProviderFault

    scenario = Scenario(seeds=seeds(2), sampling="shuffle", buffer_size=1, engine="async",
                        segments=(Segment(7, fault=Fault("raise", "checkpoint", 1)), Segment(7, "always")),
                        model_columns=(ModelColumn("llm_0", "summarize in one line"),),
                        provider_faults=(ProviderFault(1, "http400", permanent=True),))
    names = ["no_metadata_starts_over", "no_rows_no_dataset"]
    counts = {}
    for repeatable in (True, False):
        reader = as_release(ReferenceTarget(), "data_designer:async", "0.8.0", repeatable_shuffle=repeatable)
        counts[repeatable] = {len(model_target(names, reader=reader).run(
            dataclasses.replace(scenario, shuffle_seed=k), tmp_path / f"{repeatable}-{k}").rows) for k in range(16)}
    assert counts[True] == {3, 4}
    assert 5 in counts[False] and counts[False] <= {3, 4, 5}


def test_fitting_permutations():
    model = [{CHUNK_KEY: 0, CHUNK_POS: 0}, {CHUNK_KEY: 0, CHUNK_POS: 1}, {CHUNK_KEY: 9, CHUNK_POS: 0}]
    a, b = ("a",), ("b",)
    assert fits_chunks(model, [a, b, a], ("x",))  # a new permutation may repeat an old one's row
    assert fits_chunks(model, [b, a, b], ("x",))
    assert not fits_chunks(model, [a, a, b], ("x",))  # one permutation holds a row once
    assert not fits_chunks(model, [a, b], ("x",))
    twice = [{CHUNK_KEY: 0, CHUNK_POS: 0}, {CHUNK_KEY: 0, CHUNK_POS: 0}]
    assert fits_chunks(twice, [a, a], ("x",)) and not fits_chunks(twice, [a, b], ("x",))  # one place, one row


def test_a_dataset_of_int64_and_double_files_reads_as_its_release_reads_it():
    from harness.reference.known_bugs import unreadable_int_column
    from harness.seed_values import SeedColumn

    scenario = types.SimpleNamespace(columns=(SeedColumn("n", "int"),))  # all it reads of a scenario
    big, null = {"n": 2**53 + 1}, {"n": None}
    # a double file (a null) first: every release casts the int64 file to double, and refuses
    for schema in ("first", "unified"):
        assert "9007199254740993 not in range" in unreadable_int_column(scenario, [null, big], [(0, 1), (1, 1)], schema)
    # an int64 file first: the first file's schema takes the double file's null; unified, not
    assert unreadable_int_column(scenario, [big, null], [(0, 1), (1, 1)], "first") is None
    assert unreadable_int_column(scenario, [big, null], [(0, 1), (1, 1)], "unified") is not None
    # one file holding both, or ints within 2**53: nothing to refuse
    assert unreadable_int_column(scenario, [big, null], [(0, 2)], "unified") is None
    assert unreadable_int_column(scenario, [null, {"n": 2**53}], [(0, 1), (1, 1)], "unified") is None


@pytest.mark.parametrize("groups", [[[1], [-10]], [[-10], [1]], [[None], [5]], [[5], [None]], [[0], [-1]],
                                    [[5, None], [12]], [[-5, 3], [12, 0], [100]]], ids=str)
def test_a_dataset_of_decimal_files_of_their_own_precision_reads_as_pyarrow_reads_it(groups, tmp_path):
    """`unreadable_decimal_column` against pyarrow itself: each group's file written from a
    frame of Decimals, as DataDesigner writes a HUGEINT column, and the directory read with
    the first file's schema (pandas.read_parquet, as 0.6 to 0.8 read it; an "Unsupported
    cast" falls back to reading file by file, as they do)."""
    from decimal import Decimal

    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from harness.reference.known_bugs import unreadable_decimal_column
    from harness.seed_values import SeedColumn

    rows, layout = [], []
    for g, values in enumerate(groups):
        cells = [None if v is None else Decimal(v) for v in values]
        table = pa.Table.from_pandas(pd.DataFrame({"n": pd.Series(cells, dtype=object)}), preserve_index=False)
        pq.write_table(table, tmp_path / f"batch_{g:05d}.parquet")
        rows += [{"n": c} for c in cells]
        layout.append((g, len(cells)))
    try:
        pd.read_parquet(tmp_path)
        problem = None
    except Exception as exc:  # noqa: BLE001 - what pyarrow says is the expectation
        problem = None if "Unsupported cast" in str(exc) else f"{type(exc).__name__}: {exc}"
    scenario = types.SimpleNamespace(columns=(SeedColumn("n", "int"),))
    assert unreadable_decimal_column(scenario, rows, layout, "first") == problem
    assert unreadable_decimal_column(scenario, rows, layout, "unified") is None


def test_a_ctrl_c_model_allows_the_run_to_stop_with_the_call():
    from harness.reference.known_bugs import variants

    sigint = Scenario(seeds=seeds(2), engine="async", buffer_size=1,
                      segments=(Segment(2, fault=Fault("sigint", "checkpoint", 1)), Segment(2, "always")))
    assert 0 in variants(["ctrl_c_goes_on"], sigint)  # nothing lands and no metadata after the call
    assert variants(["ctrl_c_goes_on"], dataclasses.replace(sigint, engine="sync")) == [None]


def test_models_are_held_to_a_release_on_distinct_drawn_scenarios_and_a_fork_disagrees():
    from harness.model_check import check_models, needs_release_chain

    release = as_release(model_target(open_models(*LATEST_ASYNC)), *LATEST_ASYNC)
    agreements = check_models(LEDGER, release, examples=6, seed=2)
    # (an entry of a chain over two releases is held where the target draws such chains)
    assert {a.entry for a in agreements} == {f.id for f in LEDGER if f.open_on(*LATEST_ASYNC)
                                             and not needs_release_chain(f)}
    assert all(a.drawn == 6 and a.agreed == 6 for a in agreements), [a.to_dict() for a in agreements]
    # #709 on the async engine: where its ORDERED resumes are drawn, the release's models disagree
    fork = as_release(model_target(["ordered_reader_restarts", *open_models(*LATEST_ASYNC)]), *LATEST_ASYNC)
    disagreed = [a for a in check_models(LEDGER, fork, examples=6, seed=2) if a.agreed < a.drawn]
    assert disagreed and all(a.disagreements for a in disagreed)
    # with what the release gave on each (a disagreement under load is otherwise a scenario alone)
    assert all(len(a.release_gave) == len(a.disagreements) for a in disagreed)
    assert any(gave.startswith(("duplicated", "lost", "skipped")) for a in disagreed for gave in a.release_gave), [
        a.release_gave for a in disagreed]


@pytest.mark.parametrize("in_call", [1, 3], ids=["landed-after-the-call", "landed-before-the-call-raised"])
def test_a_ctrl_c_s_remaining_groups_are_known_whether_they_land_before_or_after_the_call_raises(in_call):
    """0.6.0 async, a Ctrl-C at checkpoint 1 of three row groups: the main thread may take its
    KeyboardInterrupt late (a loaded machine), so groups 1 and 2 land before create() raises
    (no ghost) or after it (a ghost); both are the release's known behaviour. The triaged
    bounded-search example 37 was the first, which no model gave."""
    scenario = Scenario.from_json(TRIAGED_CTRL_C.read_text())
    names = [f.model for f in LEDGER if f.open_on("data_designer:async", "0.6.0")]
    # variant 0: after the call raised, nothing more lands and no metadata is written
    release = as_release(model_target(names, variant=None if in_call == 1 else 0, order={1: (0, 1, 2)},
                                      in_call={1: in_call}), "data_designer:async", "0.6.0")
    release.capabilities = dataclasses.replace(release.capabilities, own_scheduling=True)
    verdict = check_scenario(release, scenario)
    assert ("ghost" in verdict.kinds) == (in_call == 1), verdict.summary()
    assert KnownBugs(LEDGER, release)(scenario, verdict), verdict.summary()


def test_two_fresh_starts_of_one_chain_are_two_permutations_of_an_unseeded_shuffle(tmp_path):
    """A target whose shuffle is its own draws new permutations whenever a run starts over, so a
    group left by one fresh start (0.9.7 async: a run with no metadata yet starts over and keeps
    the files there) and the groups of a later fresh start may hold the same rows. Seen on
    0.9.7 in CI (a loaded machine: segment 0 checkpointed group 2 first); these are its rows."""
    scenario = Scenario.from_json(json.dumps({
        "seeds": [{"seed_id": i, "name": n} for i, n in enumerate(
            "alpha beta gamma delta epsilon zeta eta theta iota kappa".split())], "engine": "async",
        "sampling": "shuffle", "shuffle_seed": 300, "buffer_size": 3, "source": "csv",
        "segments": [
            {"num_records": 15, "resume": "never", "fault": {"action": "raise", "at": "checkpoint", "index": 1}},
            {"num_records": 17, "resume": "if_possible", "fault": {"action": "raise", "at": "checkpoint", "index": 1}},
            {"num_records": 21, "resume": "always", "fault": {"action": "raise", "at": "checkpoint", "index": 2}},
            {"num_records": 24, "resume": "if_possible", "process": "same",
             "changes": [{"index": 10, "kind": "remove_row"}]}]}))
    released = ("eta iota kappa theta alpha gamma zeta iota gamma epsilon delta gamma iota zeta eta beta theta kappa "
                "eta zeta gamma beta kappa delta").split()
    release = model_target(open_models(*LATEST_ASYNC), order={0: (2,), 1: (0,), 2: (0, 1), 3: (3, 4, 5, 6, 7)})
    outcome = release.run(scenario, tmp_path / "run")
    keys = [row[CHUNK_KEY] for row in outcome.rows]
    assert keys[6] == keys[7] == keys[8] != keys[0]  # group 2 (segment 0) is not of segment 2's permutation
    assert fits_chunks(outcome.rows, [(("string", n),) for n in released], ("name",))


def test_a_read_the_release_s_threads_decide_is_the_known_bug_s_whichever_way_it_goes():
    """0.6 to 0.8 read a dataset with the first file's schema, each later file cast on a
    thread of its own: files that raise both "Unsupported cast" (on which the release reads
    the files one by one, and passes) and "Decimal value does not fit" make the outcome a
    race. CI's 0.6.1 async search met it: the resumed run's create() read fell back and
    passed, the final read right after it failed (`torn`). The models choose, per run, how
    many of its racy reads pass (`read_races_won`); either outcome is the known entry's."""
    entry = next(f for f in LEDGER if f.id == "dd-jsonl-int-column-of-both-signs-unreadable-async")
    names = [f.model for f in LEDGER if f.open_on(entry.target, "0.6.1")]
    reader = types.SimpleNamespace(  # the release's reader gives JSON lines' ints as Decimals
        run_reads_dataset=True, dataset_schema="first", capabilities=ReferenceTarget().capabilities,
        seed_value_as_read=lambda scenario, seed, column, value: Decimal(value) if column.type == "int"
        and value is not None else value)
    race = Scenario.from_json(RACE.read_text())

    def kinds(scenario, won):
        verdict = check_scenario(model_target(names, reader=reader, read_races_won=won), scenario)
        return verdict, {(a.kind, a.run) for a in verdict.anomalies}

    # a draw of the shuffle whose resumed run's last read is a race (the model's permutations
    # are seeded: the same draw every time)
    drawn = next(d for d in (dataclasses.replace(race, shuffle_seed=race.shuffle_seed + k) for k in range(32))
                 if ("torn", "resumed") in kinds(d, 1)[1])
    verdict, won = kinds(drawn, 1)
    assert ("error", "resumed") not in won, verdict.summary()  # create()'s read fell back and passed
    # every read fails: create()'s first, in the straight run and in the resume (which wrote
    # its row groups first: no refusal of the changed buffer size)
    assert kinds(drawn, None)[1] == {("error", "straight"), ("error", "resumed")}
    assert not kinds(drawn, len(drawn.segments) + 1)[1]  # every read falls back and passes
    release = as_release(model_target(names, reader=reader), entry.target, "0.6.1")
    assert KnownBugs(LEDGER, release)(drawn, verdict) == entry.id
    # without the entry's model, a torn run is new
    others = [f for f in LEDGER if f.id != entry.id]
    clean = as_release(model_target([n for n in names if n != entry.model], reader=reader), entry.target, "0.6.1")
    assert KnownBugs(others, clean)(drawn, verdict) is None


def test_which_error_a_read_meets_follows_the_first_failing_column_of_each_later_file():
    """`unreadable_decimal_column`: each later file's error is its first failing column,
    cast to the first file's schema; both kinds among the files is a race (`ReadRace`)."""
    columns = (SeedColumn("count_0", "int"), SeedColumn("note_1", "string"))
    scenario = Scenario(seeds=(SeedRow(0, "alpha", values=(-1, "x")), SeedRow(1, "beta", values=(50153, None))),
                        columns=columns, source="jsonl", segments=(Segment(2),))
    flipped = dataclasses.replace(scenario, columns=columns[::-1],
                                  seeds=tuple(dataclasses.replace(s, values=s.values[::-1]) for s in scenario.seeds))

    def files(*held):
        rows = [{"count_0": None if c is None else Decimal(c), "note_1": n} for f in held for c, n in f]
        return rows, [(k, len(f)) for k, f in enumerate(held)]

    misfit = files([(50153, "a")], [(-724652640934, "b")])
    assert unreadable_decimal_column(scenario, *misfit, "first") == (
        "ArrowInvalid: Decimal value does not fit in precision 5")
    assert not isinstance(unreadable_decimal_column(scenario, *misfit, "first"), ReadRace)
    assert unreadable_decimal_column(scenario, *misfit, "unified") is None  # 0.9 unifies the schemas
    assert unreadable_decimal_column(scenario, *files([(50153, None)], [(1, "b")]), "first") is None  # falls back
    both = files([(50153, None)], [(-724652640934, "b")])
    assert unreadable_decimal_column(scenario, *both, "first") == "ArrowInvalid: Decimal value does not fit in precision 5"
    assert unreadable_decimal_column(flipped, *both, "first") is None  # note_1 is cast first: falls back
    race = files([(50153, None)], [(-724652640934, "b")], [(1, "c")])
    assert isinstance(unreadable_decimal_column(scenario, *race, "first"), ReadRace)
    assert unreadable_decimal_column(scenario, *files([(None, "a")], [(-724652640934, "b")]), "first") is None


def test_an_int64_file_next_to_a_decimal_one_is_unreadable_as_each_release_reads():
    """A JSONL int column of both signs is decimal128(p, 0) in its files; after the only
    negative row is deleted, a resume's files hold it as int64. 0.6 to 0.8 (the first file's
    schema) fail where a decimal file comes first; 0.9 (`unify_schemas`, permissive: int64
    next to decimal128(p <= 18) is decimal128(18, 0)) fails in either order, and not where
    the decimals need 19 digits or more or a file holds the column as double. Measured with
    pyarrow 19 and 24 (docs/datadesigner.md)."""
    scenario = Scenario(seeds=(SeedRow(0, "alpha", values=(1,)), SeedRow(1, "beta", values=(-1,))),
                        columns=(SeedColumn("count_0", "int"),), source="jsonl", segments=(Segment(2),))

    def files(*held):
        return [{"count_0": v} for f in held for v in f], [(k, len(f)) for k, f in enumerate(held)]

    decimals_then_ints = files([Decimal(1)], [1])
    ints_then_decimals = files([1], [Decimal(-1)])
    precision = "ArrowInvalid: Precision is not great enough for the result. It should be at least 19"
    assert unreadable_decimal_column(scenario, *decimals_then_ints, "first") == precision
    assert unreadable_decimal_column(scenario, *ints_then_decimals, "first") is None

    def typed(*kinds):  # each file's type for the column, as the model notes it when it writes the file
        return {k: {"int_file_types": {"count_0": kind}} for k, kind in enumerate(kinds)}

    assert unified_decimal_meets_int64(scenario, *decimals_then_ints, typed("decimal", "int64")) == precision
    assert unified_decimal_meets_int64(scenario, *ints_then_decimals, typed("int64", "decimal")) == precision
    # a double file (a null in a BIGINT group) makes the unified type double: the files read
    with_double = files([Decimal(1)], [1], [None])
    assert unified_decimal_meets_int64(scenario, *with_double, typed("decimal", "int64", "double")) is None
    assert unified_decimal_meets_int64(scenario, *with_double, typed("decimal", "int64", "null")) == precision
    # decimal128(19, 0) holds any int64; decimals of both signs alone unify
    assert unified_decimal_meets_int64(scenario, *files([Decimal(10**18)], [1]), typed("decimal", "int64")) is None
    assert unified_decimal_meets_int64(scenario, *files([Decimal(1)], [Decimal(-10)]),
                                       typed("decimal", "decimal")) is None


def test_the_edited_sign_mix_entry_is_known_on_0_9_7_only_by_its_own_model(tmp_path):
    """The entry's scenario through 0.9.7's composed models: its resume checkpoints a row
    group and fails reading the dataset (an `error`, no refusal), and that is the entry's;
    without its model the composition gives no such error."""
    entry = next(f for f in LEDGER if f.id == "dd-jsonl-int-column-sign-mix-edited-unreadable-async")
    names = open_models(entry.target, "0.9.7")
    assert entry.model in names
    verdict = check_scenario(model_target(names), entry.scenario)
    assert verdict.kinds == ("error",) and "not a refusal" in verdict.anomalies[0].detail, verdict.summary()
    without = check_scenario(model_target([n for n in names if n != entry.model]), entry.scenario)
    assert "error" not in without.kinds, without.summary()


def test_fresh_runs_of_one_second_share_a_directory_only_where_the_target_s_did():
    """`SameSecondSibling`: where the target's two fresh runs shared a directory (the wall
    clock's second named both: `Verdict.shared`), the model's second fresh run goes into the
    first's and keeps its files; otherwise each gets a sibling of its own, as the reference."""
    from harness.checker import shared_directories

    entry = next(f for f in LEDGER if f.id == "dd-fresh-runs-of-one-second-share-a-directory-sync")
    names = open_models(entry.target, "0.6.0")
    shared = check_scenario(model_target(names, shared={2: 1}), entry.scenario)
    assert shared.kinds == ("unexpected",), shared.summary()  # 3 rows: the first fresh run's group 2 stays
    assert dict(shared.shared[0]) == {2: 1}  # what the model's own run did, as the target's is read
    apart = check_scenario(model_target(names), entry.scenario)
    assert apart.ok, apart.summary()
    assert check_scenario(model_target([n for n in names if n != entry.model], shared={2: 1}), entry.scenario).ok
    events = [{"event": "dataset", "segment": 0, "path": "/a/d"}, {"event": "dataset", "segment": 1, "path": "/a/d_1"},
              {"event": "dataset", "segment": 1, "path": "/a/d_1"}, {"event": "dataset", "segment": 2, "path": "/a/d_1"},
              {"event": "dataset", "segment": 3, "path": "/a/d"}]
    assert shared_directories(events) == ((2, 1), (3, 0))


def _with_another_error(verdict):
    """`verdict` with its run's error replaced by one no known bug raises."""
    return dataclasses.replace(verdict, anomalies=tuple(
        dataclasses.replace(a, detail="segment 1 failed: RuntimeError: something else") if a.kind == "error" else a
        for a in verdict.anomalies))


def test_a_crash_the_release_s_threads_decide_is_known_only_where_its_run_ended_so():
    """0.6.1 to 0.8.0's async engine may crash at a row group that lost every row at once
    (`EmptiedGroupCrashes`), with the next groups having asked for their rows by then (paid,
    never written: `redone` where they were on disk). The models offer a crash to a run only
    where the target's run ended with that error; a run that failed otherwise is new."""
    entry = next(f for f in LEDGER if f.id == "dd-async-emptied-row-group-crashes-the-run-async")
    names = open_models(entry.target, "0.6.1")
    scenario = Scenario.from_json((RACE.parent / "async-refused-row-empties-groups.json").read_text())
    crashed = check_scenario(model_target(names, crashes_in=(1, 1)), scenario)
    kinds = {(a.kind, a.run) for a in crashed.anomalies}
    assert ("error", "resumed") in kinds and ("redone", "resumed") in kinds, crashed.summary()
    assert any("paid the model provider" in a.detail for a in crashed.anomalies if a.kind == "redone")
    release = as_release(model_target(names), entry.target, "0.6.1")
    assert entry.id in KnownBugs(LEDGER, release)(scenario, crashed).split("+")
    # the same run ending in another error is no crash of this kind: new
    assert KnownBugs(LEDGER, release)(scenario, _with_another_error(crashed)) is None


@pytest.mark.parametrize("name", ["model:shuffle_reader_restarts", "mutant:shuffle_restart", "reference"])
def test_an_unseeded_shuffle_s_draws_judged_run_by_run_find_what_every_pair_would(name, monkeypatch):
    """`KnownBugs` judges the straight and the resumed run's draws apart before it pairs
    them (a pair fits only where each run fits on its own): the answer is the one trying
    every pair gives."""
    import harness.ledger as ledger
    from harness.reference.known_bugs import variants
    from harness.targets.registry import get_target

    monkeypatch.setattr(ledger, "SHUFFLE_DRAWS", 4)
    monkeypatch.setattr(ledger, "STRAIGHT_DRAWS", 4)
    made = model_target(["shuffle_reader_restarts"]) if name.startswith("model:") else get_target(name)
    release = as_release(made, "data_designer:sync", "0.6.1", repeatable_shuffle=False)
    known = KnownBugs(LEDGER, release)
    seen = set()
    for seed in range(6):
        scenario = Scenario(seeds=seeds(3), sampling="shuffle", buffer_size=1, shuffle_seed=seed,
                            segments=(Segment(4, fault=Fault("raise", "checkpoint", 2)), Segment(5, "always")))
        verdict = check_scenario(release, scenario)
        valid = known.valid_rows(scenario, verdict.columns)
        every_pair = any(
            ledger.reproduces(known.run(known.models, dataclasses.replace(scenario, shuffle_seed=seed + a), variant,
                                        straight_draw=dataclasses.replace(scenario, shuffle_seed=seed + b)),
                              verdict, valid)
            for a in range(4) for b in range(4) for variant in variants(known.models, scenario))
        assert known.agrees(scenario, verdict) == every_pair
        seen.add(every_pair)
    # the model is its own release; a mutant or the reference is not, on some draws
    assert seen == {True} if name.startswith("model:") else False in seen


def test_the_ctrl_c_model_s_late_work_lands_nowhere_once_its_trial_is_gone(tmp_path):
    """The Ctrl-C model's thread lands the run's remaining groups after the call raised; a
    trial that has ended meanwhile (its directory removed) gets nothing: no directory made
    again in the work root, no traceback from the thread."""
    from harness.reference.engine import Group

    cls = composed(["ctrl_c_goes_on"])
    engine = cls.__new__(cls)
    gone = tmp_path / "trial" / "resumed" / "artifacts" / "resume_trial"
    engine._go_on(types.SimpleNamespace(dataset_dir=gone), [Group(1, 1, 1)])
    assert not (tmp_path / "trial").exists()


def test_the_ctrl_c_model_s_late_group_whose_partial_file_a_same_process_resume_cleared_does_not_land(
        tmp_path, monkeypatch):
    """A resume in the same process clears the partial files the Ctrl-C model's thread writes a
    group through (as the release's resume does under its ghost; a search of 0.7.0 met it 232
    times, each a traceback from the thread): that group does not land, nor any after it, and
    the thread ends quietly."""
    from harness.reference import storage as reference_storage
    from harness.reference.engine import Group

    def cleared(directory, group, rows):
        raise FileNotFoundError(2, "No such file or directory", str(directory / "tmp-partial-parquet-files"))

    monkeypatch.setattr(reference_storage, "write_group", cleared)
    cls = composed(["ctrl_c_goes_on"])
    engine = cls.__new__(cls)
    engine.segment_index, engine.journal = 0, types.SimpleNamespace(append=lambda event: None)
    engine.scenario = Scenario(seeds=seeds(2), engine="async", segments=(Segment(2),))
    engine.record = lambda session, position: {"seed_id": 0, "name": "alpha"}
    engine.seed_position = lambda session, group: 0
    here = tmp_path / "resume_trial"
    here.mkdir()
    session = types.SimpleNamespace(dataset_dir=here, completed={})
    engine._go_on(session, [Group(1, 1, 1), Group(2, 2, 1)])
    assert session.completed == {} and not (here / "metadata.json").exists()


def test_a_transient_fault_meets_the_record_the_release_dispatches_first_not_the_one_it_completes_first():
    """0.6.1 async, seed row 0's first request of each segment reset (the release drops it at
    once): its async engine admits row groups in plan order, so group 0's `alpha` asks first
    and is dropped, though the release checkpointed groups 1 and 2 and never group 0 (its only
    row gone). The models used to ask in the checkpoint order and drop group 2's `alpha`
    (`fixtures/findings-to-triage`, found by the 300-example model-column search)."""
    found = json.loads((Path(__file__).parent.parent / "fixtures" / "findings-to-triage" /
                        "dd-0.6.1-async-transient-reset-which-group-asks-first.json").read_text())
    scenario = Scenario.from_json(json.dumps(found["scenario"]))
    names = [f.model for f in LEDGER if f.open_on("data_designer:async", "0.6.1")]
    release = as_release(model_target(names, order={0: (1, 2)}), "data_designer:async", "0.6.1")
    verdict = check_scenario(release, scenario)
    assert [r["name"] for r in verdict.straight] == ["beta", "alpha"], verdict.summary()
    assert [r["name"] for r in verdict.actual] == ["beta", "alpha"], verdict.summary()
    assert KnownBugs(LEDGER, release)(scenario, verdict), verdict.summary()


def test_on_the_sync_engine_a_dropped_record_s_later_columns_do_not_ask_so_the_next_record_meets_the_fault():
    """0.6.0 sync, one seed row, two LLM columns, the row's first request of each prompt in a
    segment answered HTTP 500 (given up at once): record 0 is dropped at llm_0 and never asks
    llm_1, so record 1's llm_1 request is that prompt's first and drops it too. The release
    gave no row at all; the models, sparing record 1 as on the async engine, kept it (the
    model-column search, seed 20261207, example 78)."""
    scenario = Scenario.from_json((RACE.parent / "sync-transient-500-on-each-column-drops-every-record.json").read_text())
    names = [f.model for f in LEDGER if f.open_on("data_designer:sync", "0.6.0")]
    release = as_release(model_target(names), "data_designer:sync", "0.6.0", repeatable_shuffle=False)
    verdict = check_scenario(release, scenario)
    assert not verdict.straight and not verdict.actual, verdict.summary()
    assert KnownBugs(LEDGER, release)(scenario, verdict), verdict.summary()


@pytest.mark.parametrize("name", ["sync-no-batch-yet-resume-after-a-selection-change.json",
                                  "sync-no-batch-yet-resume-with-another-buffer-size.json"])
def test_a_sync_resume_with_no_batch_yet_goes_on_under_a_changed_config_as_the_release_does(name):
    """0.6.0 and 0.6.1's sync engine, resuming a run none of whose batches completed (no
    metadata.json), check the config against builder_config.json alone (no buffer size, no
    record count), and a dataframe seed source's does not validate: "assuming compatible",
    the resume goes on under a changed selection, or another buffer size, where the reference
    refuses. Nothing of the run is on disk, so the models go on as a fresh run (the 0.6.0 sync
    model-column search, seed 20261207, example 150, twice)."""
    scenario = Scenario.from_json((RACE.parent / name).read_text())
    names = [f.model for f in LEDGER if f.open_on("data_designer:sync", "0.6.0")]
    # 0.6.0's build() does not read its dataset back: the run goes on to the resume
    reader = types.SimpleNamespace(seed_value_as_read=lambda _s, _seed, _c, value: value, run_reads_dataset=False,
                                   dataset_schema="first", capabilities=ReferenceTarget().capabilities)
    release = as_release(model_target(names, reader=reader), "data_designer:sync", "0.6.0", repeatable_shuffle=False)
    release.run_reads_dataset, release.dataset_schema = False, "first"  # what KnownBugs's models read it as
    verdict = check_scenario(release, scenario)
    assert not verdict.refusal and {(a.kind, a.run) for a in verdict.anomalies} == {("torn", "resumed"),
                                                                                     ("torn", "straight")}
    assert KnownBugs(LEDGER, release)(scenario, verdict), verdict.summary()
    if scenario.source == "dataframe":  # a file source's config validates when read back: refused
        as_csv = Scenario.from_json(scenario.to_json().replace('"source": "dataframe"', '"source": "csv"'))
        assert check_scenario(release, as_csv).refusal


def test_a_sync_batch_completed_then_torn_is_no_run_without_a_batch_yet():
    """The window `Modelled.no_batch_yet` stands for is a run none of whose batches
    completed; one whose first batch completed (metadata.json written) and whose file was
    torn afterwards resumes as any other, #709 and all (the 0.6.0 sync search, example 26)."""
    scenario = Scenario.from_json((RACE.parent / "sync-torn-first-batch-then-resume.json").read_text())
    names = [f.model for f in LEDGER if f.open_on("data_designer:sync", "0.6.0")]
    release = as_release(model_target(names), "data_designer:sync", "0.6.0", repeatable_shuffle=False)
    verdict = check_scenario(release, scenario)
    assert [r["name"] for r in verdict.actual] == ["alpha", "alpha"], verdict.summary()
    assert KnownBugs(LEDGER, release)(scenario, verdict) == "dd-ordered-resume-replays-seed-rows-sync"


def test_which_record_of_a_sync_batch_meets_a_transient_fault_first_is_the_pool_s_race():
    """0.6.0's sync engine asks a model column for a whole batch on a thread pool: which of a
    seed row's records meets "the first request of the segment" (a malformed answer, which
    drops the record) is the pool's race. A release whose pool let the second record ask
    `llm_1` first (the triaged 0.6.0 search's example 294) is known, not new; the models'
    default (the earliest record) gives other rows."""
    finding = json.loads((Path(__file__).parent.parent / "fixtures" / "findings-to-triage" /
                          "dd-0.6.0-sync-first-request-fault-race-in-a-batch.json").read_text(encoding="utf-8"))
    scenario = Scenario.from_json(json.dumps(finding["scenario"]))
    names = open_models("data_designer:sync", "0.6.0")
    release = as_release(model_target(names, first_asker=(0, 1)), "data_designer:sync", "0.6.0")
    verdict = check_scenario(release, scenario)
    default = check_scenario(model_target(names), scenario)
    assert verdict.keys[1] != default.keys[1]  # the straight runs differ
    assert not verdict.ok and KnownBugs(LEDGER, release)(scenario, verdict)


def test_which_record_of_an_async_segment_meets_a_transient_fault_first_is_a_race_of_its_row_groups():
    """0.9.7's async engine has two row groups of one seed row in flight, each asking both
    LLM columns: the first request of `llm_0` and that of `llm_1`, each malformed (which
    drops the record), may meet different records, and then every row is dropped where the
    models' default (the earliest planned record meets both) keeps one. Seen on 0.9.7 by a
    `--faults revoked` search (seed 1207), the straight run keeping a row and the resumed
    run's first segment dropping both; known, not new."""
    scenario = Scenario.from_json((Path(__file__).parent.parent / "fixtures" / "model-scenarios" /
                                   "async-two-columns-first-request-race.json").read_text(encoding="utf-8"))
    names = open_models(*LATEST_ASYNC)
    release = as_release(model_target(names, first_asker=(0, 1)), *LATEST_ASYNC)
    verdict = check_scenario(release, scenario)
    default = check_scenario(model_target(names), scenario)
    assert verdict.kinds != default.kinds
    assert not verdict.ok and KnownBugs(LEDGER, release)(scenario, verdict)


def test_a_fresh_installation_s_first_run_is_refused_or_redone_only_by_its_model():
    """dd-first-run-of-an-installation-cannot-be-resumed: the model gives the first run of a
    fresh installation another fingerprint, so ALWAYS refuses and IF_POSSIBLE starts over;
    the reference (resume-correct) gives the right rows, and the model does too where the
    installation was not fresh or the config names its own model configs."""
    from harness.model_columns import ModelColumn

    def chain(resume: str, **fields) -> Scenario:
        return Scenario(seeds=seeds(3), buffer_size=1, engine="async", **fields,
                        segments=(Segment(3, fault=Fault("raise", "checkpoint", 2)), Segment(3, resume)))

    model = model_target(["fresh_home_fingerprint"])
    assert check_scenario(model, chain("always", fresh_home=True)).kinds == ("error",)
    assert check_scenario(model, chain("if_possible", fresh_home=True)).kinds == ("redone",)
    assert check_scenario(ReferenceTarget(), chain("always", fresh_home=True)).ok
    assert check_scenario(model, chain("always")).ok
    assert check_scenario(model, chain("always", fresh_home=True,
                                       model_columns=(ModelColumn("llm_0", "describe"),))).ok


def test_a_model_reads_back_the_dataset_its_run_wrote_not_a_sibling_an_earlier_run_left():
    """A fresh installation's first run, torn, then IF_POSSIBLE runs that each start fresh in a
    sibling directory (0.6.1 sync's 300-example search, seed 20261208): the release reads back
    the dataset its run wrote; the models read every directory of the trial, met the torn one
    and failed a run the release finished, so a known failure looked new."""
    path = Path(__file__).parent.parent / "fixtures" / "model-scenarios" / (
        "fresh-installation-torn-then-if-possible-siblings.json")
    scenario = Scenario.from_json(path.read_text())
    release = as_release(model_target(open_models("data_designer:sync", "0.6.1")), "data_designer:sync", "0.6.1")
    verdict = check_scenario(release, scenario)
    assert verdict.kinds == ("redone",), verdict.summary()


@pytest.mark.parametrize(("checks", "source", "kinds"), [(True, "parquet", ("error",)), (False, "parquet", ("redone",)),
                                                         (True, "dataframe", ("redone",))])
def test_a_fresh_installation_s_run_stopped_before_its_metadata_is_refused_where_the_release_checks_its_start_config(
        checks, source, kinds):
    """An async run stopped in its first checkpoint's callback leaves no metadata.json: 0.6
    checks the config the run wrote at its start (a dataframe source's does not validate read
    back, so it goes on) and refuses a fresh installation's first run; 0.7 and later start over
    (`DataDesignerTarget.checks_start_config`, CI's 0.6.0 async search, seed 20261128)."""
    reader = types.SimpleNamespace(checks_start_config=checks, seed_value_as_read=ReferenceTarget().seed_value_as_read,
                                   capabilities=ReferenceTarget.capabilities)
    scenario = Scenario(seeds=seeds(1), buffer_size=1, engine="async", source=source, fresh_home=True,
                        segments=(Segment(1, fault=Fault("raise", "checkpoint", 1)), Segment(1, "always")))
    model = model_target(["fresh_home_fingerprint", "no_metadata_starts_over"], reader)
    assert check_scenario(model, scenario).kinds == kinds


@pytest.mark.parametrize("held, sizes, fails, unified_fails", [
    (["in", "beyond"], (1, 1), True, True),    # a first file in ns, a later one in us: unreadable
    ([None, "beyond"], (1, 1), True, True),    # a file of nulls is in ns too
    (["beyond", "in"], (1, 1), False, True),   # a first file in us reads the others (ns to us is
    #                                            safe); unified, the ns file makes the column ns
    (["in", "beyond"], (2,), False, False),    # one file holds the column in us
    (["in", "in"], (1, 1), False, False),
    (["in", "low"], (1, 1), True, True),       # 0001-01-01 is beyond the range too
])
def test_a_timestamp_beyond_nanoseconds_makes_a_dataset_unreadable_only_after_a_first_file_in_ns(
        held, sizes, fails, unified_fails):
    import datetime as dt

    from harness.reference.known_bugs import unreadable_timestamp_column

    value = {"in": dt.datetime(2024, 1, 2), "beyond": dt.datetime(9999, 12, 31, 23, 59, 59),
             "low": dt.datetime(1, 1, 1), None: None}
    scenario = Scenario(seeds=tuple(SeedRow(i, f"r{i}", values=(value[h],)) for i, h in enumerate(held)),
                        columns=(SeedColumn("created_0", "timestamp"),), source="parquet", segments=(Segment(2),))
    rows = [{"created_0": value[h]} for h in held]
    layout = [(g, size) for g, size in enumerate(sizes)]
    problem = unreadable_timestamp_column(scenario, rows, layout, "first")
    assert (problem is not None) == fails, problem
    if fails:
        assert problem.startswith("ArrowInvalid: Casting from timestamp[us] to timestamp[ns]")
    # read by 0.9 (unified schemas: microseconds and nanoseconds promoted to nanoseconds), as
    # after a pandas 2 release wrote these files and the run went on 0.9: any file in ns fails
    # any value beyond the range
    unified = unreadable_timestamp_column(scenario, rows, layout, "unified")
    assert (unified is not None) == unified_fails, unified
    # files 0.9 itself wrote (pandas 3: microseconds, whatever the values): read either way
    in_us = [{"created_0": "us"} for _size in sizes]
    assert unreadable_timestamp_column(scenario, rows, layout, "unified", in_us) is None
    assert unreadable_timestamp_column(scenario, rows, layout, "first", in_us) is None
    # a file without a note is one 0.9 or the reference wrote: microseconds
    assert unreadable_timestamp_column(scenario, rows, layout, "unified", [{} for _size in sizes]) is None


@pytest.mark.parametrize("held, units, first_fails", [
    ([None, "micros"], ["ms", "us"], True),    # 0.9.7's group of nulls first: a later value loses data
    ([None, "millis"], ["ms", "us"], False),   # a value of whole milliseconds casts
    (["micros", None], ["us", "ms"], False),   # microseconds first take milliseconds as they are
])
def test_a_first_file_in_milliseconds_fails_a_later_value_with_microseconds_only_read_with_its_schema(
        held, units, first_fails):
    """0.9.7 (pandas 3) writes a row group of null timestamps in milliseconds
    (`NullTimestampsInMilliseconds`): 0.6 to 0.8, reading with the first file's schema, cannot
    cast a later value with microseconds; 0.9's unified read makes both microseconds."""
    import datetime as dt

    from harness.reference.known_bugs import unreadable_timestamp_column

    value = {"micros": dt.datetime(2024, 1, 2, 1, 7, 56, 20804), "millis": dt.datetime(2024, 1, 2, 1, 7, 56, 20000),
             None: None}
    scenario = Scenario(seeds=tuple(SeedRow(i, f"r{i}", values=(value[h],)) for i, h in enumerate(held)),
                        columns=(SeedColumn("created_0", "timestamp"),), source="parquet", segments=(Segment(2),))
    rows, layout = [{"created_0": value[h]} for h in held], [(0, 1), (1, 1)]
    noted = [{"created_0": unit} for unit in units]
    problem = unreadable_timestamp_column(scenario, rows, layout, "first", noted)
    assert (problem is not None) == first_fails, problem
    if first_fails:
        assert problem == "ArrowInvalid: Casting from timestamp[us] to timestamp[ms] would lose data: 1704157676020804"
    assert unreadable_timestamp_column(scenario, rows, layout, "unified", noted) is None


@settings(max_examples=400, deadline=None, database=None)
@given(st.one_of(st.sampled_from(ADVERSARIAL_STRINGS + ("inf", "-Infinity", "NaN", "nan(1)", "1e400", "+.5", "5.",
                                                      "1_000", " 1", "0x10", "1e", ".", "+", "e5", "1d5")),
                 st.text(alphabet="0123456789+-.eEinfatyINFATY _x()", max_size=7)))
def test_arrow_double_parses_what_arrow_s_cast_to_double_parses(text):
    """`arrow_double` is what a 0.6 to 0.8 read casts a later file's string to where the first
    file holds the column as double (`strings_as_double_read`): checked here against this
    environment's pyarrow, and by hand against 0.6.0's (19) and 0.8.0's (24)."""
    import math

    import pyarrow as pa
    import pyarrow.compute as pc

    from harness.reference.known_bugs import arrow_double

    try:
        cast = pc.cast(pa.array([text], pa.large_string()), pa.float64())[0].as_py()
    except pa.ArrowInvalid:
        assert arrow_double(text) is None, text
        return
    ours = arrow_double(text)
    assert ours is not None, text
    assert ours == cast or (math.isnan(ours) and math.isnan(cast)), (text, ours, cast)


#: the string entry's chain: 0.9.7 writes a first group of nulls in a string column as double,
#: and a resume on 0.8.0 past that group reads with the first file's schema
NULL_STRINGS = "dd-null-string-group-read-as-double-after-rollback-async"


def _null_strings_chain(values=(None, None, "x"), stop_after=2):
    entry = next(f for f in LEDGER if f.id == NULL_STRINGS)
    first, resumed = entry.scenario.segments
    return dataclasses.replace(
        entry.scenario, seeds=tuple(dataclasses.replace(s, values=(v,)) for s, v in zip(entry.scenario.seeds, values)),
        segments=(dataclasses.replace(first, fault=dataclasses.replace(first.fault, index=stop_after)), resumed))


@pytest.mark.parametrize("values, stop_after, outcome", [
    ((None, None, "x"), 2, "Failed to parse string: 'x' as a scalar of type double"),
    ((None, None, " 1"), 2, "Failed to parse string: ' 1' as a scalar of type double"),
    ((None, None, "001"), 2, "lost"),            # cast, not failed: read as 1, silently
    ((None, None, "x"), 1, None),                # 0.8.0 redoes group 0 (no metadata yet): pandas 2's null type
    (("x", None, None), 2, None),                # no group of nulls alone: every file a string
    ((None, None, None), 2, None),               # every file double: nothing to cast
])
def test_a_first_group_of_null_strings_0_9_7_wrote_is_read_by_0_8_0_as_double(values, stop_after, outcome, tmp_path):
    """0.9.7 writes a row group whose string values are all null as double
    (`NullStringsAsDoubles`); 0.8.0, resuming past it, reads with the first file's schema and
    casts the later strings to double: one Arrow cannot parse fails its run, "001" is read as
    1 (the rows are wrong, no error). 0.9.7 reads the same files (each on its own); without
    the model, 0.8.0's read passes."""
    scenario = _null_strings_chain(values, stop_after)
    on_0_8_0 = every_open_model("data_designer:async", "0.8.0")
    names = every_open_model(*LATEST_ASYNC)
    assert "null_strings_as_doubles" in names and "null_strings_as_doubles" not in on_0_8_0
    chain = check_scenario(model_target(names, releases={"0.8.0": (on_0_8_0, FACTS_0_8_0)}), scenario)
    if outcome is None:
        assert chain.ok, chain.anomalies
    elif outcome == "lost":
        assert chain.kinds == ("unexpected", "lost"), chain.anomalies
        assert [r["label_0"] for r in chain.actual] == [None, None, 1, None, None, 1]
        # the cast read is the model's doing: what names the entry when the failure is known
        from harness.journal import Journal

        target = model_target(names, releases={"0.8.0": (on_0_8_0, FACTS_0_8_0)})
        target.run(scenario, tmp_path)
        assert {"event": "model", "segment": 1, "model": "null_strings_as_doubles"} in [
            {k: e.get(k) for k in ("event", "segment", "model")} for e in Journal(tmp_path / "journal.jsonl").events()]
    else:
        assert chain.kinds == ("error",), chain.anomalies
        assert chain.anomalies[0].segment == 1 and outcome in chain.anomalies[0].detail
    # on 0.9.7 throughout, its read passes (a resume before the first metadata redoes group 0
    # there: another entry's); without the model, 0.8.0's does too
    alone = check_scenario(model_target(names), dataclasses.replace(
        scenario, segments=(scenario.segments[0], dataclasses.replace(scenario.segments[1], changes=()))))
    assert alone.kinds == (() if stop_after == 2 else ("redone",)), alone.anomalies
    without = tuple(n for n in names if n != "null_strings_as_doubles")
    assert check_scenario(model_target(without, releases={"0.8.0": (on_0_8_0, FACTS_0_8_0)}), scenario).ok


def test_files_0_9_cannot_unify_are_read_each_on_its_own_where_a_decimal_meets_an_int64():
    """A string column's group of nulls (double) beside a group with a string: 0.9 cannot
    unify the files' schemas and reads each on its own (`schemas_fall_back`), so a JSONL int
    column of both signs edited to one sign before the resume (decimal files and an int64
    file) reads, Decimals and ints as each file holds them, where the unified read fails
    ("Precision is not great enough"). The run still fails on the rows of the inputs before
    and after the edit (the edit entry's; on the release: tests/integration)."""
    scenario = Scenario.from_json((MODEL_SCENARIOS / "jsonl-sign-mix-edited-beside-null-string-group.json").read_text())
    names = every_open_model(*LATEST_ASYNC)
    verdict = check_scenario(model_target(names), scenario)
    assert verdict.kinds and "error" not in verdict.kinds, verdict.anomalies
    assert any(isinstance(r["count_0"], Decimal) for r in verdict.actual) and any(
        type(r["count_0"]) is int for r in verdict.actual), verdict.actual
    unified = check_scenario(model_target(tuple(n for n in names if n != "null_strings_as_doubles")), scenario)
    assert "error" in unified.kinds and "Precision is not great enough" in str(unified.anomalies), unified.anomalies


def test_a_jsonl_timestamp_column_read_as_text_is_a_string_column_to_the_model():
    """The search's own example: JSON lines timestamps DuckDB reads as text (the reader's
    values are strings), whose first group is all null: as the entry's string column."""
    scenario = Scenario.from_json(
        (MODEL_SCENARIOS / "rollback-to-0.8.0-jsonl-timestamps-as-text-null-group-first.json").read_text())
    as_text = types.SimpleNamespace(
        capabilities=ReferenceTarget.capabilities,
        seed_value_as_read=lambda _s, _seed, _c, value: None if value is None else value.isoformat())
    names, on_0_8_0 = every_open_model(*LATEST_ASYNC), every_open_model("data_designer:async", "0.8.0")
    chain = check_scenario(model_target(names, as_text, releases={"0.8.0": (on_0_8_0, FACTS_0_8_0)}), scenario)
    assert chain.kinds == ("error",), chain.anomalies
    assert "Failed to parse string: '2024-01-02T01:07:56.020804' as a scalar of type double" in chain.anomalies[0].detail
    # read as timestamps (as the reference writes them), the group of nulls is the timestamp
    # entry's, in milliseconds, which this value (microseconds) fails otherwise
    assert "as a scalar of type double" not in str(check_scenario(
        model_target(names, releases={"0.8.0": (on_0_8_0, FACTS_0_8_0)}), scenario).anomalies)


#: what 0.8.0's and 0.9.7's readers do (`DataDesignerTarget.reader_facts`, read off their code)
FACTS_0_8_0 = (("run_reads_dataset", True), ("dataset_schema", "first"), ("checks_start_config", False))
FACTS_0_9_7 = (("run_reads_dataset", True), ("dataset_schema", "unified"), ("checks_start_config", False))
MODEL_SCENARIOS = RACE.parent


def _upgrade_scenario() -> Scenario:
    """A sentinel timestamp and two ordinary ones, a row a group: 0.8.0 (pandas 2) writes the
    sentinel's group in microseconds and an ordinary one's in nanoseconds, reads nothing
    back (interrupted after two of the three groups, in whichever order its async scheduler
    finished them: at least one ordinary group), and the run goes on on 0.9.7, whose read at
    the end of `create()` unifies the files' schemas to nanoseconds: the sentinel cannot be
    cast, the segment fails.
    A straight run on 0.9.7 writes every file in microseconds (as on the releases:
    tests/integration/test_changes_data_designer.py)."""
    return Scenario.from_json((MODEL_SCENARIOS / "upgrade-from-0.8.0-timestamp-sentinel.json").read_text())


def _reading_as(facts):
    """A reader of seed values as written, with a release's reader facts."""
    return types.SimpleNamespace(**dict(facts), capabilities=ReferenceTarget.capabilities,
                                 seed_value_as_read=lambda _scenario, _seed, _column, value: value)


def _as_0_8_0_upgrading():
    """A target that behaves as 0.8.0 and, on a chain's segments on 0.9.7, as 0.9.7, and
    says so as a DataDesigner target does (its reader facts, another release's too)."""
    on_0_9_7 = every_open_model(*LATEST_ASYNC)
    target = as_release(model_target(every_open_model("data_designer:async", "0.8.0"), _reading_as(FACTS_0_8_0),
                                     releases={"0.9.7": (on_0_9_7, FACTS_0_9_7)}), "data_designer:async", "0.8.0")
    for name, value in FACTS_0_8_0:
        setattr(target, name, value)
    target.reader_facts = lambda release=None: FACTS_0_9_7 if release == "0.9.7" else FACTS_0_8_0
    return target


def test_a_chain_over_two_releases_runs_each_segment_on_its_release_s_models():
    """The model of a chain whose second segment runs on 0.9.7 composes 0.9.7's models and
    reader there: its read of the files 0.8.0's models wrote (the timestamp entry's, one group
    noted in nanoseconds) fails. With 0.8.0's models and reader for every segment, the read
    is the first file's schema (microseconds) and passes."""
    scenario = _upgrade_scenario()
    names = every_open_model("data_designer:async", "0.8.0")
    on_0_9_7 = every_open_model(*LATEST_ASYNC)
    assert "timestamps_beyond_nanoseconds" in names and "timestamps_beyond_nanoseconds" not in on_0_9_7
    reader = _reading_as(FACTS_0_8_0)
    chain = check_scenario(model_target(names, reader, releases={"0.9.7": (on_0_9_7, FACTS_0_9_7)}), scenario)
    assert chain.kinds == ("error",), chain.anomalies
    assert chain.anomalies[0].segment == 1
    assert "Casting from timestamp[us] to timestamp[ns]" in chain.anomalies[0].detail
    assert check_scenario(model_target(names, reader, releases={"0.9.7": (names, FACTS_0_8_0)}), scenario).ok


# completion_order: at each completion, the index of the in-flight group that completes
@pytest.mark.parametrize("order", [(), (0, 1), (1, 1), (2,)],
                         ids=["groups 0, 1 first", "0, 2 first", "1, 2 first", "2, 0 first"])
def test_the_upgrade_chain_fails_whichever_groups_0_8_0_finished_first(order):
    """The release's async scheduler finishes row groups in an order of its own (a CI run
    under load once checkpointed the two sentinel groups of an earlier form of this
    scenario first, and the chain passed): the scenario holds whichever two groups 0.8.0
    wrote, and the first file (group 0, the sentinel's, microseconds) keeps 0.8.0's read
    passing."""
    scenario = dataclasses.replace(_upgrade_scenario(), completion_order=order)
    names = every_open_model("data_designer:async", "0.8.0")
    on_0_9_7 = every_open_model(*LATEST_ASYNC)
    reader = _reading_as(FACTS_0_8_0)
    chain = check_scenario(model_target(names, reader, releases={"0.9.7": (on_0_9_7, FACTS_0_9_7)}), scenario)
    assert chain.kinds == ("error",), (order, chain.anomalies)
    assert check_scenario(model_target(names, reader, releases={"0.9.7": (names, FACTS_0_8_0)}), scenario).ok


def test_the_final_read_of_a_chain_is_its_last_segment_s_release_s():
    """0.9.7, then a resume on 0.8.0 that writes a group of the ordinary timestamp in
    nanoseconds: read as 0.8.0 reads (the first file's schema, microseconds), as the user's
    `create()` on 0.8.0 does, it passes; read as 0.9.7 (unified, nanoseconds) it would not."""
    scenario = Scenario.from_json((MODEL_SCENARIOS / "rollback-to-0.8.0-timestamp-sentinel.json").read_text())
    on_0_8_0 = every_open_model("data_designer:async", "0.8.0")
    names = every_open_model(*LATEST_ASYNC)
    assert check_scenario(model_target(names, releases={"0.8.0": (on_0_8_0, FACTS_0_8_0)}), scenario).ok
    # (the segment's own read at its end left out: the final read alone, as 0.9.7 would read)
    unread = (("run_reads_dataset", False), ("dataset_schema", "unified"), ("checks_start_config", False))
    read_as_0_9_7 = check_scenario(model_target(names, releases={"0.8.0": (on_0_8_0, unread)}), scenario)
    assert read_as_0_9_7.kinds == ("torn",), read_as_0_9_7.anomalies


def _as_0_9_7_rolling_back(names=None):
    """A target that behaves as 0.9.7 (`names`: its models, default every open entry's) and,
    on a chain's segments on 0.8.0, as 0.8.0, and says so as a DataDesigner target does."""
    on_0_8_0 = every_open_model("data_designer:async", "0.8.0")
    # (no reader: values as written, and 0.9.7's facts are the models' defaults)
    target = as_release(model_target(names or every_open_model(*LATEST_ASYNC),
                                     releases={"0.8.0": (on_0_8_0, FACTS_0_8_0)}), *LATEST_ASYNC)
    for name, value in FACTS_0_9_7:
        setattr(target, name, value)
    target.reader_facts = lambda release=None: FACTS_0_8_0 if release == "0.8.0" else FACTS_0_9_7
    return target


ROLLBACK_ENTRIES = [NULL_STRINGS, "dd-null-timestamp-group-unreadable-after-rollback-async"]


def test_models_then_holds_the_entries_of_a_chain_over_two_releases_on_chains_it_draws():
    """`models --then 0.8.0` on 0.9.7: the entries whose signature needs a release change are
    held on chains drawn with their resumes on 0.8.0 (without `--then` they are skipped), and
    a release whose 0.9.7 models lack the string entry's disagrees where a drawn chain shows it."""
    from harness.model_check import check_models

    target = _as_0_9_7_rolling_back()
    assert check_models(LEDGER, target, examples=20, seed=5, only=ROLLBACK_ENTRIES) == []
    caps = dataclasses.replace(target.capabilities, release_chain=("0.8.0",), releases=("0.8.0",),
                               change_kinds=(*target.capabilities.change_kinds, "release"), max_interruptions=1)
    held = check_models(LEDGER, target, examples=20, seed=5, only=ROLLBACK_ENTRIES, caps=caps)
    assert [a.entry for a in held] == ROLLBACK_ENTRIES
    assert all(a.drawn == 20 and a.agreed == 20 for a in held), [a.to_dict() for a in held]
    assert held[0].failed > 0  # (the drawn chains reach the bug)
    lacking = _as_0_9_7_rolling_back(tuple(n for n in every_open_model(*LATEST_ASYNC) if n != "null_strings_as_doubles"))
    disagreed = check_models(LEDGER, lacking, examples=20, seed=5, only=ROLLBACK_ENTRIES[:1], caps=caps)
    assert disagreed[0].agreed < disagreed[0].drawn, disagreed[0].to_dict()


def test_a_failure_of_a_chain_over_two_releases_is_known_by_the_models_of_each(monkeypatch):
    """A target that behaves as 0.8.0 and, on the chain's second segment, as 0.9.7 (an upgrade
    between an interruption and its resume): its failure is the timestamp entry's, open on
    0.8.0, in the 0.9.7 segment's read. Known with each segment's release's models; new with
    the target's release's for every segment (as KnownBugs composed them before)."""
    scenario = _upgrade_scenario()
    target = _as_0_8_0_upgrading()
    verdict = check_scenario(target, scenario)
    assert verdict.kinds == ("error",), verdict.anomalies
    known = KnownBugs(LEDGER, target)
    assert known.releases(scenario) == {"0.9.7": (every_open_model(*LATEST_ASYNC), FACTS_0_9_7)}
    assert known(scenario, verdict) == "dd-timestamp-beyond-nanoseconds-unreadable-async"
    monkeypatch.setattr(KnownBugs, "releases", lambda self, s: {})
    assert KnownBugs(LEDGER, target)(scenario, verdict) is None


def test_the_shrink_model_of_a_search_over_two_releases_composes_each_segment_from_its_release():
    """`hunt --then 0.9.7` on 0.8.0 shrinks on a model whose segments on 0.9.7 are 0.9.7's
    models: it shows the upgrade's failure, which 0.8.0's models alone do not."""
    from harness.ledger import shrink_model

    scenario = _upgrade_scenario()
    target = _as_0_8_0_upgrading()
    first = check_scenario(target, scenario)
    model = shrink_model(target, releases=("0.9.7",))
    assert model.judge(scenario, like=first).kinds == ("error",)
    assert model.shows(model.judge(scenario, like=first), first, scenario)
    assert shrink_model(target).judge(scenario, like=first).ok


def _clash_scenario(**changes) -> Scenario:
    """Ctrl-C after the first of three row groups, and the cell run again in the same process."""
    scenario = Scenario(seeds=seeds(3), buffer_size=1, engine="async", source="parquet",
                        segments=(Segment(3, "never", Fault("sigint", "checkpoint", 1)),
                                  Segment(3, "always", None, process="same")))
    return dataclasses.replace(scenario, **changes)


@pytest.mark.parametrize("how", ["hang", "error"])
def test_a_run_in_the_process_of_an_interrupted_one_meets_its_seed_reads_only_where_the_target_s_did(how):
    """0.6.0's async runs of one process share one seed reader and its DuckDB connection: a run
    started after an interrupted one whose threads still read seeds may deadlock, or fail on a
    query result the other thread took (`SharedSeedReaderClash`). The models offer that to the
    segment run in the interrupted one's process, and only where the target's run ended so."""
    from harness.reference.known_bugs import SEED_READER_ERRORS, clash_segments

    entry = next(f for f in LEDGER if f.model == "shared_seed_reader_clash")
    names = [f.model for f in LEDGER if f.open_on(entry.target, "0.6.0")]  # (fixed in 0.6.1: open on 0.6.0)
    scenario = _clash_scenario()
    assert clash_segments(scenario) == [1]
    hung, error = ((1,), None) if how == "hang" else ((), f"segment 1 failed: TypeError: {SEED_READER_ERRORS[0]}")
    options = crash_segments(names, scenario, error, hung)
    assert options[0] is None and len(options) == 2
    met = check_scenario(model_target(names, crashes_in=options[1]), scenario)
    assert (how, "resumed") in {(a.kind, a.run) for a in met.anomalies}, met.summary()
    assert next(a for a in met.anomalies if a.kind == how).segment == 1
    release = as_release(model_target(names), entry.target, "0.6.0")
    assert entry.id in KnownBugs(LEDGER, release)(scenario, met).split("+")
    # the option without the run that leaves work behind changes nothing: no run to clash with
    assert check_scenario(model_target(names, crashes_in=options[1]), _clash_scenario(
        segments=(Segment(3, "never", None), Segment(3, "always", None, process="same")))).ok
    # a run in a process of its own, a directory source (its reader is the run's own), the sync
    # engine (nothing goes on after the call): no segment may meet it, and a hang there is new
    with_lines = tuple(dataclasses.replace(s, lines=(s.name,)) for s in seeds(3))
    for other in (_clash_scenario(segments=(scenario.segments[0], dataclasses.replace(scenario.segments[1], process="fresh"))),
                  _clash_scenario(source="directory", seeds=with_lines), _clash_scenario(engine="sync")):
        assert clash_segments(other) == []
        assert crash_segments(names, other, error, hung) == [None]
    # where the run was interrupted after its last row group, nothing of it reads seeds any more
    done = _clash_scenario(segments=(Segment(3, "never", Fault("sigint", "checkpoint", 3)), scenario.segments[1]))
    assert not any(a.kind == how for a in check_scenario(model_target(names, crashes_in=options[1]), done).anomalies)


def test_a_resume_that_races_a_ctrl_c_ghost_s_files_is_known_only_where_the_release_s_failed_so():
    """0.6.0 to 0.7.0: the resume in the process of a run Ctrl-C left going clears the
    partial-results directory the ghost writes into ("Directory not empty") or moves a batch
    file the ghost listed: `create()` raises at its start. The models offer that failure to a
    segment run in the process of one Ctrl-C stopped with row groups left, and only where the
    release's run failed with such an error; another error there is new."""
    from harness.reference.known_bugs import GHOST_RACE, ghost_race_segments

    entry = next(f for f in LEDGER if f.model == "ctrl_c_goes_on")
    names = [f.model for f in LEDGER if f.open_on(entry.target, "0.7.0")]
    scenario = _clash_scenario()
    assert ghost_race_segments(scenario) == [1]
    error = "segment 1 failed: DataDesignerGenerationError: Error generating dataset: [Errno 39] Directory not empty"
    options = crash_segments(names, scenario, error)
    assert options == [None, (1, GHOST_RACE)]
    met = check_scenario(model_target(names, crashes_in=(1, GHOST_RACE)), scenario)
    assert ("error", "resumed") in {(a.kind, a.run) for a in met.anomalies}, met.summary()
    release = as_release(model_target(names), entry.target, "0.7.0")
    assert entry.id in KnownBugs(LEDGER, release)(scenario, met).split("+")
    # another error in the same place is no race with the ghost's files: new
    assert KnownBugs(LEDGER, release)(scenario, _with_another_error(met)) is None
    # a crash (not Ctrl-C) leaves no ghost writing files; nor does a run Ctrl-C stopped after its last group
    crashed = _clash_scenario(segments=(Segment(3, "never", Fault("raise", "checkpoint", 1)), scenario.segments[1]))
    assert crash_segments(names, crashed, error) == [None]
    done = _clash_scenario(segments=(Segment(3, "never", Fault("sigint", "checkpoint", 3)), scenario.segments[1]))
    assert "error" not in check_scenario(model_target(names, crashes_in=(1, GHOST_RACE)), done).kinds


def test_a_run_an_outage_leaves_waiting_on_a_freed_group_s_retry_is_known_only_where_the_target_s_hung():
    """0.7.0 and 0.8.0's async engine frees a row group whose every row was dropped while
    another model column's request for one of its rows is out; in an outage that request's
    retry is put among the deferred tasks after its group is gone, and the run never returns
    (`EmptiedGroupOrphansRetry`). The models offer that hang to a segment an outage interrupts
    in a config of two model columns or more, and only where the target's run hung there."""
    from harness.reference.known_bugs import EMPTIED_GROUP_HANG, emptied_hang_segments

    entry = next(f for f in LEDGER if f.model == "emptied_group_orphans_retry")
    assert entry.hang_seconds is not None and entry.hang_seconds < 60
    names = [f.model for f in LEDGER if f.open_on(entry.target, "0.8.0")]  # (fixed in 0.9: open on 0.8.0)
    scenario = entry.scenario
    assert emptied_hang_segments(scenario) == [1]
    assert (1, EMPTIED_GROUP_HANG) in crash_segments(names, scenario, None, (1,))
    met = check_scenario(model_target(names, crashes_in=(1, EMPTIED_GROUP_HANG)), scenario)
    hang = next(a for a in met.anomalies if a.kind == "hang")
    assert (hang.run, hang.segment) == ("resumed", 1), met.summary()
    release = as_release(model_target(names), entry.target, "0.8.0")
    assert entry.id in KnownBugs(LEDGER, release)(scenario, met).split("+")
    # where the target's run did not hang there, the hang is not offered: a run of the
    # composition that hangs is no run the release gave
    assert (1, EMPTIED_GROUP_HANG) not in crash_segments(names, scenario, None, (2,))
    assert (1, EMPTIED_GROUP_HANG) not in crash_segments(names, scenario, None, ())
    # one model column (the row's only request failed: nothing of it is left out), the sync
    # engine, no outage (a row's own faults are one kind, never tried again): no segment may meet it
    no_outage = tuple(dataclasses.replace(s, fault=Fault("raise", "checkpoint", 2)) if s.fault is not None and
                      s.fault.action == "outage" else s for s in scenario.segments)
    for other in (dataclasses.replace(scenario, model_columns=scenario.model_columns[:1]),
                  dataclasses.replace(scenario, engine="sync"), dataclasses.replace(scenario, segments=no_outage)):
        assert emptied_hang_segments(other) == []
        assert (1, EMPTIED_GROUP_HANG) not in crash_segments(names, other, None, (1,))
    # a segment that empties no group: the outcome changes nothing
    healthy = dataclasses.replace(scenario, provider_faults=())
    assert "hang" not in check_scenario(model_target(names, crashes_in=(1, EMPTIED_GROUP_HANG)), healthy).kinds
    # 0.9 frees a group only once none of its tasks is in flight: not composed there
    assert entry.model not in [f.model for f in LEDGER if f.open_on(entry.target, "0.9.7")]


def test_an_outage_fails_the_retries_of_held_rows_not_the_rows_answered_in_time(tmp_path):
    """dd-provider-outage-short-group-counts-complete on the async engine: the engine had sent
    the first request of every row of its groups in flight before the outage began; what meets
    it is the retry of a row whose first answer was slow. 0.7.0 to 0.9.7 wrote group 0 as
    [beta] where alpha, its first row, had a slow first answer and group 1 completed first
    (the outage began at that checkpoint): the model, asking alpha first, gave no rows,
    [alpha] or [alpha, beta], and the failure was called new (a search's triage, replayed 8
    of 8 times new). Asking the rows with no transient fault first, it gives [beta]. And each
    outage has its own requests in flight: the variants give a grace, or a number of groups in
    flight, per segment an outage interrupts."""
    from harness.model_columns import ModelColumn, ProviderFault
    from harness.reference.known_bugs import IN_FLIGHT_GROUPS, PER_SEGMENT_GRACE, variants

    scenario = Scenario(seeds=seeds(2), buffer_size=2, engine="async",
                        segments=(Segment(4, fault=Fault("outage", "checkpoint", 1)), Segment(4, "always")),
                        model_columns=(ModelColumn("llm_0", "describe"),),
                        provider_faults=(ProviderFault(0, "slow"),))
    model = model_target(["lost_rows_complete"], order={0: (1, 0)})
    outcome = model.run(scenario, tmp_path / "resumed")
    assert [r["seed_id"] for r in outcome.rows] == [1, 0, 1]
    group_0 = [c.seed_ids for c in outcome.checkpoints if c.segment == 0 and c.group == 0]
    assert group_0 == [(1,)]
    # no request let through after the outage: group 0 loses both rows, writes no file, and the
    # resume makes it whole; one group in flight at the outage: beta had its answer, alpha's
    # retry meets the outage, and group 0 is [beta] again
    none = model_target(["lost_rows_complete"], variant=0, order={0: (1, 0)}).run(scenario, tmp_path / "none")
    assert [r["seed_id"] for r in none.rows] == [0, 1, 0, 1]
    flight = model_target(["lost_rows_complete"], variant=IN_FLIGHT_GROUPS + 1, order={0: (1, 0)}).run(
        scenario, tmp_path / "flight")
    assert [r["seed_id"] for r in flight.rows] == [1, 0, 1]
    assert not [v for v in variants(["lost_rows_complete"], scenario) if v is not None and v >= PER_SEGMENT_GRACE
                and v < IN_FLIGHT_GROUPS]  # one outage: one grace for it
    assert IN_FLIGHT_GROUPS + 1 in variants(["lost_rows_complete"], scenario)
    two = dataclasses.replace(scenario, segments=(scenario.segments[0], dataclasses.replace(
        scenario.segments[1], fault=Fault("outage", "checkpoint", 1)), Segment(4, "always")))
    found = variants(["lost_rows_complete"], two)
    assert PER_SEGMENT_GRACE + 1 in found and PER_SEGMENT_GRACE + 10 in found  # (1, 0) and (0, 1)
    assert IN_FLIGHT_GROUPS + 12 in found and IN_FLIGHT_GROUPS + 22 in found and IN_FLIGHT_GROUPS + 3 not in found
