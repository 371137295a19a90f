"""Regression test: a run that never ends: a resumed run's process hangs Found by resume-harness 0.1.0
(dd-async-same-process-resume-deadlocks-on-the-seed-reader) on data-designer 0.6.0; fails while the bug exists
(under SHUFFLE, on the runs where the resumed reader's new permutation shows it).
"""

from __future__ import annotations

import inspect
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import data_designer.config as dd
import pandas as pd
from data_designer.config.seed_source import LocalFileSeedSource
from data_designer.engine.storage.artifact_storage import ArtifactStorage
from data_designer.interface import DataDesigner, ResumeMode

os.environ["DATA_DESIGNER_ASYNC_ENGINE"] = "1"  # async engine (0.7.0 and later: async only)

# (num_records, resume mode, stop at (checkpoint, action))
SEGMENTS = [(12, 'NEVER', (1, 'sigint')), (12, 'ALWAYS', None)]
PROCESSES = [[0, 1]]  # segments that run in one process
RETURNED = threading.Event()  # the call that Ctrl-C interrupted has returned
EXPECTED = ['alpha', 'alpha', 'alpha', 'alpha', 'alpha', 'alpha', 'alpha', 'alpha', 'alpha', 'alpha', 'alpha', 'alpha']
HANG_SECONDS = 15  # a process of the chain that runs longer has hung


class Stop(BaseException):  # raised in the checkpoint callback: async swallows Exception
    pass


def run(base, index, num_records, mode, stop):
    Path(base, "seeds").mkdir(parents=True, exist_ok=True)
    path = Path(base, "seeds", "seeds.parquet")
    pd.DataFrame({"seed_id": [0, 1], "name": ['alpha', 'beta']}).to_parquet(path, index=False)
    source = LocalFileSeedSource(path=str(path))
    designer = DataDesigner(artifact_path=Path(base, "artifacts"))
    builder = dd.DataDesignerConfigBuilder()
    builder.with_seed_dataset(source, sampling_strategy=dd.SamplingStrategy.ORDERED,
                              selection_strategy=dd.IndexRange(start=0, end=0))
    builder.add_column(dd.ExpressionColumnConfig(name="echo", expr="{{ name }}"))
    designer.set_run_config(dd.RunConfig(disable_early_shutdown=True, buffer_size=1))
    seen = []
    def on_checkpoint(path):
        seen.append(path)
        if stop and len(seen) == stop[0]:
            if stop[1] == "sigint":  # Ctrl-C: KeyboardInterrupt in the main thread
                os.kill(os.getpid(), signal.SIGINT)
                RETURNED.wait(1)  # on once the interrupted call has returned (0.8.0 on waits for this thread: the hold)
                return
            raise Stop
    try:
        if "on_batch_complete" in inspect.signature(designer.create).parameters:
            designer.create(builder, num_records=num_records, dataset_name="repro", resume=ResumeMode[mode],
                            on_batch_complete=on_checkpoint)
        else:  # 0.6.0 has the callback only on the internal path that create() itself takes
            provider = designer._create_resource_provider("repro", builder, resume=ResumeMode[mode])
            dataset_builder = designer._create_dataset_builder(builder.build(), provider)
            dataset_builder.build(num_records=num_records, on_batch_complete=on_checkpoint, resume=ResumeMode[mode])
    except (Stop, KeyboardInterrupt):
        pass
    RETURNED.set()


def rows(base):
    return ArtifactStorage(artifact_path=Path(base, "artifacts"), dataset_name="repro",
                           resume=ResumeMode.ALWAYS).load_dataset()["name"].tolist()


def test_resume_matches_uninterrupted_run(tmp_path: Path) -> None:
    for group in PROCESSES:
        if len(group) > 1 or SEGMENTS[group[0]][2]:  # one process, as a notebook runs a cell again
            code = f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
            code += f"import {Path(__file__).stem} as t; "
            code += f"[t.run({str(tmp_path / 'resumed')!r}, i, *t.SEGMENTS[i]) for i in {group!r}]"
            code += "; import os; os._exit(0)"  # at once, as a crash ends it
            subprocess.run([sys.executable, "-c", code], timeout=HANG_SECONDS)  # a process that hangs fails the test
        else:
            run(tmp_path / "resumed", group[0], *SEGMENTS[group[0]])
    run(tmp_path / "straight", 0, SEGMENTS[-1][0], "NEVER", None)
    actual, baseline = rows(tmp_path / "resumed"), rows(tmp_path / "straight")
    assert actual == baseline == EXPECTED
