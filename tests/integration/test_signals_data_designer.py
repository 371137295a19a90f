"""What each DataDesigner release does with a real SIGINT and SIGTERM in the checkpoint
callback, and with a resume in the same process (docs/datadesigner.md, "Signals"):

- SIGINT surfaces as `KeyboardInterrupt` out of `create()` on both engines (sync: raised in
  the callback, which runs in the main thread; async: raised in the main thread while it
  waits for the engine's event loop);
- SIGTERM, with DataDesigner installing no handler, ends the process inside the segment;
- up to 0.7.0, on the async engine, the interrupted run's row groups go on being
  checkpointed by its tasks on the event loop after `create()` has raised (`ghost`, ledger
  entry `dd-async-ctrl-c-leaves-the-run-going`); from 0.8.0 `create()` cancels the scheduler
  and waits for it before re-raising. The sync engine stops where it is.
"""

from __future__ import annotations

import json
import subprocess

import pytest
from test_data_designer import LATEST, OLDEST, python_of

from harness.targets.data_designer import engines_for, version_tuple

pytestmark = pytest.mark.datadesigner

PROBE = """
import json, sys, tempfile
from pathlib import Path
from harness.checker import compare
from harness.reference.model import expected_rows
from harness.scenario import Scenario, SeedRow, Segment, Fault
from harness.quiescence import ghost_findings
from harness.targets.registry import get_target
engine, action, process = sys.argv[1:4]
target = get_target("data_designer:" + engine)
seeds = tuple(SeedRow(i, n) for i, n in enumerate(["alpha", "beta", "gamma", "delta", "epsilon", "zeta"]))
scenario = Scenario(seeds=seeds, engine=engine, buffer_size=1, segments=(
    Segment(6, fault=Fault(action, "checkpoint", 2)), Segment(6, "always", process=process)))
with tempfile.TemporaryDirectory() as tmp:
    outcome = target.run(scenario, Path(tmp) / "run")
ends = {e["segment"]: [e["how"], e["detail"].split(":")[0]] for e in outcome.events if e["event"] == "segment_end"}
end = next((e["t"] for e in outcome.events if e["event"] == "segment_end" and e["segment"] == 0), None)
# late: checkpoints of the interrupted segment after create() had raised (a row group in flight
# that completes while 0.8+ waits for the cancelled scheduler is checkpointed before that)
late = sorted(e["group"] for e in outcome.events
              if e["event"] == "checkpoint" and e["segment"] == 0 and end is not None and e["t"] > end)
print(json.dumps({"ends": ends, "error": outcome.error, "ghost": bool(ghost_findings(scenario, outcome.events)),
                  "late": late}))
"""

GHOST_TRIES = 5
CASES = [(release, engine) for release in (OLDEST, "0.6.1", LATEST) for engine in engines_for(release)]


def probe(release: str, engine: str, action: str, process: str) -> dict:
    result = subprocess.run([str(python_of(release)), "-c", PROBE, engine, action, process], capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(("release", "engine"), CASES)
def test_sigint_surfaces_as_keyboard_interrupt_out_of_create(release, engine):
    seen = probe(release, engine, "sigint", "fresh")
    assert seen["error"] is None, seen
    assert seen["ends"]["0"] == ["interrupted", "KeyboardInterrupt"], seen


@pytest.mark.parametrize(("release", "engine"), CASES)
def test_sigterm_ends_the_process_inside_the_segment(release, engine):
    seen = probe(release, engine, "sigterm", "fresh")
    assert seen["error"] is None, seen
    assert "0" not in seen["ends"] and seen["ends"]["1"][0] == "completed", seen


@pytest.mark.parametrize(("release", "engine"), CASES)
def test_after_ctrl_c_only_the_async_engine_before_0_8_goes_on_checkpointing_into_a_same_process_resume(
        release, engine):
    seen = probe(release, engine, "sigint", "same")
    goes_on = engine == "async" and version_tuple(release) < (0, 8)
    # where the run goes on, the resume in the same process may meet its writes: clearing the
    # partial-results directory while a ghost writes into it ("Directory not empty", seen once
    # in CI on 0.6.1), or a batch file the ghost listed and then moved ("No such file or
    # directory: 'batch_00004.parquet'", once in CI on 0.6.0), fails the resume: the same
    # bug's other faces, the ghost shown all the same
    raced = ("Directory not empty", "No such file or directory")
    assert seen["error"] is None or (goes_on and any(r in seen["error"] for r in raced) and seen["ghost"]), seen
    if goes_on:
        # the ghost races the main thread's return from create(): on a loaded machine the
        # loop thread may finish every group first; a few tries, one must show it
        for _ in range(GHOST_TRIES - 1):
            if seen["ghost"] and seen["late"]:
                break
            seen = probe(release, engine, "sigint", "same")
        assert seen["ghost"] and seen["late"], seen
    else:
        assert not seen["ghost"] and not seen["late"], seen
