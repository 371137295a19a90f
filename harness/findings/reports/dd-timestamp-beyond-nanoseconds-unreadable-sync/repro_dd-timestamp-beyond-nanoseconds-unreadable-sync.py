# /// script
# requires-python = ">=3.10"
# dependencies = ["data-designer==0.6.1", "pandas==2.3.3"]
# ///
"""Resume reproducer: error rows after a resume (resume-harness 0.1.0, data-designer 0.6.1).
Exit code 1: the bug reproduces; 0: the rows agree; 2: it cannot run here; 3: the script itself failed."""
import datetime
import inspect
import os
import sys
import tempfile
import traceback
from pathlib import Path

os.environ["DATA_DESIGNER_ASYNC_ENGINE"] = "0"  # sync engine (0.7.0 and later: async only)

try:
    import data_designer.config as dd
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq
    from data_designer.config.seed_source import LocalFileSeedSource
    from data_designer.engine.storage.artifact_storage import ArtifactStorage
    from data_designer.interface import DataDesigner, ResumeMode
except ImportError as exc:
    print(f"cannot run here: {exc}", file=sys.stderr)
    sys.exit(2)

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


def raised_by_data_designer(exc):  # its traceback passes through DataDesigner's code: the release's
    return any("data_designer" in Path(f.filename).parts for f in traceback.extract_tb(exc.__traceback__))


def main():
    with tempfile.TemporaryDirectory() as tmp:
        for i, segment in enumerate(SEGMENTS):
            run(Path(tmp, "resumed"), i, *segment)
        run(Path(tmp, "straight"), 0, SEGMENTS[-1][0], "NEVER", None)
        actual, baseline = rows(Path(tmp, "resumed")), rows(Path(tmp, "straight"))
    print(f"resumed:  {actual}\nstraight: {baseline}\nexpected: {EXPECTED}")
    if actual == baseline == EXPECTED:
        return 0
    which, got = ("resumed", actual) if actual != EXPECTED else ("straight", baseline)
    row = next(i for i in range(len(EXPECTED) + 1) if got[i:i + 1] != EXPECTED[i:i + 1])
    print(f"first divergence at row {row}: {which} {got[row:row + 1]}, expected {EXPECTED[row:row + 1]}")
    return 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as exc:  # noqa: BLE001 - exit 1 only where DataDesigner raised it: the release failed
        traceback.print_exc()
        sys.exit(1 if raised_by_data_designer(exc) else 3)
