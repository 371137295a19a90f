"""Imported by the fork server before it forks children for a DataDesigner target, so a
child that will be interrupted does not pay DataDesigner's one-second import. The engine
variable was set by the target before the server started.

DataDesigner also imports modules lazily on its first create() (DuckDB, pyarrow's dataset
module, its model facade: about 25 modules, 100 ms on 0.9.7), which every child would
otherwise import again. The server cannot run a create() itself: the async engine starts
an event-loop thread, and a process that forks must not hold threads (only the forking
thread survives, and before 0.9 DataDesigner does not reset its loop in a child). So a
probe child, forked while the server is still single-threaded, runs one small segment and
sends back the names of the modules it imported; the server imports those.
"""

from __future__ import annotations

import importlib
import os
import select
import signal
import sys
import time

from harness.targets.data_designer import ENGINE_VARIABLE, DataDesignerTarget, _data_designer, engines_for, installed_version


def _probe() -> None:
    """In the probe child: one small interrupted segment, as the children will run."""
    from harness.faults import FaultInjector, Interrupted
    from harness.journal import Journal
    from harness.scenario import Fault, Scenario, SeedRow, Segment
    from harness.workdirs import work_directory

    engines = engines_for(installed_version() or "0")
    engine = "sync" if "sync" in engines and os.environ.get(ENGINE_VARIABLE) == "0" else "async"
    seeds = (SeedRow(0, "alpha"), SeedRow(1, "beta"))
    scenario = Scenario(seeds=seeds, engine=engine, buffer_size=1,
                        segments=(Segment(2, fault=Fault("raise", "checkpoint", 1)), Segment(2, "always")))
    with work_directory(None) as trial:
        journal = Journal(trial / "journal.jsonl")
        try:
            DataDesignerTarget(engine).run_segment(
                scenario, 0, trial, FaultInjector(scenario.segments[0].fault, journal, 0, in_child=True), journal)
        except Interrupted:
            pass


#: seconds the probe may take; a probe that takes longer is killed and nothing is preloaded
PROBE_TIMEOUT = 60.0


def modules_a_first_run_imports(timeout: float = PROBE_TIMEOUT) -> list[str]:
    """The modules one segment imports beyond what this process has, found in a child
    (none when the child fails or does not finish within `timeout` seconds)."""
    readable, writable = os.pipe()
    pid = os.fork()
    if pid == 0:  # the probe child: whatever happens, it ends here
        try:
            os.close(readable)
            before = set(sys.modules)
            _probe()
            os.write(writable, "\n".join(m for m in list(sys.modules) if m not in before).encode())
        finally:
            os._exit(0)
    os.close(writable)
    chunks = []
    deadline = time.monotonic() + timeout
    with os.fdopen(readable, "rb", buffering=0) as pipe:
        while select.select([pipe], [], [], max(0.0, deadline - time.monotonic()))[0]:
            chunk = pipe.read(65536)
            if not chunk:
                break
            chunks.append(chunk)
        else:  # timed out
            os.kill(pid, signal.SIGKILL)
            chunks = []
    os.waitpid(pid, 0)
    return b"".join(chunks).decode().split()


_data_designer()
installed_version()
for _name in modules_a_first_run_imports():
    try:
        importlib.import_module(_name)
    except Exception:  # noqa: BLE001 - a module left out makes a child slower, not wrong
        pass
