"""Regression test: error rows after a resume Found by resume-harness 0.1.0
(dd-timestamp-beyond-nanoseconds-unreadable-async) on data-designer 0.8.0; fails while the bug exists (under
SHUFFLE, on the runs where the resumed reader's new permutation shows it).
"""

from __future__ import annotations

import datetime
import inspect
import os
from pathlib import Path

import data_designer.config as dd
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from data_designer.config.seed_source import LocalFileSeedSource
from data_designer.engine.storage.artifact_storage import ArtifactStorage
from data_designer.interface import DataDesigner, ResumeMode

os.environ["DATA_DESIGNER_ASYNC_ENGINE"] = "1"  # async engine (0.7.0 and later: async only)

SEGMENTS = [(2, 'NEVER', None)]  # (num_records, resume mode, stop at (checkpoint, action))
SEED = pa.table({'seed_id': [0, 1], 'name': ['alpha', 'beta'], 'created_0': [datetime.datetime(2024, 1, 2, 3, 4, 5), datetime.datetime(9999, 12, 31, 23, 59, 59)]}, schema=pa.schema([("seed_id", pa.int64()), ("name", pa.string()), ('created_0', pa.timestamp("us"))]))  # noqa: E501
COLUMNS = ['name', 'created_0']  # the columns compared
EXPECTED = [
    ('alpha', datetime.datetime(2024, 1, 2, 3, 4, 5)),
    ('beta', datetime.datetime(9999, 12, 31, 23, 59, 59)),
]


class Stop(BaseException):  # raised in the checkpoint callback: async swallows Exception
    pass


def run(base, index, num_records, mode, stop):
    Path(base, "seeds").mkdir(parents=True, exist_ok=True)
    source = typed_source(base, SEED)
    designer = DataDesigner(artifact_path=Path(base, "artifacts"))
    builder = dd.DataDesignerConfigBuilder()
    builder.with_seed_dataset(source, sampling_strategy=dd.SamplingStrategy.ORDERED)
    builder.add_column(dd.ExpressionColumnConfig(name="echo", expr="{{ name }}"))
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


def typed_source(base, seed):  # the seed file: parquet with its schema
    path = Path(base, "seeds", "seeds.parquet")
    pq.write_table(seed, path)
    return LocalFileSeedSource(path=str(path))


def rows(base):
    frame = ArtifactStorage(artifact_path=Path(base, "artifacts"), dataset_name="repro",
                            resume=ResumeMode.ALWAYS).load_dataset()
    return [tuple(cell(v) for v in row) for row in frame[COLUMNS].itertuples(index=False)]


def cell(value):  # pandas' missing values (NaN, None, NaT) are null; numpy scalars Python values
    if pd.api.types.is_scalar(value) and pd.isna(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value.item() if hasattr(value, "item") else value


def test_resume_matches_uninterrupted_run(tmp_path: Path) -> None:
    for i, segment in enumerate(SEGMENTS):
        run(Path(tmp_path, "resumed"), i, *segment)
    run(Path(tmp_path, "straight"), 0, SEGMENTS[-1][0], "NEVER", None)
    actual, baseline = rows(Path(tmp_path, "resumed")), rows(Path(tmp_path, "straight"))
    assert actual == baseline == EXPECTED
