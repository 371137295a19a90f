"""Shrinking where it is cheap, confirming where it is real (`hunt(shrink_model=...)`).

A real target's failure shrinks on a bug-seeded reference that shows it (the composition of
the release's known bugs' models); the finding is always a scenario that failed on the
target itself. Here the "real" target is a mutant, whose runs are counted."""

from dataclasses import dataclass

from helpers import seeds

from harness.checker import Verdict
from harness.ledger import load_ledger, packaged_ledger, shrink_model
from harness.property import ShrinkModel, check_scenario, hunt
from harness.reference.known_bugs import model_target
from harness.scenario import Fault, Scenario, Segment
from harness.targets.registry import get_target

HUNT_SEED = 20261128


def counting(monkeypatch):
    """Counts the scenarios checked on each target (by name) from here on."""
    import harness.property as property_module

    counts: dict[str, int] = {}
    check = property_module.check_scenario

    def counted(target, scenario, *args, **kwargs):
        counts[target.name] = counts.get(target.name, 0) + 1
        return check(target, scenario, *args, **kwargs)

    monkeypatch.setattr(property_module, "check_scenario", counted)
    return counts


def test_a_failure_shrinks_on_a_model_that_shows_it_and_the_finding_fails_on_the_target(monkeypatch):
    counts = counting(monkeypatch)
    alone = hunt(get_target("mutant:seed_restart"), seed=HUNT_SEED)
    on_target = counts.pop("mutant:seed_restart")
    model = ShrinkModel(model_target(("ordered_reader_restarts",)))
    result = hunt(get_target("mutant:seed_restart"), seed=HUNT_SEED, shrink_model=model)
    assert result.finding is not None and result.examples_to_first_failure == alone.examples_to_first_failure
    assert result.model_runs > 0 and result.confirm_runs >= 1 and result.note == ""
    verdict = check_scenario(get_target("mutant:seed_restart"), result.finding)
    assert not verdict.ok and alone.verdict.kinds[0] in verdict.kinds
    assert len(result.finding.to_json()) <= len(alone.finding.to_json())
    # the target ran for the search and the confirmation, the model for the shrinking
    assert counts["mutant:seed_restart"] < on_target - result.model_runs // 2
    assert counts[model.target.name] >= result.model_runs


@dataclass
class Eager(ShrinkModel):
    """A model that shows the failure on every scenario: it shrinks to scenarios the target
    passes."""

    verdict: Verdict | None = None

    def judge(self, scenario, root=None, like=None, timings=True):
        return self.verdict


def test_where_the_model_shrinks_past_the_target_s_failure_the_finding_is_one_the_target_failed():
    target = get_target("mutant:seed_restart")
    failing = Scenario(seeds=seeds(3), buffer_size=1, segments=(
        Segment(2, fault=Fault("raise", "checkpoint", 1)), Segment(3, "always")))
    verdict = check_scenario(target, failing)
    assert not verdict.ok
    result = hunt(target, seed=HUNT_SEED, shrink_model=Eager(get_target("reference"), verdict=verdict))
    assert result.finding is not None and result.model_runs > 0
    assert not check_scenario(target, result.finding).ok
    assert "did not fail on the target" in result.note and "may not be minimal" in result.note


@dataclass
class Contrary(ShrinkModel):
    """A model that shows the first failure and, after it, only what the target passes."""

    verdict: Verdict | None = None
    real: object = None
    first: Scenario | None = None

    def judge(self, scenario, root=None, like=None, timings=True):
        self.first = self.first or scenario
        if scenario == self.first or check_scenario(self.real, scenario, root).ok:
            return self.verdict
        return check_scenario(get_target("reference"), scenario, root)


def test_where_the_model_disagrees_from_its_first_step_the_search_shrinks_on_the_target():
    target = get_target("mutant:seed_restart")
    failing = Scenario(seeds=seeds(3), buffer_size=1, segments=(
        Segment(2, fault=Fault("raise", "checkpoint", 1)), Segment(3, "always")))
    model = Contrary(get_target("reference"), verdict=check_scenario(target, failing), real=target)
    result = hunt(target, seed=HUNT_SEED, shrink_model=model)
    on_target = hunt(target, seed=HUNT_SEED)
    assert result.model_runs > 0 and result.confirm_runs > 0
    assert "stopped agreeing with the target" in result.note and "shrunk on the target" in result.note
    assert result.finding == on_target.finding and not check_scenario(target, result.finding).ok


def test_where_the_model_agrees_with_the_target_part_of_the_way_the_finding_is_its_last_step_that_fails():
    from harness.property import _confirm

    target = get_target("mutant:seed_restart")
    failing = [Scenario(seeds=seeds(n), buffer_size=1, segments=(
        Segment(2, fault=Fault("raise", "checkpoint", 1)), Segment(3, "always"))) for n in (3, 2)]
    passing = [Scenario(seeds=seeds(1), segments=(Segment(1),)), Scenario(seeds=seeds(1), segments=(Segment(2),))]
    verdicts = [check_scenario(target, s) for s in failing + passing]
    assert [v.ok for v in verdicts] == [False, False, True, True]
    chain = [(s, verdicts[0]) for s in failing + passing]
    scenario, verdict, tried, note = _confirm(target, chain, None, None, None)
    assert scenario == failing[1] and not verdict.ok and tried == 3
    assert "step 1 of 3" in note and "may not be minimal" in note


def test_a_known_bug_s_failure_is_not_what_the_model_shrinks_to():
    """With `known` models, a candidate that the known bugs alone fail the same way is no
    step of the finding's shrinking (it would trade the new bug for a known one)."""
    scenario = Scenario(seeds=seeds(3), buffer_size=1, segments=(
        Segment(2, fault=Fault("raise", "checkpoint", 1)), Segment(3, "always")))
    both = ShrinkModel(model_target(("ordered_reader_restarts",)), known=model_target(("ordered_reader_restarts",)))
    verdict = both.judge(scenario)
    assert not verdict.ok and both.explained_by_known(scenario, verdict)
    assert not both.shows(verdict, verdict, scenario)
    apart = ShrinkModel(model_target(("ordered_reader_restarts",)), known=model_target(("manifest_offset",)))
    assert apart.shows(apart.judge(scenario), verdict, scenario)


def test_the_shrink_model_of_a_release_is_its_open_entries_composed_and_none_where_none_is_open():
    ledger = load_ledger(packaged_ledger())
    assert shrink_model(get_target("reference")) is None
    assert shrink_model(get_target("mutant:seed_restart")) is None

    class Release:
        name, version = "data_designer:async", "0.9.7"
        capabilities = get_target("reference").capabilities

        def seed_value_as_read(self, scenario, seed, column, value):
            return value

    model = shrink_model(Release(), ledger=ledger)
    open_models = {f.model for f in ledger if f.open_on("data_designer:async", "0.9.7")}
    assert model is not None and model.known is None
    assert set(model.target.name.removeprefix("model:").split("+")) == open_models


@dataclass
class Late(ShrinkModel):
    """A model that shows the target's failures only once they are small (ten records or
    fewer): shrinking starts on the target and moves to the model."""

    real: object = None

    def judge(self, scenario, root=None, like=None, timings=True):
        if scenario.num_records <= 10:
            return check_scenario(self.real, scenario, root)
        return check_scenario(get_target("reference"), scenario, root)


def test_the_model_takes_over_at_the_first_of_the_target_s_failures_it_shows():
    target = get_target("mutant:seed_restart")
    alone = hunt(target, seed=HUNT_SEED)
    result = hunt(target, seed=HUNT_SEED, shrink_model=Late(get_target("reference"), real=target))
    assert result.model_runs > 0 and result.confirm_runs >= 1 and result.note == ""
    on_target_steps = result.examples - result.examples_to_first_failure - result.model_runs
    assert on_target_steps > 0, "the first failures, with more records, shrank on the target"
    assert not check_scenario(target, result.finding).ok
    assert result.finding.num_records <= 10 and len(result.finding.to_json()) <= len(alone.finding.to_json())


def test_a_model_shows_a_failure_the_release_s_timing_decides_only_with_that_timing_and_confirms_it_more():
    """The crash entry fails only where the release's threads crash the run: the model's
    default run does not show it; `judge` tries the crashes the model offers, shows the
    failure with one, and marks the scenario timed, so its confirmation on the target gets
    the entry's tries. Without `timings`, the default run's verdict is all."""
    from harness.reference.known_bugs import INTERNAL_TASK_FAILURE, crash_segments

    entry = next(f for f in load_ledger(packaged_ledger()) if f.model == "emptied_group_crashes")
    names = (entry.model,)
    crashes = [c for c in crash_segments(names, entry.scenario, INTERNAL_TASK_FAILURE) if c is not None]
    like = next(v for v in (check_scenario(model_target(names, crashes_in=c), entry.scenario) for c in crashes)
                if not v.ok and "error" in v.kinds)
    model = ShrinkModel(model_target(names), names=names, tries=entry.tries)
    plain = model.judge(entry.scenario, like=like, timings=False)
    assert plain.ok or plain.kinds[0] != like.kinds[0], plain.summary()
    assert model.attempts(entry.scenario) is None
    timed = model.judge(entry.scenario, like=like)
    assert not timed.ok and timed.kinds[0] == like.kinds[0], timed.summary()
    assert any(INTERNAL_TASK_FAILURE in a.detail for a in timed.anomalies if a.kind == "error")
    assert model.attempts(entry.scenario) >= entry.tries


def test_a_hang_the_release_s_threads_decide_shows_on_the_model_only_with_that_timing():
    """The same for a hang: 0.6.0's resume in the process of a run stopped by Ctrl-C deadlocks
    on its threads' timing (`SharedSeedReaderClash`); `judge` offers the model the hang in the
    segment the release's run hung in, and the failure shows with it, not without."""
    from harness.reference.known_bugs import SEED_READER_HANG

    entry = next(f for f in load_ledger(packaged_ledger()) if f.model == "shared_seed_reader_clash")
    names = (entry.model,)
    like = check_scenario(model_target(names, crashes_in=(1, SEED_READER_HANG)), entry.scenario)
    assert "hang" in like.kinds, like.summary()
    model = ShrinkModel(model_target(names), names=names, tries=entry.tries)
    assert "hang" not in model.judge(entry.scenario, like=like, timings=False).kinds
    timed = model.judge(entry.scenario, like=like)
    assert "hang" in timed.kinds, timed.summary()


def test_a_failure_of_a_model_the_known_ones_only_build_on_is_not_explained_by_them():
    """Shrinking the every-row-dropped failure of 0.6.1 sync with the rest of the ledger as
    known: the known composition fails the same way only through the model the sync hole's
    builds on (an emptied batch writes no file), which is not theirs, so the failure shows on
    the shrink model instead of being left to the release (57 runs of about a second)."""
    ledger = load_ledger(packaged_ledger())
    entry = next(f for f in ledger if f.id == "dd-every-row-dropped-fails-the-run-sync")
    open_here = [f.model for f in ledger if f.open_on(entry.target, "0.6.1")]
    whole = ShrinkModel(model_target(open_here), known=model_target([m for m in open_here if m != entry.model]))
    verdict = check_scenario(whole.target, entry.scenario)
    assert "error" in verdict.kinds
    assert not whole.explained_by_known(entry.scenario, verdict)
    assert whole.shows(verdict, verdict, entry.scenario)
    itself = ShrinkModel(model_target(open_here), known=model_target(open_here))
    assert itself.explained_by_known(entry.scenario, verdict)


def test_the_last_steps_on_a_model_judge_with_the_release_s_timings():
    """The last shrinking steps (`drop_idle_segments`: columns, seed rows, idle segments)
    judge a model's candidate as its shrinking does, with the release's timings where the
    model's default run shows no failure: two fresh runs of one second share a directory
    only on the wall clock's say (`SameSecondSibling`), and judged by the default run alone
    no seed row could go (every candidate passes)."""
    import dataclasses

    from harness.property import drop_idle_segments
    from harness.reference.known_bugs import shared_options
    from harness.scenario import SeedRow
    from harness.strategies import seed_name

    entry = next(f for f in load_ledger(packaged_ledger()) if f.model == "same_second_sibling"
                 and f.scenario.engine == "sync")
    names = (entry.model,)
    scenario = dataclasses.replace(entry.scenario, seeds=tuple(SeedRow(i, seed_name(i)) for i in range(8)))
    like = next(v for v in (check_scenario(model_target(names, shared=o), scenario)
                            for o in shared_options(names, scenario) if o is not None) if not v.ok)
    model = ShrinkModel(model_target(names), names=names, tries=entry.tries)
    plain, _ = drop_idle_segments(model.target, scenario, like)
    assert len(plain.seeds) == 8
    shrunk, verdict = drop_idle_segments(model.target, scenario, like,
                                         judge=lambda candidate: model.judge(candidate, like=like))
    assert len(shrunk.seeds) == 1 and not verdict.ok and verdict.kinds[0] == like.kinds[0]
    assert shrunk.to_json() in model.timed  # confirmed on the release with the entry's tries
