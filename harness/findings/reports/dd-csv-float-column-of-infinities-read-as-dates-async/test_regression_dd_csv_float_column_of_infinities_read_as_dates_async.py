"""Regression test: short rows after a resume Found by resume-harness 0.1.0
(dd-csv-float-column-of-infinities-read-as-dates-async) on data-designer 0.9.7; fails while the bug exists
(under SHUFFLE, on the runs where the resumed reader's new permutation shows it).
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path

import data_designer.config as dd
import pandas as pd
from data_designer.config.seed_source import LocalFileSeedSource
from data_designer.engine.storage.artifact_storage import ArtifactStorage
from data_designer.interface import DataDesigner, ResumeMode

os.environ["DATA_DESIGNER_ASYNC_ENGINE"] = "1"  # async engine (0.7.0 and later: async only)

SEGMENTS = [(2, 'NEVER', None)]  # (num_records, resume mode, stop at (checkpoint, action))
SEED = (
    'seed_id,name,score_0\n'
    '0,alpha,\n'
    '1,beta,inf\n'
)
COLUMNS = ['name', 'score_0']  # the columns compared
EXPECTED = [
    ('alpha', None),
    ('beta', float("inf")),
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


def typed_source(base, seed):  # the seed file, byte for byte as the user wrote it
    path = Path(base, "seeds", "seeds.csv")
    path.write_text(seed)
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
