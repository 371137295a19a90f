# /// script
# requires-python = ">=3.10"
# dependencies = ["data-designer==0.9.7", "pandas==3.1.1"]
# ///
"""Resume reproducer: error rows after a resume (resume-harness 0.1.0, data-designer 0.9.7).
Exit code 1: the bug reproduces; 0: the rows agree; 2: it cannot run here; 3: the script itself failed."""
import inspect
import os
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

os.environ["DATA_DESIGNER_ASYNC_ENGINE"] = "1"  # async engine (0.7.0 and later: async only)

try:
    import data_designer.config as dd
    import pandas as pd
    from data_designer.config.seed_source import LocalFileSeedSource
    from data_designer.engine.storage.artifact_storage import ArtifactStorage
    from data_designer.interface import DataDesigner, ResumeMode
except ImportError as exc:
    print(f"cannot run here: {exc}", file=sys.stderr)
    sys.exit(2)

# (num_records, resume mode, stop at (checkpoint, action))
SEGMENTS = [(3, 'NEVER', (2, 'raise')), (3, 'ALWAYS', None)]
INPUTS = [  # per segment: what the user changed before it is applied here
    {'seed': (
    '{"seed_id": 0, "name": "alpha", "count_0": 1}\n'
    '{"seed_id": 1, "name": "beta", "count_0": -1}\n'
), 'echo': '', 'tag': '', 'buffer_size': 1, 'selection': None},
    {'seed': '{"seed_id": 0, "name": "alpha", "count_0": 1}\n', 'echo': '', 'tag': '', 'buffer_size': 1, 'selection': None},  # noqa: E501
]
COLUMNS = ['echo', 'count_0']  # the columns compared
EXPECTED = [
    ('alpha', 1),
    ('alpha', 1),
    ('alpha', 1),
]


class Stop(BaseException):  # raised in the checkpoint callback: async swallows Exception
    pass


def run(base, index, num_records, mode, stop):
    Path(base, "seeds").mkdir(parents=True, exist_ok=True)
    inputs = INPUTS[index]  # the inputs as the user left them before this segment
    source = typed_source(base, inputs["seed"])  # rewritten in place
    kind, *bounds = inputs["selection"] or (None,)
    selection = {"index_range": lambda s, e: dd.IndexRange(start=s, end=e),
                 "partition_block": lambda i, k: dd.PartitionBlock(index=i, num_partitions=k),
                 None: lambda: None}[kind](*bounds)
    designer = DataDesigner(artifact_path=Path(base, "artifacts"))
    builder = dd.DataDesignerConfigBuilder()
    builder.with_seed_dataset(source, sampling_strategy=dd.SamplingStrategy.ORDERED, selection_strategy=selection)
    builder.add_column(dd.ExpressionColumnConfig(name="echo", expr="{{ name }}" + inputs["echo"]))
    if inputs["tag"]:
        builder.add_column(dd.ExpressionColumnConfig(name="tag", expr="{{ '' if name else '' }}" + inputs["tag"]))
    designer.set_run_config(dd.RunConfig(disable_early_shutdown=True, buffer_size=inputs["buffer_size"]))
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
    path = Path(base, "seeds", "seeds.jsonl")
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


def raised_by_data_designer(exc):  # its traceback passes through DataDesigner's code: the release's
    return any("data_designer" in Path(f.filename).parts for f in traceback.extract_tb(exc.__traceback__))


def main():
    if sys.argv[1:2] == ["--segments"]:  # segments that share a process of their own
        for i in map(int, sys.argv[2].split(",")):
            run(sys.argv[3], i, *SEGMENTS[i])
        os._exit(0)  # at once, as a crash ends it: no engine thread finishes its work at exit
    with tempfile.TemporaryDirectory() as tmp:
        resumed = Path(tmp, "resumed")
        for group in [[i] for i in range(len(SEGMENTS))]:
            if SEGMENTS[group[0]][2]:  # its end stops the async engine's loop, as a crash would
                subprocess.run([sys.executable, __file__, "--segments", ",".join(map(str, group)), str(resumed)])
            else:
                run(resumed, group[0], *SEGMENTS[group[0]])
        run(Path(tmp, "straight"), len(SEGMENTS) - 1, SEGMENTS[-1][0], "NEVER", None)
        actual, baseline = rows(resumed), rows(Path(tmp, "straight"))
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
