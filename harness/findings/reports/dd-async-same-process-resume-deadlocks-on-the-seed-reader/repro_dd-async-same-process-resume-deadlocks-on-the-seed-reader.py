# /// script
# requires-python = ">=3.10"
# dependencies = ["data-designer==0.6.0", "pandas==2.3.3"]
# ///
"""Resume reproducer: a run that never ends: a resumed run's process hangs (resume-harness 0.1.0, data-designer 0.6.0).
Exit code 1: the bug reproduces; 0: every process of the chain ended; 2: it cannot run here; 3: the script itself failed."""  # noqa: E501
import inspect
import os
import signal
import subprocess
import sys
import tempfile
import threading
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


def raised_by_data_designer(exc):  # its traceback passes through DataDesigner's code: the release's
    return any("data_designer" in Path(f.filename).parts for f in traceback.extract_tb(exc.__traceback__))


def main():
    signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C: KeyboardInterrupt, even in a background job
    if sys.argv[1:2] == ["--segments"]:  # segments that share a process of their own
        for i in map(int, sys.argv[2].split(",")):
            run(sys.argv[3], i, *SEGMENTS[i])
        os._exit(0)  # at once, as a crash ends it: no engine thread finishes its work at exit
    for attempt in range(6):  # the threads' timing decides: on some runs only
        with tempfile.TemporaryDirectory() as tmp:
            resumed = Path(tmp, "resumed")
            for group in PROCESSES:
                if len(group) > 1 or SEGMENTS[group[0]][2]:  # one process, as a notebook runs a cell again
                    try:
                        subprocess.run([sys.executable, __file__, "--segments", ",".join(map(str, group)),
                                        str(resumed)], timeout=HANG_SECONDS)
                    except subprocess.TimeoutExpired:  # subprocess.run killed it
                        print(f"run {attempt + 1}: segments {group}, run in one process, did not end within "
                              f"{HANG_SECONDS} s: the process hung")
                        return 1
                else:
                    run(resumed, group[0], *SEGMENTS[group[0]])
    print("6 runs of the chain: every process ended")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as exc:  # noqa: BLE001 - exit 1 only where DataDesigner raised it: the release failed
        traceback.print_exc()
        sys.exit(1 if raised_by_data_designer(exc) else 3)
