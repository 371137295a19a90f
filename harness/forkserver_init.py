"""Imported last by the fork server (see `harness.faults`), before it forks any child.

A `kill` fault costs a whole process, so what every child would otherwise redo is done
once here, in the server:

- one small reference run per seed source kind, so pyarrow's lazy first-use work (the
  parquet writer and readers, the CSV and JSON readers) is already done when a child
  forks, in a work directory of the harness's own that is removed at once;
- the model provider's client (`harness.provider`, `http.client`): a child of a scenario
  with model columns asks the provider over HTTP, and importing the client there cost each
  such child about 20 ms, more than the rest of a reference segment;
- `gc.freeze()`, so a child's garbage collector neither walks nor copies the objects it
  inherited (each page it touched would be copied out of the server's memory).
"""

from __future__ import annotations

import gc
import http.client  # noqa: F401 - imported for the children (module docstring)
from pathlib import Path

import harness.provider  # noqa: F401 - imported for the children (module docstring)
from harness.faults import FaultInjector
from harness.journal import Journal
from harness.reference.engine import ReferenceEngine
from harness.scenario import SOURCES, Scenario, SeedRow, Segment
from harness.workdirs import work_directory


def warm_up(root: Path | None = None) -> None:
    seeds = (SeedRow(0, "alpha", ("alpha-0",)), SeedRow(1, "beta", ("beta-0",)))
    with work_directory(root) as trial:
        for source in SOURCES:
            scenario = Scenario(seeds=seeds, segments=(Segment(3),), source=source, buffer_size=2)
            journal = Journal(trial / f"{source}.jsonl")
            injector = FaultInjector(None, journal, 0, in_child=True)
            engine = ReferenceEngine(scenario, trial / source, injector, journal, 0)
            engine.run_segment(scenario.segments[0])


try:
    warm_up()
except Exception:  # noqa: BLE001 - a cold child is slower, not wrong
    pass
gc.freeze()
