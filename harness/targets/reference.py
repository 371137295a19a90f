"""The reference engine, and each bug-seeded mutant of it, as targets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import harness
from harness.changes import CHANGE_KINDS, inputs_at
from harness.faults import FaultInjector
from harness.journal import Journal
from harness.model_columns import PROVIDER_FAULT_KINDS
from harness.reference import storage
from harness.reference.engine import DATASET_NAME, ReferenceEngine
from harness.reference.sources import csv_value_as_read
from harness.scenario import Scenario
from harness.seed_values import COLUMN_TYPES
from harness.targets.base import Capabilities, Target


class ReferenceTarget(Target):
    """The resume-correct reference: the embedded default target."""

    capabilities = Capabilities(change_kinds=tuple(k for k in CHANGE_KINDS if k != "release"),
                                column_types=COLUMN_TYPES, model_columns=True,
                                provider_faults=tuple(PROVIDER_FAULT_KINDS),
                                # a fresh installation changes nothing of the reference's: it
                                # runs such scenarios (a target's findings), a search does not draw them
                                fresh_home=True, opt_in=("fault revoked", "fresh home"))

    #: its segments in the harness's own process get the provider's decisions without a socket
    #: (`harness.provider`, direct trials: the same fault plan and log, a slow answer a timeout
    #: at once); those in a child (a kill, a signal, a same-process chain) speak HTTP
    provider_direct = True
    deterministic = True

    def __init__(self, engine_cls: type[ReferenceEngine] = ReferenceEngine, name: str = "reference") -> None:
        self.engine_cls = engine_cls
        self.name = name
        self.version = harness.__version__

    def seed_value_as_read(self, scenario: Scenario, seed: Any, column: Any, value: Any) -> Any:
        return csv_value_as_read(scenario, seed, column, value)

    def run_segment(
        self, scenario: Scenario, index: int, workdir: Path, injector: FaultInjector, journal: Journal
    ) -> None:
        # the inputs in force for this segment: the user's changes before it applied
        engine = self.engine_for(scenario, index)(inputs_at(scenario, index), workdir / "artifacts", injector, journal,
                                                  index)
        engine.run_segment(scenario.segments[index])

    def engine_for(self, scenario: Scenario, index: int) -> type[ReferenceEngine]:
        """The engine segment `index` of `scenario` runs (a model of a chain over two
        releases: that segment's release's composition)."""
        return self.engine_cls

    def load(self, scenario: Scenario, workdir: Path) -> tuple[list[dict[str, Any]], list[tuple[int, int]]]:
        dataset_dirs = [e["path"] for e in Journal(workdir / "journal.jsonl").events() if e["event"] == "dataset"]
        dataset_dir = Path(dataset_dirs[-1]) if dataset_dirs else workdir / "artifacts" / DATASET_NAME
        return storage.load_dataset(dataset_dir)
