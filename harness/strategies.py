"""Hypothesis strategies for scenarios, one per concept, simplest case first.

Alternatives are written simplest first (no selection before a range, `raise` before
`kill`, the sync engine before async, ordered before shuffle) and sizes shrink towards 1,
so a failure shrinks to `buffer_size=1`, two or three seed rows and one interruption.
Every strategy draws only inside a target's `Capabilities`. Strategies never touch disk.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from dataclasses import replace

from hypothesis import strategies as st

from harness.changes import CHANGE_KINDS, NEUTRAL, Change
from harness.errors import ScenarioError
from harness.fault_kinds import KINDS
from harness.installation import fresh_homes
from harness.model_columns import PROVIDER_FAULT_KINDS, ModelColumn, ProviderFault
from harness.scenario import (
    ASYNC_IN_FLIGHT,
    Fault,
    IndexRange,
    PartitionBlock,
    Scenario,
    SeedRow,
    Segment,
    Selection,
)
from harness.seed_values import ADVERSARIAL_STRINGS, SeedColumn, can_hold
from harness.targets.base import Capabilities

WORDS = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda", "mu")
MAX_SEED_ROWS = 12
MAX_LINES = 3
MAX_RECORDS = 24
MAX_BUFFER_SIZE = 8
MAX_EXTENSION = 6


@functools.cache
def _ints(low: int, high: int) -> st.SearchStrategy[int]:
    """`st.integers(low, high)`, one object per range: a strategy is validated the first
    time it is drawn from, and building fresh ones for every draw doubled generation time."""
    return st.integers(low, high)


@functools.cache
def _choice(options: tuple) -> st.SearchStrategy:
    return st.sampled_from(options)


def seed_name(i: int) -> str:
    return WORDS[i % len(WORDS)] + ("" if i < len(WORDS) else str(i // len(WORDS)))


@functools.cache
@st.composite
def seed_tables(draw: st.DrawFn, max_rows: int = MAX_SEED_ROWS, hydrating: bool = False) -> tuple[SeedRow, ...]:
    """Seed rows `seed_id = i`, `name = alpha, beta, ...`; with `hydrating`, each row is a
    file of 0..3 lines."""
    n = draw(_ints(1, max_rows))
    rows = []
    for i in range(n):
        lines: tuple[str, ...] = ()
        if hydrating:
            count = draw(_ints(0, MAX_LINES))
            lines = tuple(f"{seed_name(i)}-{j}" for j in range(count))
        rows.append(SeedRow(i, seed_name(i), lines))
    return tuple(rows)


#: a typed seed column's name: what the values are, then its place
COLUMN_NAMES = {"int": "count", "float": "score", "bool": "flag", "timestamp": "created", "string": "note"}
MAX_COLUMNS = 3
_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
_MIN_TIME, _MAX_TIME = dt.datetime(1900, 1, 1), dt.datetime(2200, 1, 1)
#: the "end of time" and "start of time" a seed table's sentinels often hold: beyond what pandas
#: 2's nanoseconds hold (1677 to 2262), as is much of the whole range drawn after them
SENTINEL_TIMES = (dt.datetime(9999, 12, 31, 23, 59, 59), dt.datetime(1, 1, 1))


@functools.cache
def column_values(column_type: str, source: str) -> st.SearchStrategy:
    """Values of one typed seed column, simplest first: a small value, then null, then
    the adversarial ones (extreme numbers, NaN and infinities where the source can hold
    them, strings that look like numbers, booleans or NA markers, unicode, long strings)."""
    finite = source == "jsonl"
    values = {
        "int": st.one_of(_ints(0, 3), st.integers(-(2**63), 2**63 - 1)),
        "float": st.one_of(st.sampled_from((0.5, -0.0)), st.floats(allow_nan=not finite, allow_infinity=not finite)),
        "bool": st.booleans(),
        "timestamp": st.one_of(st.datetimes(_MIN_TIME, _MAX_TIME), st.sampled_from(SENTINEL_TIMES), st.datetimes()),
        "string": st.one_of(st.sampled_from(ADVERSARIAL_STRINGS), _TEXT),
    }[column_type]
    return st.one_of(values, st.none()).filter(lambda v: can_hold(source, v))


#: how many typed seed columns a table has: none first (the simplest table, one word column),
#: then mostly some: a reader's conversion shows only in a typed value
_COLUMN_COUNTS = (0, *range(1, MAX_COLUMNS + 1), *range(1, MAX_COLUMNS + 1))


@functools.cache
def _weighted_types(types: tuple[str, ...]) -> tuple[str, ...]:
    """Column types in the order given, `string` twice: the values that look like
    something else ("NA", "001", "true", "") are strings, and a reader that re-reads a
    source with other options shows only on them."""
    return tuple(t for t in types for _ in range(2 if t == "string" else 1))


@st.composite
def seed_columns(draw: st.DrawFn, types: tuple[str, ...], source: str) -> tuple[SeedColumn, ...]:
    """0..3 typed seed columns (none is the simplest seed table: one word column)."""
    if not types or source == "directory":
        return ()
    count = draw(_choice(_COLUMN_COUNTS))
    return tuple(SeedColumn(f"{COLUMN_NAMES[t]}_{i}", t) for i, t in
                 enumerate(draw(_choice(_weighted_types(types))) for _ in range(count)))


@st.composite
def typed_seed_tables(draw: st.DrawFn, rows: tuple[SeedRow, ...], columns: tuple[SeedColumn, ...],
                      source: str) -> tuple[SeedRow, ...]:
    if not columns:
        return rows
    return tuple(replace(r, values=tuple(draw(column_values(c.type, source)) for c in columns)) for r in rows)


@functools.cache
@st.composite
def index_ranges(draw: st.DrawFn, num_rows: int) -> IndexRange:
    start = draw(_ints(0, num_rows - 1))
    return IndexRange(start, draw(_ints(start, num_rows - 1)))


@functools.cache
@st.composite
def partition_blocks(draw: st.DrawFn, num_rows: int) -> PartitionBlock:
    k = draw(_ints(1, num_rows))
    return PartitionBlock(draw(_ints(0, k - 1)), k)


@functools.cache
def selections(
    num_rows: int, kinds: tuple[str, ...] = ("none", "index_range", "partition_block")
) -> st.SearchStrategy[Selection]:
    options: list[st.SearchStrategy[Selection]] = []
    if "none" in kinds:
        options.append(st.none())
    if "index_range" in kinds:
        options.append(index_ranges(num_rows))
    if "partition_block" in kinds:
        options.append(partition_blocks(num_rows))
    return st.one_of(options)


@functools.cache
def buffer_sizes(max_size: int = MAX_BUFFER_SIZE) -> st.SearchStrategy[int]:
    return st.integers(1, max_size)


@functools.cache
def _weighted_actions(actions: tuple[str, ...], provider: bool = False) -> tuple[str, ...]:
    """Each kind as often as its table weight says (`harness.fault_kinds`): `raise` six
    times as often as each of the others, since it costs least (a `kill` or a signal costs a
    child process, five to ten times an in-process segment) and exercises the same resume
    paths, every segment starting from what is on disk; the others still come up dozens of
    times in every search. Simplest (`raise`) first. In a config with model columns
    (`provider`), the provider's own interruptions as often as `raise` (an outage; a revoked
    key half as often): they are what such a config is drawn for."""
    return tuple(name for name, kind in KINDS.items() if name in actions
                 for _ in range(kind.provider_weight if provider and kind.needs_provider else kind.weight)) or actions


@functools.cache
def _weighted_processes(processes: tuple[str, ...]) -> tuple[str, ...]:
    """`fresh` three times as often as `same`: a same-process chain costs a child process."""
    return tuple(p for p in ("fresh", "fresh", "fresh", "same") if p in processes) or processes


@functools.cache
@st.composite
def faults(draw: st.DrawFn, caps: Capabilities, num_records: int, buffer_size: int, provider: bool = False,
           engine: str = "sync") -> Fault:
    """One fault inside a segment of `num_records` at `buffer_size`, addressed by index
    (`provider`: the config has model columns). On the async engine a checkpoint after the
    first is drawn as often as the first: an interruption in the first checkpoint's callback
    leaves no metadata, and the resume is a fresh start, not a resume (docs/datadesigner.md)."""
    groups = max(1, math.ceil(num_records / buffer_size))
    asked = tuple(a for a in caps.fault_actions if f"fault {a}" not in caps.opt_in) or caps.fault_actions
    action = draw(_choice(_weighted_actions(asked, provider)))
    points = tuple(p for p in KINDS[action].points if p in caps.fault_points) or ("checkpoint",)
    at = draw(_choice(points))
    if at == "checkpoint" and KINDS[action].needs_provider:
        # an outage after the last checkpoint has nothing left to interrupt
        return Fault(action, "checkpoint", draw(_ints(1, max(1, groups - 1))))
    if at == "checkpoint" and engine == "async" and groups > 1:
        return Fault(action, "checkpoint", draw(st.one_of(_ints(1, 1), _ints(2, groups))))
    if at == "checkpoint":
        return Fault(action, "checkpoint", draw(_ints(1, groups)))
    if at == "row":
        return Fault(action, "row", draw(_ints(0, groups - 1)), draw(_ints(0, buffer_size - 1)))
    return Fault(action, "write", draw(_ints(1, 2 * groups + 1)))


@functools.cache
@st.composite
def fault_plans(draw: st.DrawFn, caps: Capabilities, num_records: int, buffer_size: int,
                provider: bool = False, engine: str = "sync") -> tuple[Segment, ...]:
    """A chain of segments: 1..max_interruptions interrupted ones, then one that completes.
    Each resume keeps or (with extension) grows num_records."""
    interruptions = draw(_ints(1, max(1, caps.max_interruptions)))
    segments: list[Segment] = []
    n = num_records
    for i in range(interruptions + 1):
        if i > 0 and caps.extension:
            n += draw(_ints(0, MAX_EXTENSION))
        resume = "never" if i == 0 else draw(_choice(caps.resume_modes))
        changes: tuple[Change, ...] = ()
        if i > 0 and set(caps.change_kinds) - {"release"} and draw(_ints(0, CHANGE_ODDS - 1)) == CHANGE_ODDS - 1:
            changes = tuple(draw(st.lists(change_strategy(caps, buffer_size), min_size=1, max_size=2)))
            if any(c.kind == "fewer_records" for c in changes):
                if n > 1:
                    n = draw(_ints(1, n - 1))
                else:
                    changes = tuple(c for c in changes if c.kind != "fewer_records")
        if 0 < i <= len(caps.release_chain):  # an upgrade or rollback asked for: on every chain
            changes = (Change("release", text=caps.release_chain[i - 1]), *changes)
        fault = draw(faults(caps, n, buffer_size, provider, engine)) if i < interruptions else None
        process = "fresh"  # simplest first; after a kill or a SIGTERM there is no process left to resume in
        before = segments[-1].fault if segments else None
        switched = any(c.kind == "release" for c in changes)  # another interpreter: a process of its own
        if i > 0 and not (before is not None and KINDS[before.action].ends_process) and not switched:
            process = draw(_choice(_weighted_processes(caps.processes)))
        segments.append(Segment(n, resume, fault, process, changes))
    return tuple(segments)


#: one resumed segment in CHANGE_ODDS carries changes (and shrinks to none)
CHANGE_ODDS = 3


@functools.cache
def _weighted_changes(kinds: tuple[str, ...]) -> tuple[str, ...]:
    """The change kinds to draw from, in table order (simplest first), `buffer_size` three
    times: of all the changes it is the one that alters the row-group plan a resume must
    reconcile with the groups on disk, and it shows only when it meets a run with partial
    progress and more groups to go, which few draws give."""
    return tuple(k for k in CHANGE_KINDS if k in kinds and k != "release"
                 for _ in range(3 if k == "buffer_size" else 1))


@functools.cache
@st.composite
def change_strategy(draw: st.DrawFn, caps: Capabilities, buffer_size: int = 1) -> Change:
    """One change a user makes before a resume (`harness.changes`), simplest kind first; a
    new buffer_size is never the one the run has."""
    # A release change costs an interpreter start and an import of DataDesigner: it is asked
    # for (`release_chain`, `hunt --then`), never drawn at random.
    kind = draw(_choice(_weighted_changes(caps.change_kinds)))
    fields = CHANGE_KINDS[kind].fields
    index = draw(_ints(0, MAX_SEED_ROWS - 1)) if "index" in fields else 0
    value = draw(_ints(0, MAX_BUFFER_SIZE)) if "value" in fields else 0
    if kind == "buffer_size":
        # Smaller than the run's (when it can be): the resume then has more, smaller groups to
        # plan next to the ones on disk, where a miscount shows; never the run's own size.
        value = draw(_ints(1, MAX_BUFFER_SIZE))
        value = 1 + (value - 1) % (buffer_size - 1) if buffer_size > 1 else value + (value == 1)
    text = ""
    if kind == "release":
        text = draw(_choice(caps.releases))
    elif "text" in fields:
        text = draw(_choice(("!", "omega", "x")))
    return Change(kind, index, value, text)


@functools.cache
def _weighted_sources(sources: tuple[str, ...]) -> tuple[str, ...]:
    """Sources in the order given, `csv` twice: a CSV holds no types, so its reader
    converts more than any other's (what it infers, what it takes for missing), and each
    of those conversions is a way for a resume path to read the seed data differently."""
    return tuple(s for s in sources for _ in range(2 if s == "csv" else 1))


@functools.cache
def _without_provider(caps: Capabilities) -> Capabilities:
    """`caps` for a config without model columns: no fault that needs the provider."""
    actions = tuple(a for a in caps.fault_actions if not KINDS[a].needs_provider)
    return replace(caps, fault_actions=actions) if actions != caps.fault_actions else caps


def _record_count(seeds: tuple[SeedRow, ...], selection: Selection, source: str) -> int:
    chosen = _selected(seeds, selection)
    return sum(len(s.lines) for s in chosen) if source == "directory" else len(chosen)


def _selected(seeds: tuple[SeedRow, ...], selection: Selection) -> tuple[SeedRow, ...]:
    if selection is None:
        return seeds
    start, end = selection.bounds(len(seeds))
    return seeds[start : end + 1]


def _give_first_selected_a_line(seeds: tuple[SeedRow, ...], selection: Selection) -> tuple[SeedRow, ...]:
    first = 0 if selection is None else selection.bounds(len(seeds))[0]
    row = seeds[first]
    return seeds[:first] + (SeedRow(row.seed_id, row.name, (f"{row.name}-0",)),) + seeds[first + 1 :]


_COMPLETION_ORDERS = st.lists(st.integers(0, ASYNC_IN_FLIGHT - 1), max_size=8)

#: what a model column asks the model, before a seed row's name
INSTRUCTIONS = ("describe", "summarize in one line", "translate into French")
#: how many model columns a config has: none in most draws (a model column costs requests to
#: the provider, a millisecond each for the reference), simplest first
_MODEL_COLUMN_COUNTS = (0, 0, 1, 2)
#: how many provider faults a scenario with model columns plans, simplest first
_PROVIDER_FAULT_COUNTS = (0, 0, 1, 1, 2)


@functools.cache
def _weighted_provider_kinds(kinds: tuple[str, ...]) -> tuple[str, ...]:
    """Provider fault kinds in table order, `slow` once for every three of the others: it
    costs a client timeout per try."""
    return tuple(k for k in PROVIDER_FAULT_KINDS if k in kinds for _ in range(1 if k == "slow" else 3))


@st.composite
def model_column_lists(draw: st.DrawFn, caps: Capabilities, source: str) -> tuple[ModelColumn, ...]:
    """0..2 LLM text columns (none is the simplest config)."""
    if not caps.draws_model_columns or source == "directory":
        return ()
    count = draw(_choice(_MODEL_COLUMN_COUNTS))
    if caps.fault_actions and all(KINDS[a].needs_provider for a in caps.fault_actions):
        count = max(1, count)  # the only interruptions allowed are the provider's
    return tuple(ModelColumn(f"llm_{i}", draw(_choice(INSTRUCTIONS))) for i in range(count))


@st.composite
def provider_fault_plans(draw: st.DrawFn, caps: Capabilities, seeds: tuple[SeedRow, ...]) -> tuple[ProviderFault, ...]:
    """0..2 per-row provider faults on the rows `seeds` (those the selection reads: a fault
    on a row no run reads changes nothing, and such draws were most of a large table's),
    simplest first: none, a transient one, a permanent one (an outage is a segment's fault,
    `outage`). A selection of one or two rows may so lose every row to its faults."""
    kinds = _weighted_provider_kinds(caps.provider_faults)
    if not kinds:
        return ()
    count = min(draw(_choice(_PROVIDER_FAULT_COUNTS)), len(seeds))
    rows = draw(st.lists(_choice(tuple(s.seed_id for s in seeds)), min_size=count, max_size=count, unique=True))
    plan = []
    for row in rows:
        kind = draw(_choice(kinds))
        permanent = draw(st.booleans()) or not PROVIDER_FAULT_KINDS[kind].temporary
        plan.append(ProviderFault(row, kind, permanent))
    return tuple(plan)


@st.composite
def scenarios(draw: st.DrawFn, caps: Capabilities | None = None, max_rows: int = MAX_SEED_ROWS) -> Scenario:
    """Whole scenarios a target with `caps` can run."""
    caps = caps or Capabilities()
    engine = draw(_choice(caps.engines))
    provider_only = caps.draws_model_columns and bool(caps.fault_actions) and all(
        KINDS[a].needs_provider for a in caps.fault_actions)
    # (the provider's interruptions need model columns, which need a table source)
    source = draw(_choice(_weighted_sources(tuple(s for s in caps.sources if s != "directory")
                                           if provider_only else caps.sources)))
    sampling = draw(_choice(caps.samplings))
    seeds = draw(seed_tables(max_rows, hydrating=source == "directory"))
    columns = draw(seed_columns(caps.column_types, source))
    seeds = draw(typed_seed_tables(seeds, columns, source))
    selection = draw(selections(len(seeds), caps.selections))
    if _record_count(seeds, selection, source) == 0:
        seeds = _give_first_selected_a_line(seeds, selection)
    records = _record_count(seeds, selection, source)
    buffer_size = draw(buffer_sizes())
    num_records = draw(_ints(1, max(2, min(MAX_RECORDS, 3 * records + 1))))
    model_columns = draw(model_column_lists(caps, source))
    provider_faults = draw(provider_fault_plans(caps, _selected(seeds, selection))) if model_columns else ()
    plan_caps = caps if model_columns else _without_provider(caps)
    segments = draw(fault_plans(plan_caps, num_records, buffer_size, bool(model_columns), engine))
    shuffle_seed = draw(_ints(0, 2**16)) if sampling == "shuffle" else 0
    order: tuple[int, ...] = ()
    if engine == "async":
        order = tuple(draw(_COMPLETION_ORDERS))
    # drawn last, so that a target that does not draw it draws everything else as before
    fresh_home = caps.draws_fresh_home and draw(fresh_homes())
    fields = dict(seeds=seeds, columns=columns, source=source, selection=selection, sampling=sampling,
                  shuffle_seed=shuffle_seed, buffer_size=buffer_size, engine=engine, completion_order=order,
                  model_columns=model_columns, provider_faults=provider_faults, fresh_home=fresh_home)
    try:
        return Scenario(segments=segments, **fields)
    except ScenarioError:
        # The changes drawn leave no record to read (a directory source whose remaining
        # selected files are empty): the same chain without the changes to the inputs.
        plain = tuple(replace(seg, changes=tuple(c for c in seg.changes if c.kind in NEUTRAL)) for seg in segments)
        return Scenario(segments=plain, **fields)
