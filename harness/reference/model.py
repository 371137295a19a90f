"""The generation contract as pure functions: no disk, no engine, no state.

ORDERED: let `H` be the record stream of the selection (each selected seed row's hydrated
records, in source order) and `L = len(H)`. Record `i` of the dataset is `H[i mod L]`.
SHUFFLE: pass `p = i // L` uses its own seeded permutation of `H`; record `i` is
`H[perm_p[i mod L]]`. Either way the content of record `i` depends on `i` alone: never on
batch boundaries, engines, interruptions or resumes. That is what makes a resumed run
comparable with a straight one, row for row.

Every output row carries the seed columns plus `echo`, an expression column that copies
one seed column (`name`, or `line` for hydrated records), as a DataDesigner
`ExpressionColumnConfig` would.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from harness.changes import TAG_COLUMN, final_inputs
from harness.model_columns import answer, dropped_rows
from harness.scenario import Scenario, SeedRow
from harness.seed_values import SeedColumn

Row = dict[str, Any]
#: how a target's reader turns a seed value into what its rows hold (the scenario's inputs,
#: the seed row, the column, the value); see `harness.targets.base.Target.seed_value_as_read`
Convert = Callable[[Scenario, SeedRow, SeedColumn, Any], Any]


def hydrate(seed: SeedRow, source: str, columns: tuple[SeedColumn, ...] = (),
            convert: Callable[[SeedRow, SeedColumn, Any], Any] | None = None) -> list[Row]:
    """The records one manifest row turns into: one for a table source (its typed seed
    columns too, as `convert` says the reader holds them); for a directory source, one per
    line of the row's file (zero lines, zero records)."""
    if source != "directory":
        row: Row = {"seed_id": seed.seed_id, "name": seed.name}
        for column, value in zip(columns, seed.values):
            row[column.name] = value if convert is None else convert(seed, column, value)
        return [row]
    return [
        {"seed_id": seed.seed_id, "name": seed.name, "line_no": n, "line": line}
        for n, line in enumerate(seed.lines)
    ]


def record_stream(scenario: Scenario, convert: Convert | None = None) -> list[Row]:
    """`H`: the hydrated records of the selection, in source order (one pass)."""
    stream: list[Row] = []
    bound = None if convert is None or not scenario.columns else (
        lambda seed, column, value: convert(scenario, seed, column, value))
    for seed in scenario.selected_seeds():
        stream.extend(hydrate(seed, scenario.source, scenario.columns, bound))
    return stream


def shuffle_permutation(shuffle_seed: int, pass_index: int, length: int) -> list[int]:
    """The permutation SHUFFLE uses for pass `pass_index`: seeded, so a resume can carry
    the position across the interruption and regenerate the same rows."""
    order = list(range(length))
    random.Random(shuffle_seed * 1_000_003 + pass_index).shuffle(order)
    return order


def output_row(record: Row, config: Scenario | None = None) -> Row:
    """A record as an output row under `config`'s columns: `echo` (the copied column, then
    `echo_suffix`), and `tag` when the config has that column."""
    row = dict(record)
    row["echo"] = (record["line"] if "line" in record else record["name"]) + (config.echo_suffix if config else "")
    if config is not None and config.extra_column:
        row[TAG_COLUMN] = config.extra_column
    for column in config.model_columns if config is not None else ():
        row[column.name] = answer(column.prompt(record))
    return row


class RecordIndex:
    """Record `i` of a scenario, with the per-pass permutations cached. `stream` is the
    record stream as a reader produced it (default: computed from the scenario)."""

    def __init__(self, scenario: Scenario, stream: list[Row] | None = None, convert: Convert | None = None) -> None:
        self.stream = record_stream(scenario, convert) if stream is None else stream
        self.length = len(self.stream)
        self.shuffle = scenario.sampling == "shuffle"
        self.shuffle_seed = scenario.shuffle_seed
        self.config = scenario
        self._perms: dict[int, list[int]] = {}

    def position(self, i: int, pass_key: int | None = None) -> int:
        """Index into the stream of record `i`. `pass_key` overrides which permutation a
        shuffled pass uses (only the bug-seeded mutants pass one)."""
        if not self.shuffle:
            return i % self.length
        key = i // self.length if pass_key is None else pass_key
        perm = self._perms.get(key)
        if perm is None:
            perm = self._perms[key] = shuffle_permutation(self.shuffle_seed, key, self.length)
        return perm[i % self.length]

    def row(self, i: int, pass_key: int | None = None) -> Row:
        return output_row(self.stream[self.position(i, pass_key)], self.config)


def expected_rows(scenario: Scenario, convert: Convert | None = None) -> list[Row]:
    """The rows a correct pipeline produces for `scenario`, in output order: an
    uninterrupted run of the inputs in force at the end of its chain (typed seed values as
    the target's reader holds them, `convert`)."""
    count = scenario.num_records
    scenario = final_inputs(scenario)
    index = RecordIndex(scenario, convert=convert)
    # a record whose model column the provider never answers is dropped, in every run
    dropped = dropped_rows(scenario.provider_faults) if scenario.model_columns else set()
    return [row for i in range(count) if (row := index.row(i))["seed_id"] not in dropped]


def comparable_columns(scenario: Scenario) -> tuple[str, ...]:
    """The deterministic columns a target's rows are compared on (those of the inputs in
    force at the end), sorted by name."""
    final = final_inputs(scenario)
    tag = (TAG_COLUMN,) if final.extra_column else ()
    if scenario.source == "directory":
        return ("echo", "line", "line_no", "name", "seed_id", *tag)
    return tuple(sorted(("echo", "name", "seed_id", *tag, *(c.name for c in scenario.columns),
                         *(c.name for c in final.model_columns))))
