"""What a user changes between an interruption and its resume: one table entry per kind.

A resumed segment may carry `Change`s, applied before it runs, in order. The *inputs in
force* at segment `i` (`inputs_at`) are the scenario with the changes of segments 1..i
applied: its seed table, its config (the `echo` column's expression, an added column), its
run settings (buffer size, selection). What a correct pipeline does after a change is one of
two things, and the checker's `resume-or-refuse` tier accepts either:

- it **refuses** the resume with an error, leaving the dataset as it was (a segment that
  checkpointed row groups and then failed did not refuse: its error is a finding), or
- the final dataset equals, row for row, an uninterrupted run of the inputs in force at the
  end (`final_inputs`).

Anything else is `mixed` (rows made from the inputs before a change next to rows made from
after it) or one of the ordinary anomalies.

| kind | what the user did | applied as |
|---|---|---|
| `edit_row` | fixed a typo in a seed row still to be processed | row `index` renamed `text` (a directory source: its lines too) |
| `append_rows` | appended rows to the seed file | `value` rows after the last, new seed_ids |
| `remove_row` | deleted a seed row | row `index` removed (the selection is clamped to the new table) |
| `reorder_rows` | re-exported the seed file in another order | the table rotated by `value` |
| `expression` | tweaked a column's expression | `echo` becomes the copied column followed by `text` |
| `add_column` | added a column | a column `tag`, the constant expression `text` |
| `buffer_size` | changed `buffer_size` to go faster | `buffer_size = value` |
| `selection` | changed the selection's bounds | `IndexRange(index, value)`, clamped to the table |
| `fewer_records` | asked for fewer records than were generated | (the segment's own `num_records` is below the one before) |
| `release` | upgraded or rolled back the library | the segment runs on release `text` (targets with releases) |

A file source is rewritten at the same path, as a user re-exports it; a dataframe source is
passed the new frame. `index` and `value` are taken modulo what the table allows, so every
change applies to any table (and shrinks towards "no change").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.scenario import Scenario

#: the name of the column `add_column` adds
TAG_COLUMN = "tag"


@dataclass(frozen=True)
class Change:
    kind: str
    index: int = 0
    value: int = 0
    text: str = ""

    def describe(self) -> str:
        return CHANGE_KINDS[self.kind].describe(self)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        for name in CHANGE_KINDS[self.kind].fields:
            out[name] = getattr(self, name)
        return out


@dataclass(frozen=True)
class ChangeKind:
    name: str
    #: the fields of `Change` this kind uses (the rest stay at their defaults)
    fields: tuple[str, ...]
    #: what the user did, for reports
    describe: Callable[[Change], str]
    #: the inputs after the change (`Scenario` -> `Scenario`; segments untouched)
    apply: Callable[[Scenario, Change], Scenario]
    #: changes what the seed table holds (a target rewrites its seed file)
    seeds: bool = False


def _new_name(scenario: Scenario, base: str) -> str:
    taken = {row.name for row in scenario.seeds}
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}{n}"
    return name


def _clamped_selection(scenario: Scenario, seeds: tuple) -> Any:
    from harness.scenario import IndexRange, PartitionBlock

    sel, n = scenario.selection, len(seeds)
    if isinstance(sel, IndexRange):
        start = min(sel.start, n - 1)
        return IndexRange(start, min(max(sel.end, start), n - 1))
    if isinstance(sel, PartitionBlock):
        parts = min(sel.num_partitions, n)
        return PartitionBlock(min(sel.index, parts - 1), parts)
    return sel


def _with_seeds(scenario: Scenario, seeds: tuple) -> Scenario:
    return replace(scenario, seeds=seeds, selection=_clamped_selection(scenario, seeds))


def _edit_row(s: Scenario, c: Change) -> Scenario:
    from harness.scenario import SeedRow

    i = c.index % len(s.seeds)
    row = s.seeds[i]
    name = c.text if c.text and c.text not in {r.name for r in s.seeds} else _new_name(s, (c.text or row.name) + "-fixed")
    lines = tuple(f"{name}-{j}" for j in range(len(row.lines)))
    return _with_seeds(s, s.seeds[:i] + (SeedRow(row.seed_id, name, lines, row.values),) + s.seeds[i + 1:])


def _append_rows(s: Scenario, c: Change) -> Scenario:
    from harness.scenario import SeedRow

    first = max(r.seed_id for r in s.seeds) + 1
    rows = list(s.seeds)
    for k in range(max(1, c.value)):
        name = _new_name(replace(s, seeds=tuple(rows)), "appended")
        lines = (f"{name}-0",) if s.source == "directory" else ()
        rows.append(SeedRow(first + k, name, lines, (None,) * len(s.columns)))  # typed values: null
    return _with_seeds(s, tuple(rows))


def _remove_row(s: Scenario, c: Change) -> Scenario:
    if len(s.seeds) < 2:
        return s
    i = c.index % len(s.seeds)
    return _with_seeds(s, s.seeds[:i] + s.seeds[i + 1:])


def _describe_reorder(c: Change) -> str:
    """What `_reorder_rows` does, in words: value 0 (or a whole turn) rotates by one row."""
    turn = "" if c.value <= 1 else " modulo their number; by 1 where that is a whole turn"
    return f"seed rows reordered (rotated by {c.value or 1}{turn})"


def _reorder_rows(s: Scenario, c: Change) -> Scenario:
    k = c.value % len(s.seeds) or (1 if len(s.seeds) > 1 else 0)
    return replace(s, seeds=s.seeds[k:] + s.seeds[:k])


def _selection(s: Scenario, c: Change) -> Scenario:
    from harness.scenario import IndexRange

    n = len(s.seeds)
    start = c.index % n
    return replace(s, selection=IndexRange(start, max(start, c.value % n)))


CHANGE_KINDS: dict[str, ChangeKind] = {
    k.name: k
    for k in (
        ChangeKind("edit_row", ("index", "text"), lambda c: f"seed row {c.index} edited",
                   _edit_row, seeds=True),
        ChangeKind("append_rows", ("value",), lambda c: f"{max(1, c.value)} seed row(s) appended",
                   _append_rows, seeds=True),
        ChangeKind("remove_row", ("index",), lambda c: f"seed row {c.index} removed", _remove_row, seeds=True),
        ChangeKind("reorder_rows", ("value",), _describe_reorder,
                   _reorder_rows, seeds=True),
        ChangeKind("expression", ("text",), lambda c: f"the echo column's expression gained {c.text!r}",
                   lambda s, c: replace(s, echo_suffix=c.text)),
        ChangeKind("add_column", ("text",), lambda c: f"a column {TAG_COLUMN!r} = {c.text!r} added",
                   lambda s, c: replace(s, extra_column=c.text or "x")),
        ChangeKind("buffer_size", ("value",), lambda c: f"buffer_size changed to {max(1, c.value)}",
                   lambda s, c: replace(s, buffer_size=max(1, c.value))),
        ChangeKind("selection", ("index", "value"), lambda c: f"selection changed to IndexRange({c.index}, {c.value})",
                   _selection),
        ChangeKind("fewer_records", (), lambda c: "num_records lowered below what was generated",
                   lambda s, c: s),
        ChangeKind("release", ("text",), lambda c: f"release changed to {c.text}", lambda s, c: s),
    )
}


def apply(scenario: Scenario, changes: tuple[Change, ...]) -> Scenario:
    for change in changes:
        scenario = CHANGE_KINDS[change.kind].apply(scenario, change)
    return scenario


#: changes that leave the inputs as they are (they say how a segment runs)
NEUTRAL = ("fewer_records", "release")


def inputs_at(scenario: Scenario, index: int) -> Scenario:
    """The scenario as segment `index` sees it: every change of segments 1..index applied,
    and the changes themselves gone from its segments (but the neutral ones), so what is
    returned is a plain set of inputs: `inputs_at(inputs_at(s, i), j) == inputs_at(s, i)`."""
    if not has_changes(scenario):
        return scenario
    from harness import scenario as module

    module._APPLYING.append(True)  # the scenarios made on the way are checked once, by the caller's
    try:
        current = scenario
        for segment in scenario.segments[1:index + 1]:
            if segment.changes:
                current = apply(current, segment.changes)
        segments = tuple(replace(seg, changes=tuple(c for c in seg.changes if c.kind in NEUTRAL))
                         for seg in scenario.segments)
        return replace(current, segments=segments)
    finally:
        module._APPLYING.pop()


def final_inputs(scenario: Scenario) -> Scenario:
    return inputs_at(scenario, len(scenario.segments) - 1)


def has_changes(scenario: Scenario) -> bool:
    return any(segment.changes for segment in scenario.segments)


def fresh_starts(scenario: Scenario, kinds: tuple[str, ...] | None = None) -> list[int]:
    """The segments after the first whose run may start fresh beside the dataset: NEVER, or
    IF_POSSIBLE where the inputs have changed (a release compares with the original dataset's
    config, so it starts fresh at every such call). With `kinds`, only IF_POSSIBLE at or after
    the first change of one of those kinds (a ledger signature's `min_fresh_starts`: what a bug
    of those changes needs); without, any IF_POSSIBLE of a chain with changes (what a model
    offers: a release may start fresh for reasons of its own, such as a fresh installation)."""
    if kinds is None:
        changed = has_changes(scenario)
        return [i for i, s in enumerate(scenario.segments)
                if i > 0 and (s.resume == "never" or (s.resume == "if_possible" and changed))]
    first = next((i for i, seg in enumerate(scenario.segments) if any(c.kind in kinds for c in seg.changes)),
                 len(scenario.segments))
    return [i for i, s in enumerate(scenario.segments)
            if i > 0 and (s.resume == "never" or (s.resume == "if_possible" and i >= first))]


def first_change(scenario: Scenario) -> int:
    """The first segment that carries a change (past the end when none does)."""
    return next((i for i, seg in enumerate(scenario.segments) if seg.changes), len(scenario.segments))


def changes_inputs(scenario: Scenario) -> bool:
    """Whether any change alters the inputs (not just how a segment runs)."""
    return any(c.kind not in NEUTRAL for segment in scenario.segments for c in segment.changes)


def release_of(scenario: Scenario, index: int) -> str | None:
    """The release segment `index` runs on: the last `release` change up to it (None: the
    target's own)."""
    found = None
    for segment in scenario.segments[:index + 1]:
        for change in segment.changes:
            if change.kind == "release":
                found = change.text
    return found


def versions(scenario: Scenario) -> list[tuple[int, Scenario]]:
    """The distinct inputs a chain ran on, each with the first segment that saw it."""
    out: list[tuple[int, Scenario]] = [(0, inputs_at(scenario, 0))]
    for i in range(1, len(scenario.segments)):
        if any(c.kind not in NEUTRAL for c in scenario.segments[i].changes):
            out.append((i, inputs_at(scenario, i)))
    return out


def change_from_dict(data: Any, where: str) -> Change:
    from harness.errors import ScenarioError

    if not isinstance(data, dict):
        raise ScenarioError(where, f"expected a JSON object, got {type(data).__name__}")
    kind = data.get("kind")
    if kind not in CHANGE_KINDS:
        raise ScenarioError(f"{where}.kind", f"{kind!r} is not one of {', '.join(CHANGE_KINDS)}")
    allowed = {"kind", *CHANGE_KINDS[kind].fields}
    for key in data:
        if key not in allowed:
            raise ScenarioError(f"{where}.{key}", f"unknown field for a {kind} change "
                                f"(expected one of: {', '.join(sorted(allowed))})")
    values: dict[str, Any] = {}
    for key in CHANGE_KINDS[kind].fields:
        if key not in data:
            raise ScenarioError(f"{where}.{key}", "missing required field")
        expected = str if key == "text" else int
        value = data[key]
        if not isinstance(value, expected) or isinstance(value, bool):
            raise ScenarioError(f"{where}.{key}", f"expected {expected.__name__}, got {value!r}")
        if expected is int and value < 0:
            raise ScenarioError(f"{where}.{key}", f"must be a non-negative integer, got {value}")
        values[key] = value
    return Change(kind, **values)
