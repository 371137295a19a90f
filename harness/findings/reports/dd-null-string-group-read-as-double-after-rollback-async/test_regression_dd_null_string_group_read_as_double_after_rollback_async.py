"""Regression test: error rows after a resume Found by resume-harness 0.1.0
(dd-null-string-group-read-as-double-after-rollback-async) on data-designer 0.9.7; fails while the bug exists
(under SHUFFLE, on the runs where the resumed reader's new permutation shows it).
"""

from __future__ import annotations

import inspect
import os
import pickle
import subprocess
import sys
from pathlib import Path

import data_designer.config as dd
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from data_designer.config.seed_source import LocalFileSeedSource
from data_designer.engine.storage.artifact_storage import ArtifactStorage
from data_designer.interface import DataDesigner, ResumeMode

os.environ["DATA_DESIGNER_ASYNC_ENGINE"] = "1"  # async engine (0.7.0 and later: async only)

# (num_records, resume mode, stop at (checkpoint, action))
SEGMENTS = [(4, 'NEVER', (2, 'raise')), (6, 'ALWAYS', None)]
RELEASES = [None, '0.8.0']  # the release each segment runs on (None: this one's)
PYTHONS = {}  # release -> the Python of an environment that has it (--python RELEASE=PATH)
INPUTS = [  # per segment: what the user changed before it is applied here
    {'seed': pa.table({'seed_id': [0, 1, 2], 'name': ['alpha', 'beta', 'gamma'], 'label_0': [None, None, 'x']}, schema=pa.schema([("seed_id", pa.int64()), ("name", pa.string()), ('label_0', pa.string())])), 'echo': '', 'tag': '', 'buffer_size': 2, 'selection': None},  # noqa: E501
    {'seed': pa.table({'seed_id': [0, 1, 2], 'name': ['alpha', 'beta', 'gamma'], 'label_0': [None, None, 'x']}, schema=pa.schema([("seed_id", pa.int64()), ("name", pa.string()), ('label_0', pa.string())])), 'echo': '', 'tag': '', 'buffer_size': 2, 'selection': None},  # noqa: E501
]
COLUMNS = ['name', 'label_0']  # the columns compared
EXPECTED = [
    ('alpha', None),
    ('beta', None),
    ('gamma', 'x'),
    ('alpha', None),
    ('beta', None),
    ('gamma', 'x'),
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


def python_for(index):
    """The interpreter segment `index` runs on: the one with its release installed."""
    release = RELEASES[index]
    if release is None:
        return sys.executable
    if release not in PYTHONS:
        print(f"cannot run here: segment {index} runs on data-designer=={release}; pass --python "
              f"{release}=PATH, the Python of an environment with it (for example: uv venv /tmp/dd-{release} "
              f"&& uv pip install --python /tmp/dd-{release} data-designer=={release} pandas, then --python "
              f"{release}=/tmp/dd-{release}/bin/python)", file=sys.stderr)
        sys.exit(2)
    return PYTHONS[release]


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


# where each other release is installed: DD_PYTHONS=0.6.0=/path/to/python,0.6.1=/path/to/python
PYTHONS.update(p.split("=", 1) for p in os.environ.get("DD_PYTHONS", "").split(",") if "=" in p)


REFUSABLE = [1]  # the segments whose resume follows a change: refusing it is a correct answer


class Refused(Exception):
    """A resume after a change, refused by the release (in a process of its own)."""


class SegmentFailed(Exception):
    """A process of the chain ended with the release's error (its traceback above)."""


def own_process(args, segment=None):
    done = subprocess.run(args, stderr=subprocess.PIPE, text=True)
    sys.stderr.write(done.stderr)
    if done.returncode in (2, 3):  # it cannot run here, or the script itself failed there
        sys.exit(done.returncode)
    if done.returncode == 1:  # DataDesigner raised there (a process its fault killed ends by a signal)
        error = (done.stderr.strip().splitlines() or ["exit code 1"])[-1]
        if segment in REFUSABLE and "Cannot resume" in error:
            raise Refused(f"segment {segment}: {error}")
        raise SegmentFailed(f"segment {segment}: {error}" if segment is not None else error)


def read_rows(base):  # the dataset as the release the chain ends on reads it (its create() does)
    if RELEASES[-1] is None:
        return rows(base)
    out = Path(base, "rows.pickle")
    code = f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
    code += f"import pickle, {Path(__file__).stem} as t; "
    code += f"open({str(out)!r}, 'wb').write(pickle.dumps(t.rows({str(base)!r}))); import os; os._exit(0)"
    own_process([python_for(len(SEGMENTS) - 1), "-c", code])
    return pickle.loads(out.read_bytes())


def test_resume_matches_uninterrupted_run(tmp_path: Path) -> None:
    for group in [[i] for i in range(len(SEGMENTS))]:
        if RELEASES[group[0]] or SEGMENTS[group[0]][2]:  # another release, or a process of its own
            code = f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
            code += f"import {Path(__file__).stem} as t; "
            code += f"[t.run({str(tmp_path / 'resumed')!r}, i, *t.SEGMENTS[i]) for i in {group!r}]"
            code += "; import os; os._exit(0)"  # at once, as a crash ends it
            try:
                own_process([python_for(group[0]), "-c", code], group[0])
            except Refused:  # a resume after a change, refused: a correct answer
                return
        else:
            run(tmp_path / "resumed", group[0], *SEGMENTS[group[0]])
    code = f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
    code += f"import {Path(__file__).stem} as t; "
    code += f"t.run({str(tmp_path / 'straight')!r}, len(t.SEGMENTS) - 1, t.SEGMENTS[-1][0], 'NEVER', None)"
    own_process([python_for(len(SEGMENTS) - 1), "-c", code])  # on the release the chain ends on
    actual, baseline = read_rows(tmp_path / "resumed"), read_rows(tmp_path / "straight")
    assert actual == baseline == EXPECTED
