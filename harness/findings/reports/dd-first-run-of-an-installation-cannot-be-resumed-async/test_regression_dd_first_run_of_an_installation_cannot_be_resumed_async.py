"""Regression test: error rows after a resume Found by resume-harness 0.1.0
(dd-first-run-of-an-installation-cannot-be-resumed-async) on data-designer 0.9.7; fails while the bug exists
(under SHUFFLE, on the runs where the resumed reader's new permutation shows it).
"""

from __future__ import annotations

import atexit
import inspect
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import data_designer.config as dd
import pandas as pd
from data_designer.config.seed_source_dataframe import DataFrameSeedSource
from data_designer.engine.storage.artifact_storage import ArtifactStorage
from data_designer.interface import DataDesigner, ResumeMode

os.environ["DATA_DESIGNER_ASYNC_ENGINE"] = "1"  # async engine (0.7.0 and later: async only)
os.environ["NEMO_TELEMETRY_ENABLED"] = "false"  # no telemetry
# a fresh installation: DataDesigner's home without the model defaults its first
# DataDesigner() writes (the script's processes share it; removed when it exits)
if "REPRO_FRESH_DD_HOME" not in os.environ:
    os.environ["REPRO_FRESH_DD_HOME"] = os.environ["DATA_DESIGNER_HOME"] = tempfile.mkdtemp(prefix="repro-dd-home-")
    atexit.register(shutil.rmtree, os.environ["DATA_DESIGNER_HOME"], True)

# (num_records, resume mode, stop at (checkpoint, action))
SEGMENTS = [(3, 'NEVER', (2, 'raise')), (3, 'ALWAYS', None)]
EXPECTED = ['alpha', 'beta', 'gamma']


class Stop(BaseException):  # raised in the checkpoint callback: async swallows Exception
    pass


def run(base, index, num_records, mode, stop):
    source = DataFrameSeedSource(df=pd.DataFrame({"seed_id": [0, 1, 2], "name": ['alpha', 'beta', 'gamma']}))
    builder = dd.DataDesignerConfigBuilder()
    builder.with_seed_dataset(source, sampling_strategy=dd.SamplingStrategy.ORDERED)
    builder.add_column(dd.ExpressionColumnConfig(name="echo", expr="{{ name }}"))
    designer = DataDesigner(artifact_path=Path(base, "artifacts"))
    designer.set_run_config(dd.RunConfig(disable_early_shutdown=True, buffer_size=1))
    seen = []
    def on_checkpoint(path):
        seen.append(path)
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


def rows(base):
    return ArtifactStorage(artifact_path=Path(base, "artifacts"), dataset_name="repro",
                           resume=ResumeMode.ALWAYS).load_dataset()["name"].tolist()


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
    assert actual == baseline == EXPECTED
