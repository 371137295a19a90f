"""Regression test: redone: complete row groups generated again on resume Found by resume-harness 0.1.0
(dd-async-resume-before-first-metadata-redoes-group) on data-designer 0.9.7; fails while the bug exists (under
SHUFFLE, on the runs where the resumed reader's new permutation shows it).
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path

import data_designer.config as dd
import pandas as pd
from data_designer.config.seed_source_dataframe import DataFrameSeedSource
from data_designer.engine.storage.artifact_storage import ArtifactStorage
from data_designer.interface import DataDesigner, ResumeMode

os.environ["DATA_DESIGNER_ASYNC_ENGINE"] = "1"  # async engine (0.7.0 and later: async only)

# (num_records, resume mode, stop at (checkpoint, action))
SEGMENTS = [(1, 'NEVER', (1, 'raise')), (1, 'ALWAYS', None)]
EXPECTED = ['alpha']


class Stop(BaseException):  # raised in the checkpoint callback: async swallows Exception
    pass


def log(base, line):  # every checkpoint, with the segment that made it
    with open(Path(base, "checkpoints.log"), "a") as out:
        out.write(line + "\n")


def run(base, index, num_records, mode, stop):
    source = DataFrameSeedSource(df=pd.DataFrame({"seed_id": [0], "name": ['alpha']}))
    designer = DataDesigner(artifact_path=Path(base, "artifacts"))
    builder = dd.DataDesignerConfigBuilder()
    builder.with_seed_dataset(source, sampling_strategy=dd.SamplingStrategy.ORDERED)
    builder.add_column(dd.ExpressionColumnConfig(name="echo", expr="{{ name }}"))
    designer.set_run_config(dd.RunConfig(disable_early_shutdown=True, buffer_size=1))
    seen = []
    def on_checkpoint(path):
        seen.append(path)
        log(base, f"{index} {Path(path).name}")
        if stop and len(seen) == stop[0]:
            raise Stop
    try:
        if "on_batch_complete" in inspect.signature(designer.create).parameters:
            designer.create(builder, num_records=num_records, dataset_name="repro", resume=ResumeMode[mode],
                            on_batch_complete=on_checkpoint)
        else:  # 0.6.0 has the callback only on the internal path that create() itself takes
            provider = designer._create_resource_provider("repro", builder, resume=ResumeMode[mode])
            dataset_builder = designer._create_dataset_builder(builder.build(), provider)
            dataset_builder.build(num_records=num_records, on_batch_complete=on_checkpoint, resume=ResumeMode[mode])
    except Stop:
        pass
    log(base, f"{index} end")


def rows(base):
    return ArtifactStorage(artifact_path=Path(base, "artifacts"), dataset_name="repro",
                           resume=ResumeMode.ALWAYS).load_dataset()["name"].tolist()


def wasted(base):
    """Row groups a resume generated again though they were complete on disk, and
    checkpoints a segment made after its run had returned."""
    first, ended, again, late = {}, set(), [], []
    for line in Path(base, "checkpoints.log").read_text().splitlines():
        segment, *what = line.split()
        if what == ["end"]:
            ended.add(segment)
        elif what[0] == "torn":
            first.pop(what[1], None)
        elif segment in ended:
            late.append(f"{what[0]} by segment {segment} after its run had returned")
        elif what[0] in first and first[what[0]] != segment:
            again.append(f"{what[0]} by segment {segment}, complete since segment {first[what[0]]}")
        else:
            first.setdefault(what[0], segment)
    return again + late


def test_resume_matches_uninterrupted_run(tmp_path: Path) -> None:
    for group in [[i] for i in range(len(SEGMENTS))]:
        if SEGMENTS[group[0]][2]:  # its end stops the async engine's loop, as a crash would
            code = f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
            code += f"import {Path(__file__).stem} as t; "
            code += f"[t.run({str(tmp_path / 'resumed')!r}, i, *t.SEGMENTS[i]) for i in {group!r}]"
            code += "; import os; os._exit(0)"  # at once, as a crash ends it
            subprocess.run([sys.executable, "-c", code])
        else:
            run(tmp_path / "resumed", group[0], *SEGMENTS[group[0]])
    run(tmp_path / "straight", 0, SEGMENTS[-1][0], "NEVER", None)
    actual, baseline = rows(tmp_path / "resumed"), rows(tmp_path / "straight")
    waste = wasted(tmp_path / "resumed")
    assert actual == baseline == EXPECTED and not waste
