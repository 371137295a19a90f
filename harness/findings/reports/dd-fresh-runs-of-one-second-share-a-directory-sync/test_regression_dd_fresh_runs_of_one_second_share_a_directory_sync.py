"""Regression test: unexpected rows after a resume Found by resume-harness 0.1.0
(dd-fresh-runs-of-one-second-share-a-directory-sync) on data-designer 0.6.0; fails while the bug exists (under
SHUFFLE, on the runs where the resumed reader's new permutation shows it).
"""

from __future__ import annotations

import inspect
import os
import time
from pathlib import Path

import data_designer.config as dd
import pandas as pd
from data_designer.config.seed_source_dataframe import DataFrameSeedSource
from data_designer.engine.storage.artifact_storage import ArtifactStorage
from data_designer.interface import DataDesigner, ResumeMode

os.environ["DATA_DESIGNER_ASYNC_ENGINE"] = "0"  # sync engine (0.7.0 and later: async only)

# (num_records, resume mode, stop at (checkpoint, action))
SEGMENTS = [(4, 'NEVER', (2, 'raise')), (4, 'IF_POSSIBLE', (3, 'raise')), (2, 'IF_POSSIBLE', None)]
INPUTS = [  # per segment: what the user changed before it is applied here
    {'seed_id': [0, 1, 2, 3], 'name': ['alpha', 'beta', 'gamma', 'delta'], 'echo': '', 'tag': '', 'buffer_size': 1, 'selection': None},  # noqa: E501
    {'seed_id': [0, 1, 2, 3], 'name': ['alpha', 'beta', 'gamma', 'delta'], 'echo': '!', 'tag': '', 'buffer_size': 1, 'selection': None},  # noqa: E501
    {'seed_id': [0, 1, 2, 3], 'name': ['alpha', 'beta', 'gamma', 'delta'], 'echo': '!', 'tag': '', 'buffer_size': 1, 'selection': None},  # noqa: E501
]
EXPECTED = ['alpha!', 'beta!']


class Stop(BaseException):  # raised in the checkpoint callback: async swallows Exception
    pass


def run(base, index, num_records, mode, stop):
    if index == 1:  # two runs that start fresh in one second share a directory (0.6 to 0.8)
        time.sleep(1.02 - time.time() % 1)  # so this one starts just after a second begins
    inputs = INPUTS[index]  # the inputs as the user left them before this segment
    source = DataFrameSeedSource(df=pd.DataFrame({"seed_id": inputs["seed_id"], "name": inputs["name"]}))
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
            storage = designer.create(builder, num_records=num_records, dataset_name="repro", resume=ResumeMode[mode],
                                   on_batch_complete=on_checkpoint).artifact_storage
        else:  # 0.6.0 has the callback only on the internal path that create() itself takes
            provider = designer._create_resource_provider("repro", builder, resume=ResumeMode[mode])
            dataset_builder = designer._create_dataset_builder(builder.build(), provider)
            dataset_builder.build(num_records=num_records, on_batch_complete=on_checkpoint, resume=ResumeMode[mode])
            storage = dataset_builder.artifact_storage
        Path(base, "dataset.txt").write_text(str(storage.base_dataset_path))  # where this run wrote
    except Stop:
        pass


def rows(base):
    written = Path(base, "dataset.txt")  # the dataset the last run wrote (a fresh run: its own)
    where = Path(written.read_text()) if written.exists() else Path(base, "artifacts", "repro")
    return ArtifactStorage(artifact_path=where.parent, dataset_name=where.name,
                           resume=ResumeMode.ALWAYS).load_dataset()["echo"].tolist()


def test_resume_matches_uninterrupted_run(tmp_path: Path) -> None:
    for i, segment in enumerate(SEGMENTS):
        run(Path(tmp_path, "resumed"), i, *segment)
    run(Path(tmp_path, "straight"), len(SEGMENTS) - 1, SEGMENTS[-1][0], "NEVER", None)
    actual, baseline = rows(Path(tmp_path, "resumed")), rows(Path(tmp_path, "straight"))
    assert actual == baseline == EXPECTED
