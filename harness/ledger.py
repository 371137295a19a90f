"""The findings ledger: what the harness found on real releases, kept as data.

Each `fixtures/findings/<id>.json` holds the shrunk scenario, the target, the releases it
fails on (and those checked where it passes), the anomalies, a *signature* (the scenario
fields under which the bug shows, e.g. `{"source": ["directory"]}`), and an explanation
from reading the target's code. The integration tests replay every entry on every release
it names, so a fix (or a regression) shows up as a change.

The conformance suite (`pytest --pyargs harness.suite`) marks failures explained by an
entry that is still open (no newer release passes it) as expected failures, each named;
a finding fixed upstream stays a failure, so a fork learns it should take the fix.

Each entry names its *model* (`harness.reference.known_bugs`): the reference with that bug
seeded in, composable with the others. What a release is expected to do is the reference
with the models of all its open entries composed, and a failure counts as known (in
`hunt --known DIR` and in the conformance suite, `KnownBugs`) only when that composition
reproduces it exactly: the same rows, row for row, in the resumed and the straight run, and
the same anomalies. Any other deviation is a new finding, whatever capability it shows in
and whichever entry's signature it matches. This does not narrow what is drawn; it only
stops a known bug from hiding the next one.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from harness.changes import fresh_starts, inputs_at, release_of
from harness.checker import Verdict, _key, compare
from harness.errors import HarnessUsageError
from harness.names import checked_name
from harness.reference.known_bugs import (
    CHUNK_KEY,
    CHUNK_POS,
    MODELS,
    READ_RACE_EVENT,
    Releases,
    beyond_nanoseconds,
    crash_segments,
    csv_infinity_date_columns,
    fired_models,
    first_asker_options,
    mixed_sign_int_columns,
    model_target,
    variants,
)
from harness.reference.model import expected_rows, output_row, record_stream
from harness.scenario import Scenario
from harness.seed_values import SeedColumn
from harness.targets.base import Outcome, Target
from harness.workdirs import work_directory

SIGNATURE_FIELDS = ("source", "sampling", "engine", "min_extensions", "changes", "seed_values", "faults",
                    "provider_faults", "fresh_home", "resume_modes", "min_fresh_starts", "fresh_start_asks_fewer")


def large_nullable_ints(scenario: Scenario) -> bool:
    """An int seed column that holds a null and an int a double cannot hold exactly."""
    for k, column in enumerate(scenario.columns):
        values = [row.values[k] for row in scenario.seeds]
        if column.type == "int" and None in values and any(v is not None and abs(v) > 2**53 for v in values):
            return True
    return False


def mixed_sign_ints(scenario: Scenario) -> bool:
    """An int seed column that holds a negative int and a non-negative one (DuckDB's JSON
    reader makes such a column HUGEINT: UBIGINT and BIGINT widened)."""
    return bool(mixed_sign_int_columns(scenario))


def timestamps_beyond_nanoseconds(scenario: Scenario) -> bool:
    """A timestamp seed column holding a value pandas 2's nanoseconds hold (or a null) and
    one beyond them."""
    for k, column in enumerate(scenario.columns):
        values = [row.values[k] for row in scenario.seeds]
        if column.type == "timestamp" and any(beyond_nanoseconds(v) for v in values) and any(
                not beyond_nanoseconds(v) for v in values):
            return True
    return False


def nulls_and_microseconds(scenario: Scenario) -> bool:
    """A timestamp seed column holding a null and a value that is not whole milliseconds:
    what a first file of nulls, in milliseconds (pandas 3), fails to cast."""
    for k, column in enumerate(scenario.columns):
        values = [row.values[k] for row in scenario.seeds]
        if column.type == "timestamp" and None in values and any(
                isinstance(v, dt.datetime) and v.microsecond % 1000 for v in values):
            return True
    return False


def nulls_and_strings(scenario: Scenario) -> bool:
    """A string seed column holding a null (in a CSV, an empty field too) and a string: a
    group of its nulls alone next to a group with a string."""
    for k, column in enumerate(scenario.columns):
        values = [row.values[k] for row in scenario.seeds]
        if column.type == "string" and any(v is None or (v == "" and scenario.source == "csv") for v in values) \
                and any(isinstance(v, str) and v != "" for v in values):
            return True
    return False


def csv_infinities(scenario: Scenario) -> bool:
    """A CSV seed file's float column whose only values are infinities (and empties)."""
    return bool(csv_infinity_date_columns(scenario))


def _with_values(scenario: Scenario, values: list[Any], column_type: str = "int",
                     filler: Any = 1, fill: bool = False) -> Scenario:
    """The seed table with its first `column_type` column (one added where it has none,
    holding `filler`) holding `values` in its first rows, and `filler` in the rest where
    `fill`."""
    column = next((c for c in scenario.columns if c.type == column_type), None)
    if column is None:
        name = {"int": "count_9", "float": "score_9", "timestamp": "created_9", "string": "label_9"}[column_type]
        scenario = replace(scenario, columns=(*scenario.columns, SeedColumn(name, column_type)),
                           seeds=tuple(replace(s, values=(*s.values, filler)) for s in scenario.seeds))
        column = scenario.columns[-1]
    if fill:
        k = scenario.columns.index(column)
        scenario = replace(scenario, seeds=tuple(replace(s, values=(*s.values[:k], filler, *s.values[k + 1:]))
                                                 for s in scenario.seeds))
    k = scenario.columns.index(column)
    seeds = list(scenario.seeds)
    if len(seeds) < len(values):
        return scenario
    for i, value in enumerate(values):
        held = list(seeds[i].values)
        held[k] = value
        seeds[i] = replace(seeds[i], values=tuple(held))
    return replace(scenario, seeds=tuple(seeds))


@dataclass(frozen=True)
class SeedValues:
    """A `signature.seed_values` kind: whether a scenario's seed table holds it, and a drawn
    table made to hold it (what `resume-harness models` draws within)."""

    holds: Callable[[Scenario], bool]
    given: Callable[[Scenario], Scenario]
    #: the seed column type it is of (a search within it draws columns of this type)
    column_type: str = "int"


#: a large int a double cannot hold, for the `large_nullable_ints` signature
_LARGE = 2**53 + 1

#: `signature.seed_values`: what the seed values must hold for the entry to apply
SEED_VALUE_SIGNATURES = {
    "large_nullable_ints": SeedValues(large_nullable_ints,
                                      lambda s: _with_values(s, [_LARGE + s.seeds[0].seed_id, None])),
    # the first group's value has fewer digits than the second's
    "mixed_sign_ints": SeedValues(mixed_sign_ints, lambda s: _with_values(s, [1, -1000 - s.seeds[0].seed_id])),
    # a first row within nanoseconds, a second beyond them (a first file in ns, a later in us)
    "timestamps_beyond_nanoseconds": SeedValues(
        timestamps_beyond_nanoseconds,
        lambda s: _with_values(s, [dt.datetime(2024, 1, 2, 3, 4, 5), dt.datetime(9999, 12, 31, 23, 59, 59)],
                                   "timestamp", dt.datetime(2024, 1, 2)), "timestamp"),
    # nulls for the whole first group (a first file of nulls), a value with microseconds after them
    "nulls_and_microseconds": SeedValues(
        nulls_and_microseconds,
        lambda s: _with_values(s, [None] * s.buffer_size + [dt.datetime(2024, 1, 2, 1, 7, 56, 20804)], "timestamp",
                               dt.datetime(2024, 1, 2)), "timestamp"),
    # nulls for the whole first group (a first file of nulls), a string after them
    "nulls_and_strings": SeedValues(
        nulls_and_strings, lambda s: _with_values(s, [None] * s.buffer_size + ["x"], "string", "x"), "string"),
    # a CSV float column of empties and one infinity, in the second row (a first group without)
    "csv_infinities": SeedValues(csv_infinities, lambda s: _with_values(s, [None, math.inf], "float", None, True),
                                 "float"),
}


def extensions(scenario: Scenario) -> int:
    """How many resumes asked for more records than the segment before."""
    sizes = [s.num_records for s in scenario.segments]
    return sum(1 for before, after in zip(sizes, sizes[1:]) if after > before)


@dataclass(frozen=True)
class Finding:
    id: str
    title: str
    target: str
    fails_on: tuple[str, ...]
    passes_on: tuple[str, ...]
    anomalies: tuple[str, ...]
    signature: dict[str, tuple[str, ...]]
    explanation: str
    scenario: Scenario
    path: Path
    #: the name of its model in `harness.reference.known_bugs.MODELS`
    model: str = ""
    #: tries of its scenario a replay gives it, where the bug shows on the release's threads'
    #: timing on some runs only (a crash: `harness.reference.known_bugs.EmptiedGroupCrashes`)
    tries: int = 1
    #: where its bug is a run that never ends: seconds after which its scenario's run counts as
    #: hung, a replay's watchdog and its reproducer's deadline (the runs that end take a second
    #: or two; the default, `harness.faults.DEFAULT_SEGMENT_TIMEOUT`, is for runs nobody knows)
    hang_seconds: float | None = None

    @property
    def fixed_upstream(self) -> bool:
        """True when a release newer than every failing one passes: the bug was fixed."""
        newest_failing = max(_version(v) for v in self.fails_on)
        return any(_version(v) > newest_failing for v in self.passes_on)

    def in_signature(self, scenario: Scenario) -> bool:
        """Whether `scenario` is of the kind the entry's bug shows in (its signature)."""
        for key, allowed in self.signature.items():
            if key == "min_extensions":
                if extensions(scenario) < int(allowed[0]):
                    return False
            elif key == "seed_values":
                if not any(SEED_VALUE_SIGNATURES[name].holds(scenario) for name in allowed):
                    return False
            elif key == "faults":  # an interruption of one of these kinds
                if not {seg.fault.action for seg in scenario.segments if seg.fault is not None} & set(allowed):
                    return False
            elif key == "provider_faults":  # the model provider answers some row with one of these
                if not {f.kind for f in scenario.provider_faults} & set(allowed):
                    return False
            elif key == "min_fresh_starts":
                if len(self._fresh_starts(scenario)) < int(allowed[0]):
                    return False
            elif key == "fresh_start_asks_fewer":
                # a fresh start asking for fewer records than the fresh start before it:
                # without model columns, the one way its run makes fewer row-group files than
                # the run whose directory it may share
                asks = [scenario.segments[i].num_records for i in self._fresh_starts(scenario)]
                if not any(later < earlier for earlier, later in zip(asks, asks[1:])):
                    return False
            elif key == "resume_modes":  # some resume (a segment after the first) of one of these modes
                if not {seg.resume for seg in scenario.segments[1:]} & set(allowed):
                    return False
            elif key == "changes":  # a change of one of these kinds before some resume
                if not {c.kind for seg in scenario.segments for c in seg.changes} & set(allowed):
                    return False
            elif getattr(scenario, key) not in allowed:
                return False
        return True

    def _fresh_starts(self, scenario: Scenario) -> list[int]:
        """The resumes that start fresh beside the dataset, at or after a change of the
        signature's `changes` kinds (any kind where it names none)."""
        kinds = self.signature.get("changes") or tuple({c.kind for seg in scenario.segments for c in seg.changes})
        return fresh_starts(scenario, tuple(kinds))

    def open_on(self, target_name: str, target_version: str) -> bool:
        """Whether the entry says this target and release have the bug."""
        return target_name == self.target and target_version in self.fails_on


#: permutations of its own a model tries for a target whose shuffle is unseeded, for the
#: resumed run and (one segment, no fault: cheaper, and what a pass's order decides, such as
#: which file comes first, needs more of them) for the straight run
SHUFFLE_DRAWS = 32
STRAIGHT_DRAWS = 32
#: how far the draws of a run go where none of the first fit it (`KnownBugs._attribute`)
MORE_DRAWS = 256

#: anomalies of the work and the run rather than of the rows: a model must show the same
#: ones even where it cannot give the rows themselves (an unseeded shuffle)
RUN_KINDS = frozenset({"error", "hang", "torn", "ghost", "redone"})


def _borrowed(run: tuple[Verdict, Outcome, Outcome], models: tuple[str, ...]) -> bool:
    """Whether the run needed a model that is none of `models`: one an open entry's model
    builds on (the sync engine's hole after an emptied batch, `sync_hole_refuses_resume`,
    is built on `no_rows_no_dataset`'s empty batch that writes no file). A failure only
    that model gives is not known where its own entry is not open (a release or fork that
    fixed it; the benchmark's search for that entry with the rest of the ledger as known,
    which called the every-row-dropped failure of 0.6.1 sync known, to another entry)."""
    return not fired_models(*run[1:]) <= set(models)


def _other_releases(scenario: Scenario, version: str) -> list[str]:
    """The releases other than `version` that `scenario`'s segments run on, in chain order."""
    found = (release_of(scenario, i) for i in range(len(scenario.segments)))
    return list(dict.fromkeys(r for r in found if r is not None and r != version))


def chain_releases(ledger: list[Finding], target: Target, releases: Any) -> Releases:
    """For each of `releases` (other than `target`'s own): the models of the `ledger` entries
    open on it for `target`'s name, and its reader's facts (`reader_facts`: a target without
    other releases has none to give, and no chain of its runs on one)."""
    facts = getattr(target, "reader_facts", None)
    if facts is None:
        return {}
    return {release: (tuple(dict.fromkeys(f.model for f in ledger if f.open_on(target.name, release))),
                      facts(release)) for release in releases if release != target.version}


class KnownBugs:
    """`hunt(known=...)` for a target and release: a failure is known when the composition of
    the models of every open ledger entry of that target and release reproduces it exactly
    (`reproduces`); it is then attributed to the entries whose models changed what the
    reference would have done in that run (each model records when it does). Returns the
    '+'-joined entry ids, or None: a new finding.

    The model runs on the reference, in a work directory of its own, a few milliseconds a
    run; the runs of one failure are kept for its shrink candidates' sake (`size` kept)."""

    def __init__(self, ledger: list[Finding], target: Target, root: Path | None = None, size: int = 512) -> None:
        self.target = target
        self.ledger = ledger
        self.entries = [f for f in ledger if f.open_on(target.name, target.version)]
        self.root = root
        self._models: OrderedDict[str, Outcome] = OrderedDict()
        self._size = size
        self._convert = target.seed_value_as_read

    @property
    def models(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f.model for f in self.entries))

    def releases(self, scenario: Scenario) -> Releases:
        """The releases other than the target's that `scenario`'s segments run on (an upgrade
        or a rollback, `release_of`), each with the models of its open entries and its
        reader's facts: a model runs each segment as its release did."""
        return chain_releases(self.ledger, self.target, _other_releases(scenario, self.target.version))

    def chain_entries(self, scenario: Scenario) -> list[Finding]:
        """The open entries of every release the chain's segments run on, the target's first."""
        others = _other_releases(scenario, self.target.version)
        return [*self.entries, *(f for f in self.ledger if f not in self.entries
                                 and any(f.open_on(self.target.name, r) for r in others))]

    def chain_models(self, scenario: Scenario) -> tuple[str, ...]:
        """The models of `chain_entries`: what the options of the releases' threads are, and
        what a run of the chain may need, are every release's."""
        return tuple(dict.fromkeys(f.model for f in self.chain_entries(scenario)))

    def __call__(self, scenario: Scenario, verdict: Verdict) -> str | None:
        if verdict.ok or not self.chain_entries(scenario):
            return None
        return self._attribute(scenario, verdict)

    def agrees(self, scenario: Scenario, verdict: Verdict) -> bool:
        """Whether the composition reproduces what the target did, failing or not."""
        return self._attribute(scenario, verdict, attribute=False) is not None

    def _attribute(self, scenario: Scenario, verdict: Verdict, attribute: bool = True) -> str | None:
        exact = scenario.sampling == "ordered" or self.target.capabilities.repeatable_shuffle
        valid = None if exact else self.valid_rows(scenario, verdict.columns)
        # the target's release's models compose its segments; a chain's segments on another
        # release compose that release's (`releases`)
        models, every = self.models, self.chain_models(scenario)

        # where the target's shuffle is its own, which rows a group holds is its draw, and
        # what follows from them (a group with a null in an int column) may be too: the
        # model is run with a few permutations of its own, any of which may stand for it
        def draws(first: int, last: int) -> list[Scenario]:
            return [replace(scenario, shuffle_seed=scenario.shuffle_seed + k) for k in range(first, last)]

        own = scenario.engine == "async" and self.target.capabilities.own_scheduling
        orders = (_by_segment(verdict.orders[0]), _by_segment(verdict.orders[1])) if own else (({}, {}), ({}, {}))
        # which segments' runs shared a dataset directory is the target's (a release may name a
        # fresh run's directory by the wall clock's second), whatever its engine
        orders = ((*orders[0], dict(verdict.shared[0])), (*orders[1], dict(verdict.shared[1])))
        # the straight run's draw and the resumed run's are the target's two independent draws;
        # where the release's threads decide how a run ends (a racy read, a crash), each run
        # has outcomes of its own
        crashes = _crash_options(every, scenario, verdict, "resumed")
        straight_crashes = _crash_options(every, scenario.straight(), verdict, "straight")
        # First without the records' races for a transient fault's first request (the
        # models' default), then, only where that found nothing, with them: each costs a run
        # per draw and timing, which a known failure needs rarely
        for racing in (False, True):
            if racing and len(first_asker_options(every, scenario)) < 2 and len(
                    first_asker_options(every, scenario.straight())) < 2:
                break

            # Where the draws are the model's own (not exact), the straight run's draw and the
            # resumed run's are independent and each run's anomalies and rows are judged on that
            # run alone: a pair is judged whole only when each side fits on its own (`_fits`, a
            # necessary condition of `reproduces`), so 32 + 32 draws cost about 64 judgements,
            # not 1024; each side is drawn as the pairs need it, so a known failure found at
            # its first pair costs two runs.
            def resumed_fits(candidates: list[Scenario], racing: bool = racing) -> Iterator[tuple[Scenario, int | None, Timing]]:
                for candidate in candidates:
                    for variant in variants(every, candidate):
                        for timing in self._timings(models, candidate, variant, orders[0], "resumed", crashes,
                                                    racing):
                            if exact or _fits(self.run(models, candidate, variant, orders, scenario,
                                                       (timing, (None, None))), verdict, "resumed"):
                                yield candidate, variant, timing

            def straight_fits(candidates: list[Scenario], racing: bool = racing) -> Iterator[tuple[Scenario, Timing]]:
                for straight in candidates:
                    for timing in self._timings(models, straight.straight(), None, orders[1], "straight",
                                                straight_crashes, racing):
                        if exact or _fits(self.run(models, scenario, None, orders, straight,
                                                   ((None, None), timing)), verdict, "straight"):
                            yield straight, timing

            if exact:
                resumed, straights = resumed_fits([scenario]), _Drawn(straight_fits([scenario]))
            else:
                # a side none of whose first draws fit, where the target's run ended in an
                # anomaly of the run (an error, a torn dataset), may be one whose outcome a
                # permutation rarely gives (a dataset torn by one group's file alone keeping a
                # column's type, about 1 draw in 50): that side, and only it, gets more draws
                # (up to `MORE_DRAWS`) before the failure is called new (rows alone that fit
                # no draw are a new finding's usual sign, and pay nothing more; so does a
                # scenario with model columns, whose model runs cost seconds of provider
                # requests each: 224 more of them made one attribution minutes longer)
                ended = {run for kind, run in _run_kinds(verdict) if kind in RUN_KINDS
                         and not scenario.model_columns}
                resumed = _or_more(resumed_fits, draws, SHUFFLE_DRAWS, "resumed" in ended)
                straights = _Drawn(_or_more(straight_fits, draws, STRAIGHT_DRAWS, "straight" in ended))
            for candidate, variant, timing in resumed:
                for straight, straight_timing in straights:
                    run = self.run(models, candidate, variant, orders, straight, (timing, straight_timing))
                    if reproduces(run, verdict, valid) and not _borrowed(run, every):
                        return "" if not attribute else self._named(run, scenario, verdict)
        return None

    def _timings(self, models: tuple[str, ...], scenario: Scenario, variant: int | None, observed: Observed,
                 name: str, crashes: list[tuple[int, int] | None], racing: bool = True) -> list[Timing]:
        """The outcomes of the release's threads a run of the composition has: each crash
        offered, and, for each, every number of the racy reads it meets that pass (a read
        passed may let the run go on to meet another)."""
        found: list[Timing] = []
        for crash in crashes:
            met, won = _races_met(self._outcome(models, scenario, variant, observed, name, (None, crash))), 0
            found.append((None, crash))
            while won < met:
                won += 1
                found.append((won, crash))
                met = max(met, _races_met(self._outcome(models, scenario, variant, observed, name, (won, crash))))
        # and (`racing`) which record met a transient fault's first request
        every = tuple(dict.fromkeys([*models, *self.chain_models(scenario)]))
        askers = first_asker_options(every, scenario)[1:] if racing else []
        return found + [(*timing, asker) for asker in askers for timing in found]

    def _named(self, run: tuple[Verdict, Outcome, Outcome], scenario: Scenario, verdict: Verdict) -> str:
        """The entries whose models changed what the reference would have done in the run
        that reproduced the failure; of those, only the ones that share an anomaly kind with
        it where any does (a provider fault's dropped row whose hole then blocks a resume is
        named after the hole's entry, whose kinds the failure shows)."""
        fired = fired_models(*run[1:])
        entries = self.chain_entries(scenario)
        candidates = [f for f in entries if f.model in fired] or [
            f for f in entries if f.in_signature(scenario)] or entries
        named = [f for f in candidates if set(f.anomalies) & set(verdict.kinds)] or candidates
        return "+".join(dict.fromkeys(f.id for f in named))

    def valid_rows(self, scenario: Scenario, columns: tuple[str, ...]) -> set[tuple[Any, ...]]:
        """Every row the inputs of any segment of the chain can give."""
        valid = set()
        for index in range(len(scenario.segments)):
            inputs = inputs_at(scenario, index)
            valid |= {_key(output_row(r, inputs), columns) for r in record_stream(inputs, self._convert)}
        return valid

    def run(self, models: tuple[str, ...], scenario: Scenario, variant: int | None = None,
            orders: tuple[Observed, Observed] = (({}, {}), ({}, {})),
            straight_draw: Scenario | None = None,
            timings: tuple[Timing, Timing] = ((None, None), (None, None))) -> tuple[Verdict, Outcome, Outcome]:
        """The composition of `models`, run on `scenario` (straight and resumed) and judged;
        `orders`: the resumed and the straight run's async completion order, per segment, and
        how much of it landed before each segment's call ended;
        `straight_draw`: the scenario whose straight run stands for the target's (another
        shuffle draw of it), default `scenario`;
        `timings`: the resumed and the straight run's outcomes of the release's threads (`Timing`)."""
        straight = self._outcome(models, (straight_draw or scenario).straight(), None, orders[1], "straight",
                                 timings[1])
        resumed = self._outcome(models, scenario, variant, orders[0], "resumed", timings[0])
        expected = expected_rows(scenario, self._convert)
        verdict = compare(scenario, expected, straight, resumed, self.target.capabilities.repeatable_shuffle,
                          self._convert)
        return verdict, straight, resumed

    def _outcome(self, models: tuple[str, ...], scenario: Scenario, variant: int | None,
                 observed: Observed, name: str, timing: Timing = (None, None)) -> Outcome:
        """One run of the composition (a straight run has no interruption, so no `variant`),
        kept for the next candidate's and the shrink candidates' sake."""
        releases = self.releases(scenario)
        key = f"{'+'.join(models)} {variant} {observed} {name} {timing} {releases}\n{scenario.to_json()}"
        kept = self._models.get(key)
        if kept is not None:
            self._models.move_to_end(key)
            return kept
        with work_directory(self.root) as trial:
            order, in_call, *shared = observed
            kept = self._models[key] = model_target(models, self.target, variant, order, in_call, *timing[:2],
                                                    shared=shared[0] if shared else None,
                                                    first_asker=timing[2] if len(timing) > 2 else None,
                                                    releases=releases or None).run(scenario, trial / name)
        while len(self._models) > self._size:
            self._models.popitem(last=False)
        return kept


#: what the release's threads decided in one run, where a model lets them: how many of its
#: racy dataset reads passed (`READ_RACE_EVENT`), where it crashed (`crash_segments`) and,
#: where given, which record of a sync batch met a transient fault first (`first_asker_options`)
Timing = (tuple[int | None, tuple[int, int] | None]
          | tuple[int | None, tuple[int, int] | None, tuple[int, ...] | None])


class _Drawn:
    """An iterator's items, drawn as they are first read and kept for the next reading."""

    def __init__(self, items: Iterator[Any]) -> None:
        self._items, self._kept = items, []

    def __iter__(self) -> Iterator[Any]:
        index = 0
        while True:
            if index == len(self._kept):
                try:
                    self._kept.append(next(self._items))
                except StopIteration:
                    return
            yield self._kept[index]
            index += 1


def _or_more(fits: Callable[[list[Scenario]], Iterator[Any]], draws: Callable[[int, int], list[Scenario]],
             first: int, more: bool) -> Iterator[Any]:
    """The draws among the first `first` that fit, or, where none does and `more`, those
    among the next up to `MORE_DRAWS`."""
    found = False
    for item in fits(draws(0, first)):
        found = True
        yield item
    if not found and more:
        yield from fits(draws(first, MORE_DRAWS))


def _crash_options(models: tuple[str, ...], scenario: Scenario, verdict: Verdict, run: str) -> list[tuple[int, int] | None]:
    error = " ".join(a.detail for a in verdict.anomalies if a.kind == "error" and a.run == run)
    hung = tuple(a.segment for a in verdict.anomalies if a.kind == "hang" and a.run == run and a.segment is not None)
    return crash_segments(models, scenario, error, hung)


def _races_met(outcome: Outcome) -> int:
    """How many racy reads of its dataset a model's run met (`READ_RACE_EVENT`)."""
    return sum(1 for e in outcome.events if e.get("event") == READ_RACE_EVENT)


#: a run's observed async scheduling: segment -> its checkpoints' row groups in the order they
#: landed, and segment -> how many of them landed before the segment's call ended; and, where
#: given, segment -> the earlier segment whose dataset directory its run used too
Observed = tuple[dict[int, tuple[int, ...]], dict[int, int]] | tuple[dict[int, tuple[int, ...]], dict[int, int], dict[int, int]]


def _by_segment(order: tuple[tuple[int, int, bool], ...]) -> Observed:
    found: dict[int, list[int]] = {}
    in_call: dict[int, int] = {}
    for segment, group, late in order:
        found.setdefault(segment, []).append(group)
        in_call[segment] = in_call.get(segment, 0) + (not late)
    return {segment: tuple(groups) for segment, groups in found.items()}, in_call


def _run_kinds(verdict: Verdict) -> set[tuple[str, str]]:
    return {(a.kind, a.run) for a in verdict.anomalies}



def reproduces(model: tuple[Verdict, Outcome, Outcome], verdict: Verdict,
               valid: set[tuple[Any, ...]] | None = None) -> bool:
    """Whether a model's runs are the target's: the same anomalies, run by run, and the same
    rows, row for row; or, where the target's shuffle is its own (`valid`: the rows its
    inputs can give), rows of `valid` that fit the model's permutations (`fits_chunks`) and
    the same anomalies of the run and the work."""
    judged, straight, resumed = model
    exact = valid is None
    kinds, wanted = _run_kinds(judged), _run_kinds(verdict)
    if exact and kinds != wanted:
        return False
    if not exact and {k for k in kinds if k[0] in RUN_KINDS} != {k for k in wanted if k[0] in RUN_KINDS}:
        return False
    columns = verdict.columns
    # a row the model itself gives is one the target may give (a value its models change,
    # such as an int rounded through a double, is no row of the inputs)
    produced = set() if exact else {_key(r, columns) for r in (*straight.rows, *resumed.rows)}
    for run, outcome, rows in (("resumed", resumed, verdict.keys[0]), ("straight", straight, verdict.keys[1])):
        if any(k == ("error", run) or k == ("hang", run) for k in wanted):
            continue  # the rows of a run that failed are whatever it left
        if run == "resumed" and (judged.refusal or verdict.refusal):
            # a resume that met a change, refused by one of them: the checker accepts a refusal
            # or the right rows (any other rows show as anomalies, compared above), and which
            # of the two a release chooses is its own (DataDesigner starts fresh under
            # IF_POSSIBLE where the reference refuses the buffer size)
            continue
        if exact:
            if [_key(r, columns) for r in outcome.rows] != list(rows):
                return False
        elif not fits_chunks(outcome.rows, list(rows), columns) or any(
                r not in valid and r not in produced for r in rows):
            return False
    return True


def _fits(model: tuple[Verdict, Outcome, Outcome], verdict: Verdict, run: str) -> bool:
    """What `reproduces` asks of one run alone where the target's shuffle is its own: that
    run's anomalies of the run and the work, and its rows fitting the model's permutations
    (`fits_chunks`). The rows outside the inputs are left to `reproduces` (a model's row
    from either run may stand for one)."""
    judged, straight, resumed = model
    kinds = {k for k in _run_kinds(judged) if k[1] == run and k[0] in RUN_KINDS}
    wanted = {k for k in _run_kinds(verdict) if k[1] == run and k[0] in RUN_KINDS}
    if kinds != wanted:
        return False
    if ("error", run) in wanted or ("hang", run) in wanted:
        return True
    if run == "resumed" and (judged.refusal or verdict.refusal):
        return True
    outcome, rows = (resumed, verdict.keys[0]) if run == "resumed" else (straight, verdict.keys[1])
    return fits_chunks(outcome.rows, list(rows), verdict.columns)


def fits_chunks(model_rows: list[dict[str, Any]], rows: list[tuple[Any, ...]], columns: tuple[str, ...]) -> bool:
    """Whether `rows` are what the model's rows stand for when each permutation is the
    target's own: row for row, a place in a permutation (`CHUNK_KEY`, `CHUNK_POS`) always
    holds the same row, and two places of one permutation never hold the same row. A model
    row without a place (ORDERED) must be equal. `rows`: the target's, as `Verdict.keys`."""
    if len(model_rows) != len(rows):
        return False
    placed: dict[tuple[Any, Any], tuple[Any, ...]] = {}
    used: dict[Any, set[tuple[Any, ...]]] = {}
    for mine, row in zip(model_rows, rows):
        if CHUNK_KEY not in mine or mine.get(CHUNK_KEY) is None:
            if _key(mine, columns) != row:
                return False
            continue
        place = (mine[CHUNK_KEY], mine[CHUNK_POS])
        if place in placed:
            if placed[place] != row:
                return False
            continue
        seen = used.setdefault(place[0], set())
        if row in seen:
            return False
        placed[place] = row
        seen.add(row)
    return True


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", text)[:3])


def packaged_ledger() -> Path:
    """The ledger shipped inside the package (fixtures/findings in a checkout links here)."""
    return Path(__file__).resolve().parent / "findings"


def load_finding(path: Path) -> Finding:
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        signature = {k: tuple(v) if isinstance(v, list) else (v,) for k, v in data.get("signature", {}).items()}
        unknown = set(signature) - set(SIGNATURE_FIELDS)
        if unknown:
            raise ValueError(f"signature fields {sorted(unknown)} are not among {SIGNATURE_FIELDS}")
        return Finding(
            id=checked_name(data["id"], "ledger id", "dd-ordered-resume-replays-seed-rows-sync"),
            title=data["title"], target=data["target"],
            fails_on=tuple(data["fails_on"]), passes_on=tuple(data.get("passes_on", ())),
            anomalies=tuple(data["anomalies"]), signature=signature, explanation=data["explanation"],
            scenario=Scenario.from_dict(data["scenario"]), path=path, model=_model_name(data),
            tries=int(data.get("tries", 1)), hang_seconds=hang_seconds(data),
        )
    except (OSError, ValueError, KeyError, TypeError, RecursionError, HarnessUsageError) as exc:
        raise HarnessUsageError(f"ledger entry {path} is unusable: {exc}") from None


def hang_seconds(data: dict[str, Any]) -> float | None:
    """A ledger entry's `hang_seconds`: a positive number, or None where it gives none."""
    value = data.get("hang_seconds")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 3600:
        raise ValueError(f"hang_seconds must be a number of seconds above 0 and at most 3600, got {value!r}")
    return float(value)


def _model_name(data: dict[str, Any]) -> str:
    name = data.get("model")
    if name not in MODELS:
        raise ValueError(f"its model {name!r} is not one of {sorted(MODELS)} (harness.reference.known_bugs)")
    return str(name)


def load_ledger(directory: Path) -> list[Finding]:
    if not directory.is_dir():
        raise HarnessUsageError(f"no findings directory at {directory}")
    return [load_finding(path) for path in sorted(directory.glob("*.json"))]


def shrink_model(target: Target, known: KnownBugs | None = None, ledger: list[Finding] | None = None,
                 releases: tuple[str, ...] = ()) -> Any:
    """What `hunt` shrinks a finding on (`harness.property.ShrinkModel`): the composition of
    the models of every entry open on `target`'s release, in the packaged ledger (or
    `ledger`) and in `known` (`--known`), with `known`'s own composition to tell a known bug
    from the finding; None where the ledger knows no bug of this release (the reference, a
    mutant, a fork's own version): the target shrinks its findings itself. `releases`: those
    the search's chains run segments on (`hunt --then`), each segment there composed from the
    entries open on its release (`chain_releases`), as `KnownBugs` composes them."""
    from harness.property import ShrinkModel

    every = load_ledger(packaged_ledger()) if ledger is None else ledger
    told_ledger = known.ledger if known is not None else []
    entries = [f for f in every if f.open_on(target.name, target.version)]
    names = tuple(dict.fromkeys([*(f.model for f in entries), *(known.models if known is not None else ())]))
    others = chain_releases([*every, *told_ledger], target, releases)
    if not names and not any(n for n, _facts in others.values()):
        return None
    told = known.models if known is not None else ()
    told_others = chain_releases(told_ledger, target, releases) if known is not None else {}
    tries = max([1, *(f.tries for f in entries), *(f.tries for f in (known.entries if known is not None else ()))])
    return ShrinkModel(model_target(names, target, releases=others or None),
                       model_target(told, target, releases=told_others or None)
                       if told or any(n for n, _facts in told_others.values()) else None,
                       names, target, tries, releases=others or None)

