"""Regression test: error rows after a resume Found by resume-harness 0.1.0
(dd-first-run-of-an-installation-cannot-be-resumed-sync) on data-designer 0.6.1; fails while the bug exists
(under SHUFFLE, on the runs where the resumed reader's new permutation shows it).
"""

from __future__ import annotations

import atexit
import inspect
import os
import shutil
import tempfile
from pathlib import Path

import data_designer.config as dd
import pandas as pd
from data_designer.config.seed_source_dataframe import DataFrameSeedSource
from data_designer.engine.storage.artifact_storage import ArtifactStorage
from data_designer.interface import DataDesigner, ResumeMode

os.environ["DATA_DESIGNER_ASYNC_ENGINE"] = "0"  # sync engine (0.7.0 and later: async only)
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
    for i, segment in enumerate(SEGMENTS):
        run(Path(tmp_path, "resumed"), i, *segment)
    run(Path(tmp_path, "straight"), 0, SEGMENTS[-1][0], "NEVER", None)
    actual, baseline = rows(Path(tmp_path, "resumed")), rows(Path(tmp_path, "straight"))
    assert actual == baseline == EXPECTED
