"""The resume property, and the search for a scenario that breaks it.

`check_scenario` runs one scenario against a target twice (the interrupted chain, and the
straight run of the final num_records), and returns the checker's `Verdict` against the
reference's `expected_rows`. `hunt` lets Hypothesis search the scenario space for a
failing scenario and shrink it; the finding is the minimal scenario it ends on.
"""

from __future__ import annotations

import random
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.errors import Flaky
from hypothesis.strategies import SearchStrategy

from harness.checker import Verdict, compare
from harness.coverage import Coverage
from harness.errors import HarnessUsageError, ScenarioError
from harness.exits import STOPS, raise_pending_stop, signal_name, stop_requested
from harness.reference.model import expected_rows
from harness.scenario import Scenario
from harness.strategies import scenarios
from harness.targets.base import Capabilities, Outcome, Target
from harness.workdirs import work_directory

DEFAULT_MAX_EXAMPLES = 300
class StraightRuns:
    """A search's straight runs, paid once per straight scenario: shrink candidates that
    differ only in their faults or resumes share one (most of them do). A run that erred,
    hung or cannot be read back is not kept, so a flake is not repeated.

    Where the target declares its straight runs a function of the scenario
    (`Target.deterministic`: an ORDERED scenario without model columns, or a SHUFFLE one where
    its shuffle is repeatable), the reference's rows stand in for the straight run of a scenario
    whose resumed run they pass (`stands_in`): the check of the resumed run against the
    reference is the same, and the straight run is paid only where the resumed run failed in
    a way the search's known bugs do not explain with the reference's rows for it (so a new
    finding and its shrinking always judge two real runs) and on one straight scenario in
    `sample` (chosen by its text, so the same scenarios in every search), which keeps the
    differential check of straight runs against the reference on a sample. What that gives
    up: a bug that breaks a straight run alone, on a deterministic scenario, is seen on the
    sample only (a resumed run that breaks too is seen at once)."""

    def __init__(self, size: int = 256, sample: int = 4,
                 known: Callable[[Scenario, Verdict], str | None] | None = None) -> None:
        self._runs: OrderedDict[str, Outcome] = OrderedDict()
        self.size = size
        self.sample = sample
        self.hits = 0
        self.misses = 0
        #: straight runs the reference's rows stood in for
        self.stood_in = 0
        #: the search's known bugs (`hunt --known`): a failure they explain with the
        #: reference's rows for the straight run needs no straight run either (a release's
        #: known bug may fail half a search's examples)
        self.known = known
        self._explained: dict[int, tuple[Verdict, str | None]] = {}

    def known_as(self, scenario: Scenario, verdict: Verdict) -> str | None:
        """`known(scenario, verdict)`, asked once per verdict."""
        if self.known is None or verdict.ok:
            return None
        kept = self._explained.get(id(verdict))
        if kept is None or kept[0] is not verdict:
            kept = (verdict, self.known(scenario, verdict))
            self._explained = {id(verdict): kept}
        return kept[1]

    def stands_in(self, target: Target, scenario: Scenario) -> bool:
        """Whether the reference's rows may stand in for `target`'s straight run of `scenario`
        (until its resumed run fails)."""
        if not target.deterministic or scenario.model_columns or self.sample <= 1:
            return False
        if scenario.sampling == "shuffle" and not target.capabilities.repeatable_shuffle:
            return False
        return zlib.crc32(scenario.straight().to_json().encode()) % self.sample != 0

    def run(self, target: Target, straight: Scenario, directory: Path) -> Outcome:
        key = f"{target.name} {target.version}\n{straight.to_json()}"
        kept = self._runs.get(key)
        if kept is not None:
            self._runs.move_to_end(key)
            self.hits += 1
            return kept
        self.misses += 1
        outcome = target.run(straight, directory)
        if outcome.error is None and not outcome.hang and outcome.load_error is None:
            self._runs[key] = outcome
            while len(self._runs) > self.size:
                self._runs.popitem(last=False)
        return outcome


def check_supported(target: Target, scenario: Scenario) -> None:
    """A usage error where `target` cannot run `scenario` (a release without its engine, ...)."""
    problem = target.capabilities.unsupported(scenario)
    if problem is not None:
        raise HarnessUsageError(f"target '{target.name}' cannot run this scenario: {problem}")


def check_scenario(target: Target, scenario: Scenario, root: Path | None = None,
                   straight_runs: StraightRuns | None = None) -> Verdict:
    """Run `scenario` interrupted and straight on `target`; judge both against the reference."""
    return _checked(target, scenario, root, straight_runs)[0]


def _checked(target: Target, scenario: Scenario, root: Path | None = None,
             straight_runs: StraightRuns | None = None) -> tuple[Verdict, Outcome, Outcome]:
    """`check_scenario`'s verdict, with the straight and the resumed run's outcomes."""
    check_supported(target, scenario)
    convert = target.seed_value_as_read
    expected = expected_rows(scenario, convert)
    repeatable = target.capabilities.repeatable_shuffle
    with work_directory(root) as trial:
        if straight_runs is not None and straight_runs.stands_in(target, scenario):
            resumed = target.run(scenario, trial / "resumed")
            reference = Outcome(rows=[dict(row) for row in expected])
            verdict = compare(scenario, expected, reference, resumed, repeatable, convert)
            if verdict.ok or straight_runs.known_as(scenario, verdict) is not None:
                straight_runs.stood_in += 1
                return verdict, reference, resumed
            straight = straight_runs.run(target, scenario.straight(), trial / "straight")
        elif straight_runs is not None:
            straight = straight_runs.run(target, scenario.straight(), trial / "straight")
            resumed = target.run(scenario, trial / "resumed")
        else:
            straight = target.run(scenario.straight(), trial / "straight")
            resumed = target.run(scenario, trial / "resumed")
    verdict = compare(scenario, expected, straight, resumed, repeatable, convert)
    return verdict, straight, resumed


#: `hunt --shrink-seconds` by default: measured before this budget existed, shrinking a
#: finding on DataDesigner 0.9.7 took 52, 17 and 114 s (seeds 21, 22, 23); two minutes keeps
#: every one of those whole and bounds the worst case
DEFAULT_SHRINK_SECONDS = 120.0

#: tries of a SHUFFLE scenario on a target whose shuffle is not repeatable
SHUFFLE_ATTEMPTS = 4


def check_repeatedly(target: Target, scenario: Scenario, root: Path | None = None,
                     attempts: int | None = None, wanted: tuple[str, ...] = (),
                     straight_runs: StraightRuns | None = None) -> Verdict:
    """`check_scenario`, tried up to `attempts` times, the first failing verdict counting
    (else the last one). By default a scenario is tried once, and SHUFFLE_ATTEMPTS times
    where the target's randomness is not under the scenario's control (an unseeded shuffle);
    an explicit `attempts` applies to any scenario (a target's background work, timed by its
    own threads, shows on some runs only).

    `wanted`: the anomaly kinds a finding records. A failure that shows none of them does
    not end the tries (the scenario may also meet another bug of that release, as a Ctrl-C
    ghost scenario meets #709 on 0.6.0): the first failure showing one of them counts, else
    the first failure."""
    if attempts is None:
        unseeded = scenario.sampling == "shuffle" and not target.capabilities.repeatable_shuffle
        attempts = SHUFFLE_ATTEMPTS if unseeded else 1
    first_failure: Verdict | None = None
    for _ in range(attempts):
        verdict = check_scenario(target, scenario, root, straight_runs)
        if verdict.ok:
            continue
        if first_failure is None:
            first_failure = verdict
        if not wanted or set(verdict.kinds) & set(wanted):
            return verdict
    return first_failure if first_failure is not None else verdict


@dataclass
class ShrinkModel:
    """A bug-seeded reference standing for a target while a finding shrinks: `target`, the
    composition of the models of the release's known bugs (`harness.ledger.shrink_model`),
    runs a candidate in milliseconds where the real target takes hundreds. `known`: the
    composition of the models of the entries a search was told are known (`--known`), or
    None: a candidate the model fails on is no finding where `known` fails the same way
    (the bug the finding stands for played no part in it).

    `names`, `reader`: the composition's models and the target it reads seed values as,
    for the outcomes the release's timing decides (`harness.reference.known_bugs.variants`,
    `crash_segments`): where the model's default run does not show a failure, each is
    tried. `tries`: how often the target is run to confirm a failure the model showed only
    with such an outcome (a timing shows on some runs only; the ledger's `tries`)."""

    target: Target
    known: Target | None = None
    names: tuple[str, ...] = ()
    reader: Target | None = None
    tries: int = 1
    #: the other releases a search's chains run segments on, with their models
    #: (`harness.reference.known_bugs.Releases`; `hunt --then`)
    releases: dict[str, Any] | None = None
    #: the scenarios (as JSON) whose failure the model showed only with a timing of its own
    timed: set[str] = field(default_factory=set)

    def judge(self, scenario: Scenario, root: Path | None = None, like: Verdict | None = None,
              timings: bool = True) -> Verdict:
        """The model's verdict on `scenario`; with `like`, the first of its runs that shows
        that failure (`shows`; the release's timings tried only with `timings`: a shrink
        whose first failure the default run showed never needs them), else the default run's."""
        verdict = check_scenario(self.target, scenario, root)
        if like is None or not timings or not self.names or self.shows(verdict, like, scenario, root):
            return verdict
        from harness.reference.known_bugs import crash_segments, first_asker_options, model_target, shared_options, variants

        error = " ".join(a.detail for a in like.anomalies if a.kind == "error")
        hung = tuple(a.segment for a in like.anomalies if a.kind == "hang" and a.segment is not None)
        timings = [dict(variant=v) for v in variants(self.names, scenario) if v is not None]
        timings += [dict(crashes_in=c) for c in crash_segments(self.names, scenario, error, hung) if c is not None]
        timings += [dict(shared=s) for s in shared_options(self.names, scenario) if s is not None]
        timings += [dict(first_asker=a) for a in first_asker_options(self.names, scenario) if a is not None]
        for timing in timings:
            timed = check_scenario(model_target(self.names, self.reader, **timing, releases=self.releases), scenario,
                                   root)
            if self.shows(timed, like, scenario, root):
                self.timed.add(scenario.to_json())
                return timed
        return verdict

    def explained_by_known(self, scenario: Scenario, verdict: Verdict, root: Path | None = None) -> bool:
        """Whether the known entries' composition fails the same way by their models alone (one
        that needed a model it builds on, none of theirs, is not theirs: `ledger._borrowed`)."""
        if self.known is None:
            return False
        from harness.reference.known_bugs import fired_models

        other, straight, resumed = _checked(self.known, scenario, root)
        fired = fired_models(straight, resumed)
        return (not other.ok and other.kinds == verdict.kinds and other.keys == verdict.keys
                and fired <= set(getattr(self.known, "model_names", fired)))

    def shows(self, verdict: Verdict, first: Verdict, scenario: Scenario, root: Path | None = None) -> bool:
        """Whether the model's `verdict` on `scenario` is the target's failure `first` again:
        the same first anomaly (where the model takes over, it must agree with the target),
        and not a known bug's alone."""
        return (not verdict.ok and verdict.kinds[0] == first.kinds[0]
                and not self.explained_by_known(scenario, verdict, root))

    def fails(self, verdict: Verdict, scenario: Scenario, root: Path | None = None) -> bool:
        """Whether a shrink step on the model is a failure: any anomaly a known bug does not
        explain alone (a step may change which anomaly comes first, as a step on the target
        may; each is confirmed on the target by its own first kind, `_confirm`)."""
        return not verdict.ok and not self.explained_by_known(scenario, verdict, root)

    def explained(self, root: Path | None = None) -> Callable[[Scenario, Verdict], str | None]:
        return lambda scenario, verdict: "known" if self.explained_by_known(scenario, verdict, root) else None

    def attempts(self, scenario: Scenario) -> int | None:
        """Tries of `scenario` on the target that confirm it (None: `check_repeatedly`'s own)."""
        return max(self.tries, SHUFFLE_ATTEMPTS) if scenario.to_json() in self.timed else None


#: scenarios of the model's shrinking tried on the target at most: the smallest, then a
#: bisection of the steps for the last one the target fails
CONFIRM_TRIES = 6


def _confirm(target: Target, chain: list[tuple[Scenario, Verdict]], root: Path | None,
             straight_runs: StraightRuns | None, known: Callable[[Scenario, Verdict], str | None] | None,
             attempts: Callable[[Scenario], int | None] = lambda _scenario: None,
             ) -> tuple[Scenario | None, Verdict | None, int, str]:
    """The smallest scenario of a model's shrinking that fails on the target (`chain`: the
    target's first failure, then each scenario the model accepted, smaller each time), its
    verdict, the scenarios tried and a note; None for both where none past the first does. The
    smallest is tried first (with the tries a finding's replay gets); where the target passes
    it, the steps are bisected for the last one it fails (a model agrees with its target up to
    some step, and the bisection assumes no more). A scenario counts when its first anomaly on
    the target is the one the model gave it and no known bug explains it. Where it is not the
    smallest, the target's own last shrinking steps (`drop_idle_segments`) run from it."""
    if len(chain) == 1:  # the model shrank it no further
        scenario, again = drop_idle_segments(target, *chain[0], root, straight_runs, known)
        return scenario, again, 0, ""
    tried = 0

    def fails(index: int) -> Verdict | None:
        nonlocal tried
        tried += 1
        scenario, modelled = chain[index]
        wanted = (modelled.kinds[0],)
        again = check_repeatedly(target, scenario, root, attempts(scenario), wanted, straight_runs)
        same = not again.ok and again.kinds[0] == modelled.kinds[0]
        return again if same and _still_the_failure(again, modelled, scenario, known) else None

    smallest = len(chain) - 1
    again = fails(smallest)
    if again is not None:
        return chain[smallest][0], again, tried, ""
    low, high, best = 0, smallest, None  # the target fails `low` and passes `high`
    while high - low > 1 and tried < CONFIRM_TRIES:
        middle = (low + high) // 2
        verdict = fails(middle)
        if verdict is not None:
            low, best = middle, verdict
        else:
            high = middle
    if best is None:
        return None, None, tried, ""
    scenario, again = drop_idle_segments(target, chain[low][0], best, root, straight_runs, known)
    return scenario, again, tried, (
        f"shrunk on the known bugs' models, whose smallest scenario did not fail on the target; the finding is "
        f"the smallest of their steps found to fail on it (step {low} of {smallest}), so it may not be minimal")


class ResumeMismatch(AssertionError):
    """Raised inside the property so Hypothesis shrinks the scenario."""


@dataclass
class HuntResult:
    seed: int
    examples: int
    elapsed: float
    finding: Scenario | None = None
    verdict: Verdict | None = None
    #: examples run before the first failure was seen (before shrinking)
    examples_to_first_failure: int | None = None
    #: failing examples explained by a known finding (see `harness.ledger`), per entry id
    known: dict[str, int] = field(default_factory=dict)
    #: why the finding may not be minimal (a failure that did not always reproduce)
    note: str = ""
    #: of `elapsed`, the seconds spent inside the target's own code (see `Outcome.target_seconds`)
    target_seconds: float = 0.0
    #: "SIGINT" or "SIGTERM" when a signal stopped the search; `finding` is then the last
    #: failure seen, if any, possibly not shrunk
    stopped_by: str | None = None
    #: what the search drew and what fired, up to and including its first new failure (the
    #: shrinking runs after it are not a search's coverage)
    coverage: Coverage = field(default_factory=Coverage)
    #: straight runs a search did not pay again (`StraightRuns`)
    straight_runs_kept: int = 0
    #: straight runs the reference's rows stood in for (`StraightRuns.stands_in`)
    straight_runs_stood_in: int = 0
    #: seconds from the search's start to its first failure (the rest of `elapsed` is shrinking)
    first_failure_seconds: float | None = None
    #: shrink candidates judged on the shrink model instead of the target (`ShrinkModel`)
    model_runs: int = 0
    #: scenarios the model shrank to that were tried on the target (`_confirm`)
    confirm_runs: int = 0

    @property
    def known_failures(self) -> int:
        return sum(self.known.values())


def new_seed() -> int:
    return random.SystemRandom().randrange(2**32)


@contextmanager
def _no_local_constants() -> Iterator[None]:
    """Hypothesis also draws, now and then, constants it reads from the source of the
    local modules loaded at that moment; which are loaded depends on what ran before in
    the process (a pytest worker's earlier tests, a plugin), so the same seed drew
    different scenarios in a worker and in a fresh process. A hunt draws none of them:
    its draws depend on its seed alone. (An internal of Hypothesis; where it is absent,
    there is nothing to switch off.)"""
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # pragma: no cover
        yield
        return
    original = getattr(providers, "_get_local_constants", None)
    cache = getattr(providers, "CONSTANTS_CACHE", None)
    if original is None or cache is None:
        yield
        return
    empty = providers.Constants()  # the test of this guard fails if Hypothesis moves it
    cache.cache.clear()
    providers._get_local_constants = lambda: empty
    try:
        yield
    finally:
        providers._get_local_constants = original
        cache.cache.clear()


def hunt(
    target: Target,
    max_examples: int = DEFAULT_MAX_EXAMPLES,
    seed: int | None = None,
    on_example: Callable[[int], None] | None = None,
    root: Path | None = None,
    capabilities: Capabilities | None = None,
    known: Callable[[Scenario, Verdict], str | None] | None = None,
    shrink_seconds: float | None = None,
    strategy: SearchStrategy[Scenario] | None = None,
    shrink_model: ShrinkModel | None = None,
) -> HuntResult:
    """Search for a scenario on which `target`'s resumed run differs from the reference.

    `capabilities` narrows what is drawn (default: all the target supports); a failure
    that `known` explains (it returns the id of the explaining entry, else None) is
    counted per entry, not reported. Deterministic for a given seed, harness version and
    target version. SIGINT (`KeyboardInterrupt`) or `Terminated` ends the search early with
    what it has so far (`stopped_by`), after every child and trial directory is gone.

    `shrink_seconds`: a budget for shrinking, from the first failure on. Past it no new
    candidate is run (each counts as passing, so Hypothesis stops); the failing scenario
    seen last, the smallest so far, is the finding, with a note that it may not be
    minimal. The budget is checked between candidates, so the last one runs to its end.

    `strategy`: what to draw, where `capabilities` cannot say it (a ledger entry's
    signature, `harness.model_check.within_signature`); default `scenarios(capabilities)`.

    `shrink_model`: a bug-seeded reference standing for the target (`ShrinkModel`; the
    composition of its release's known bugs' models, `harness.ledger.shrink_model`). When it
    shows the first failure's first anomaly kind on the failing scenario, shrinking runs on
    it, milliseconds a candidate instead of the target's hundreds, and the smallest scenario
    it ends on is confirmed on the target (`_confirm`): the finding is always a scenario that
    failed on the target."""
    seed = new_seed() if seed is None else seed
    failures: list[tuple[Scenario, Verdict]] = []
    counter: dict[str, int | None] = {"examples": 0, "first_failure": None, "model_from": None}
    # the model shrinking runs on, once the first failure is one it shows; then every
    # failure after the first is the model's
    on_model: list[ShrinkModel] = []
    first_seconds: list[float] = []
    model_from: list[int] = []  # the failure the model took over at
    shrink_deadline: list[float] = []
    known_counts: dict[str, int] = {}
    coverage = Coverage()
    straight_runs = StraightRuns(known=known)
    started, spent = time.perf_counter(), target.spent

    @settings(
        max_examples=max_examples,
        database=None,
        deadline=None,
        derandomize=False,
        verbosity=Verbosity.quiet,
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        print_blob=False,
    )
    @hypothesis_seed(seed)
    @given(strategy if strategy is not None else scenarios(capabilities or target.capabilities))
    def resumed_equals_straight(scenario: Scenario) -> None:
        raise_pending_stop()  # one that landed where it was swallowed ends the search here
        past_budget = bool(shrink_deadline) and time.perf_counter() > shrink_deadline[0] and bool(failures)
        if past_budget and scenario != failures[-1][0]:
            return  # past the shrink budget a new candidate is not run
        if past_budget:  # Hypothesis's replay of the smallest failure: the same failure, not run again
            verdict = failures[-1][1]
        elif on_model:
            counter["examples"] = examples = (counter["examples"] or 0) + 1
            if on_example is not None:
                on_example(examples)
            like = failures[model_from[0]][1]
            timed = failures[model_from[0]][0].to_json() in on_model[0].timed
            verdict = on_model[0].judge(scenario, root, like, timings=timed)
            if not on_model[0].fails(verdict, scenario, root):
                return
            if scenario not in (f[0] for f in failures):  # (Hypothesis runs its first failure again)
                failures.append((scenario, verdict))
        else:
            counter["examples"] = examples = (counter["examples"] or 0) + 1
            if on_example is not None:
                on_example(examples)
            verdict = check_repeatedly(target, scenario, root, straight_runs=straight_runs)
            explained = straight_runs.known_as(scenario, verdict)
            if counter["first_failure"] is None:
                coverage.record(scenario, verdict.faults_fired, verdict.kinds, explained is not None, verdict.stopped)
            if explained is not None:
                known_counts[explained] = known_counts.get(explained, 0) + 1
                return
            if verdict.ok:
                return
            if counter["first_failure"] is None:
                counter["first_failure"] = examples
                first_seconds.append(time.perf_counter() - started)
                if shrink_seconds is not None:
                    shrink_deadline.append(time.perf_counter() + shrink_seconds)
            failures.append((scenario, verdict))
            # the model takes over at the first of the target's failures it shows (until
            # then, the target shrinks its own)
            if shrink_model is not None and not past_budget:
                shown = shrink_model.judge(scenario, root, verdict)
                if shrink_model.shows(shown, verdict, scenario, root):
                    on_model.append(shrink_model)
                    model_from.append(len(failures) - 1)
                    counter["model_from"] = examples
        raise ResumeMismatch(verdict.summary())  # one raise: Hypothesis tells failures apart by where they raise

    note, stopped_by = "", None
    try:
        with _no_local_constants():
            resumed_equals_straight()
    except ResumeMismatch:
        pass
    except tuple(STOPS) as exc:
        stopped_by = signal_name(exc)
    except BaseException as exc:
        stop = stop_requested()
        if stop is None and not isinstance(exc, Flaky):
            raise
        if stop is not None:  # the stop landed where the search engine made it something else
            stopped_by = signal_name(stop)
        # A failure that did not reproduce while shrinking (unseeded randomness in the
        # target): the failing scenario recorded last is still a finding.
        elif not failures:
            raise
        else:
            note = "the failure did not reproduce on every run (" + str(exc).splitlines()[0][:120] + ")"
    if shrink_deadline and time.perf_counter() > shrink_deadline[0] and failures and not note:
        note = (f"shrinking stopped at its budget of {shrink_seconds:g} s (--shrink-seconds): the smallest "
                "failing scenario so far, which may not be minimal")
    result = HuntResult(seed=seed, examples=counter["examples"] or 0, elapsed=time.perf_counter() - started,
                        note=note, examples_to_first_failure=counter["first_failure"], known=known_counts,
                        target_seconds=target.spent - spent, stopped_by=stopped_by, coverage=coverage,
                        straight_runs_kept=straight_runs.hits,
                        straight_runs_stood_in=straight_runs.stood_in,
                        first_failure_seconds=first_seconds[0] if first_seconds else None)
    if failures and on_model:
        result.model_runs = (counter["examples"] or 0) - (counter["model_from"] or 0)
        chain = failures[model_from[0]:]
        confirmed: tuple[Scenario | None, Verdict | None, int, str] | None = None
        if stopped_by is None:
            try:
                steps: list[tuple[Scenario, Verdict]] = []
                if not note:
                    # the last steps too, on the model (judged as its smallest failure was)
                    like, timed = chain[0][1], chain[0][0].to_json() in on_model[0].timed
                    smallest, judged = drop_idle_segments(
                        on_model[0].target, *chain[-1], root, None, on_model[0].explained(root),
                        judge=lambda candidate: on_model[0].judge(candidate, root, like, timings=timed))
                    steps = [(smallest, judged)] if smallest != chain[-1][0] else []
                confirmed = _confirm(target, [*chain, *steps], root, straight_runs, known, on_model[0].attempts)
            except tuple(STOPS) as exc:
                result.stopped_by = signal_name(exc)
        result.finding, result.verdict = chain[0]  # what a stopped search has: the target's own failure
        if confirmed is not None and confirmed[0] is not None:
            result.finding, result.verdict, result.confirm_runs, confirmed_note = confirmed
            result.note = confirmed_note or note
        elif confirmed is not None:
            # The model stopped agreeing with the target at its first step: the search runs
            # again, the same seed and budget left, shrinking on the target.
            shrinking = time.perf_counter() - started - (first_seconds[0] if first_seconds else 0.0)
            left = None if shrink_seconds is None else max(0.0, shrink_seconds - shrinking)
            again = hunt(target, max_examples, seed, on_example, root, capabilities, known, left, strategy, None)
            again.note = ("the known bugs' models stopped agreeing with the target at their first shrinking step; "
                          "shrunk on the target" + (f" ({again.note})" if again.note else ""))
            again.model_runs, again.confirm_runs = result.model_runs, confirmed[2]
            result = again
        result.elapsed = time.perf_counter() - started
        result.target_seconds = target.spent - spent
    elif failures:
        result.finding, result.verdict = failures[-1]
        if stopped_by is None and not note:
            try:
                result.finding, result.verdict = drop_idle_segments(target, result.finding, result.verdict, root,
                                                                    straight_runs, known)
            except tuple(STOPS) as exc:
                result.stopped_by = signal_name(exc)
        result.elapsed = time.perf_counter() - started
        result.target_seconds = target.spent - spent
    return result


def idle_segments(scenario: Scenario, outcome) -> list[int]:
    """The segments of a run that did nothing: no fault of theirs fired, they checkpointed
    no row group and the user changed nothing before them."""
    busy = {c.segment for c in outcome.checkpoints} | {segment for segment, _ in outcome.faults_fired}
    busy |= {e["segment"] for e in outcome.events if e["event"] == "checkpoint"}
    return [i for i, segment in enumerate(scenario.segments) if i not in busy and not segment.changes]


def _still_the_failure(again: Verdict, verdict: Verdict, candidate: Scenario,
                       known: Callable[[Scenario, Verdict], str | None] | None) -> bool:
    """A smaller candidate keeps the finding: it fails with the finding's first anomaly kind,
    and no ledger entry explains it (a smaller scenario must not trade a new bug for a known one)."""
    if again.ok or verdict.kinds[0] not in again.kinds:
        return False
    return known is None or known(candidate, again) is None


def _drop_each(scenario: Scenario, verdict: Verdict, count: Callable[[Scenario], int],
               without: Callable[[Scenario, int], Scenario | None], judge: Callable[[Scenario], Verdict],
               known: Callable[[Scenario, Verdict], str | None] | None) -> tuple[Scenario, Verdict]:
    """Each part (`count` of them, the last first) the failure survives without goes:
    `without(scenario, k)` is the scenario without part k, or None where it cannot go."""
    for index in reversed(range(count(scenario))):
        try:
            candidate = without(scenario, index)
        except ScenarioError:
            candidate = None
        if candidate is None:
            continue
        again = judge(candidate)
        if _still_the_failure(again, verdict, candidate, known):
            scenario, verdict = candidate, again
    return scenario, verdict


def _without_column(scenario: Scenario, index: int) -> Scenario:
    """Typed seed column `index` gone (Hypothesis draws a column's values with the rows',
    and cannot always delete the column alone)."""
    keep = [k for k in range(len(scenario.columns)) if k != index]
    return replace(scenario, columns=tuple(scenario.columns[k] for k in keep),
                   seeds=tuple(replace(r, values=tuple(r.values[k] for k in keep)) for r in scenario.seeds))


def _without_seed_row(scenario: Scenario, index: int) -> Scenario | None:
    """Seed row `index` gone, the last row kept (the selection, the record counts and the
    fault plan are all drawn from the number of rows, so Hypothesis often cannot delete one)."""
    if len(scenario.seeds) <= 1:
        return None
    return replace(scenario, seeds=scenario.seeds[:index] + scenario.seeds[index + 1:])


def drop_idle_segments(target: Target, scenario: Scenario, verdict: Verdict, root: Path | None = None,
                       straight_runs: StraightRuns | None = None,
                       known: Callable[[Scenario, Verdict], str | None] | None = None,
                       judge: Callable[[Scenario], Verdict] | None = None,
                       ) -> tuple[Scenario, Verdict]:
    """The last shrinking step: remove each segment that did nothing (`idle_segments`) as
    long as the failure, with one of its anomaly kinds, survives without it. Hypothesis
    cannot always delete a segment on its own (the draw that makes a segment is shared with
    the ones after it); a finding that keeps a do-nothing segment sends a maintainer looking
    for a cause that is not there. `judge(candidate)`: its verdict (default: `target`'s, as
    `check_repeatedly` gives it; on a shrink model, its judgement with the release's timings,
    `ShrinkModel.judge`, where the model's default run shows no failure of a timing)."""
    if judge is None:
        def judge(candidate: Scenario) -> Verdict:
            return check_repeatedly(target, candidate, root, straight_runs=straight_runs)

    scenario, verdict = _drop_each(scenario, verdict, lambda s: len(s.columns), _without_column, judge, known)
    scenario, verdict = _drop_each(scenario, verdict, lambda s: len(s.seeds), _without_seed_row, judge, known)
    while True:
        with work_directory(root) as trial:
            outcome = target.run(scenario, trial / "look")
        for index in reversed(idle_segments(scenario, outcome)):
            try:
                candidate = replace(scenario, segments=scenario.segments[:index] + scenario.segments[index + 1:])
            except ScenarioError:
                continue
            if target.capabilities.unsupported(candidate) is not None:
                continue
            again = judge(candidate)
            if _still_the_failure(again, verdict, candidate, known):
                scenario, verdict = candidate, again
                break
        else:
            return scenario, verdict
