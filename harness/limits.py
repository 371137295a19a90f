"""Bounds on what a scenario read from a file may ask for.

A scenario file is input: `num_records: 10**12` would be accepted and then exhaust memory.
Files are checked against `Limits` before anything runs; each bound has an option that
raises it (`--max-records`, `--max-seed-rows`, `--max-string-length`). Drawn scenarios are
far below every bound.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.errors import ScenarioError
from harness.scenario import Scenario

#: a scenario file larger than this is refused before it is parsed
MAX_FILE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Limits:
    records: int = 100_000
    seed_rows: int = 10_000
    string_length: int = 10_000

    def check(self, scenario: Scenario) -> Scenario:
        """`scenario` when it is within bounds; else a ScenarioError naming the field and the option."""
        for i, segment in enumerate(scenario.segments):
            if segment.num_records > self.records:
                raise ScenarioError(f"segments[{i}].num_records",
                                    f"{segment.num_records} is above the limit of {self.records} records; "
                                    "pass --max-records N to allow more")
        if len(scenario.seeds) > self.seed_rows:
            raise ScenarioError("seeds", f"{len(scenario.seeds)} rows are above the limit of {self.seed_rows}; "
                                "pass --max-seed-rows N to allow more")
        for i, row in enumerate(scenario.seeds):
            for where, text in [("name", row.name), *((f"lines[{j}]", line) for j, line in enumerate(row.lines))]:
                if len(text) > self.string_length:
                    raise ScenarioError(f"seeds[{i}].{where}",
                                        f"{len(text)} characters are above the limit of {self.string_length}; "
                                        "pass --max-string-length N to allow more")
        return scenario
