# /// script
# requires-python = ">=3.10"
# dependencies = ["data-designer==0.7.0", "pandas==2.3.3"]
# ///
"""Resume reproducer: ghost work after an interrupted run had returned (resume-harness 0.1.0, data-designer 0.7.0).
Exit code 1: the bug reproduces; 0: the rows agree; 2: it cannot run here; 3: the script itself failed."""
import asyncio
import inspect
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

os.environ["DATA_DESIGNER_ASYNC_ENGINE"] = "1"  # async engine (0.7.0 and later: async only)

try:
    import data_designer.config as dd
    import pandas as pd
    from data_designer.config.seed_source_dataframe import DataFrameSeedSource
    from data_designer.engine.storage.artifact_storage import ArtifactStorage
    from data_designer.interface import DataDesigner, ResumeMode
except ImportError as exc:
    print(f"cannot run here: {exc}", file=sys.stderr)
    sys.exit(2)

# (num_records, resume mode, stop at (checkpoint, action))
SEGMENTS = [(6, 'NEVER', (2, 'sigint')), (6, 'ALWAYS', None)]
RETURNED = threading.Event()  # the call that Ctrl-C interrupted has returned
EXPECTED = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta']


class Stop(BaseException):  # raised in the checkpoint callback: async swallows Exception
    pass


def log(base, line):  # every checkpoint, with the segment that made it
    with open(Path(base, "checkpoints.log"), "a") as out:
        out.write(line + "\n")


def run(base, index, num_records, mode, stop):
    source = DataFrameSeedSource(df=pd.DataFrame({"seed_id": [0, 1, 2, 3, 4, 5], "name": ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta']}))  # noqa: E501
    designer = DataDesigner(artifact_path=Path(base, "artifacts"))
    builder = dd.DataDesignerConfigBuilder()
    builder.with_seed_dataset(source, sampling_strategy=dd.SamplingStrategy.ORDERED)
    builder.add_column(dd.ExpressionColumnConfig(name="echo", expr="{{ name }}"))
    designer.set_run_config(dd.RunConfig(disable_early_shutdown=True, buffer_size=1))
    seen = []
    def on_checkpoint(path):
        seen.append(path)
        log(base, f"{index} {Path(path).name}")
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
    log(base, f"{index} end")
    RETURNED.set()


def rows(base):
    return ArtifactStorage(artifact_path=Path(base, "artifacts"), dataset_name="repro",
                           resume=ResumeMode.ALWAYS).load_dataset()["name"].tolist()


def wasted(base):
    """Row groups a resume generated again though they were complete on disk, and
    checkpoints a segment made after its run had returned."""
    first, ended, again, late = {}, set(), [], []
    for line in Path(base, "checkpoints.log").read_text().splitlines():
        segment, *what = line.split()
        if what == ["end"]:
            ended.add(segment)
        elif what[0] == "torn":
            first.pop(what[1], None)
        elif segment in ended:
            late.append(f"{what[0]} by segment {segment} after its run had returned")
        elif what[0] in first and first[what[0]] != segment:
            again.append(f"{what[0]} by segment {segment}, complete since segment {first[what[0]]}")
        else:
            first.setdefault(what[0], segment)
    return again + late


def raised_by_data_designer(exc):  # its traceback passes through DataDesigner's code: the release's
    return any("data_designer" in Path(f.filename).parts for f in traceback.extract_tb(exc.__traceback__))


def settle(limit=10.0):  # until the engine's event loop has nothing left to do (at most `limit` s)
    engine = sys.modules.get("data_designer.engine.dataset_builders.utils.async_concurrency")
    loop = getattr(engine, "_loop", None)
    if loop is None or not loop.is_running():  # no loop to ask (the sync engine)
        time.sleep(0.5)
        return

    async def busy():
        return any(t is not asyncio.current_task() for t in asyncio.all_tasks())

    end = time.monotonic() + limit
    while time.monotonic() < end and asyncio.run_coroutine_threadsafe(busy(), loop).result(timeout=limit):
        time.sleep(0.05)


def main():
    signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C: KeyboardInterrupt, even in a background job
    if sys.argv[1:2] == ["--segments"]:  # segments that share a process of their own
        for i in map(int, sys.argv[2].split(",")):
            run(sys.argv[3], i, *SEGMENTS[i])
        settle()  # what the engine still does once the call has returned shows now
        os._exit(0)  # at once, as a crash ends it: no engine thread finishes its work at exit
    for _ in range(3):  # the engine's thread holds after Ctrl-C until the call has returned
        with tempfile.TemporaryDirectory() as tmp:
            resumed = Path(tmp, "resumed")
            for group in [[i] for i in range(len(SEGMENTS))]:
                if SEGMENTS[group[0]][2]:  # its end stops the async engine's loop, as a crash would
                    subprocess.run([sys.executable, __file__, "--segments", ",".join(map(str, group)), str(resumed)])
                else:
                    run(resumed, group[0], *SEGMENTS[group[0]])
            run(Path(tmp, "straight"), 0, SEGMENTS[-1][0], "NEVER", None)
            actual, baseline = rows(resumed), rows(Path(tmp, "straight"))
            waste = wasted(resumed)
        print(f"resumed:  {actual}\nstraight: {baseline}\nexpected: {EXPECTED}")
        for line in waste:
            print(f"work wasted: {line}")
        if not (actual == baseline == EXPECTED and not waste):
            if actual != EXPECTED:
                which, got = ("resumed", actual) if actual != EXPECTED else ("straight", baseline)
                row = next(i for i in range(len(EXPECTED) + 1) if got[i:i + 1] != EXPECTED[i:i + 1])
                print(f"first divergence at row {row}: {which} {got[row:row + 1]}, expected {EXPECTED[row:row + 1]}")
            return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as exc:  # noqa: BLE001 - exit 1 only where DataDesigner raised it: the release failed
        traceback.print_exc()
        sys.exit(1 if raised_by_data_designer(exc) else 3)
