"""A complete small `Target`: a toy resumable pipeline that writes each batch of records
as one JSON file, and resumes by counting the files on disk. It is the README's example
of adapting your own pipeline (tests/test_pytest_plugin.py installs it through the
`resume_harness.targets` entry point and runs the conformance suite against it).

Register it from your package's pyproject.toml:

    [project.entry-points."resume_harness.targets"]
    jsonl_pipeline = "docs.example_target:JsonlPipelineTarget"
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from harness.faults import FaultInjector
from harness.journal import Journal
from harness.scenario import Scenario
from harness.targets.base import Capabilities, Target


class JsonlPipelineTarget(Target):
    name = "jsonl_pipeline"
    version = "1.0"
    # What the pipeline supports: strategies draw only this, the checker judges only this.
    capabilities = Capabilities(engines=("sync",), sources=("dataframe",), samplings=("ordered",),
                                fault_actions=("raise", "kill"), fault_points=("checkpoint",), extension=False)

    def run_segment(self, scenario: Scenario, index: int, workdir: Path, injector: FaultInjector,
                    journal: Journal) -> None:
        segment = scenario.segments[index]
        selected = scenario.selected_seeds()
        out = workdir / "batches"
        out.mkdir(parents=True, exist_ok=True)
        if segment.resume == "never":
            for old in out.glob("*.json"):
                old.unlink()
        size = scenario.buffer_size
        for batch in range(-(-segment.num_records // size)):
            path = out / f"{batch:05d}.json"
            if path.exists():  # resume: progress from the files on disk
                continue
            first = batch * size
            rows = [{"seed_id": selected[i % len(selected)].seed_id, "name": selected[i % len(selected)].name}
                    for i in range(first, min(first + size, segment.num_records))]
            for row in rows:
                row["echo"] = row["name"]
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(rows))
            os.replace(tmp, path)  # atomic: a crash leaves the batch whole or absent
            journal.append({"event": "checkpoint", "segment": index, "ordinal": injector.checkpoints + 1,
                            "group": batch, "rows": len(rows), "seed_ids": [r["seed_id"] for r in rows]})
            injector.after_checkpoint(path)  # faults fire here

    def load(self, scenario: Scenario, workdir: Path) -> tuple[list[dict[str, Any]], list[tuple[int, int]]]:
        rows: list[dict[str, Any]] = []
        layout = []
        for path in sorted((workdir / "batches").glob("*.json")):
            batch = json.loads(path.read_text())
            rows.extend(batch)
            layout.append((int(path.stem), len(batch)))
        return rows, layout
