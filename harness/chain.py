"""How a scenario's chain of segments is laid out in processes, and how one segment runs.

The layout: segment 0 starts a process; a resumed segment runs in a `fresh` process (a
restarted job) or in the `same` process as the segment before it (a notebook cell run
again). Consecutive segments that share a process form a *group*; a group of more than one
segment runs inside one child process that the harness starts, so the harness never shares
state with the target, and everything stays killable.

Every segment, wherever it runs, is run by `run_segment`, which records in the trial's
journal what the checker needs to judge quiescence and progress reuse: `segment_start` and
`segment_end` events (with how it ended: completed, interrupted, error, hang; every journal
event carries a monotonic time and a pid, see `harness.journal`), and snapshots of the
dataset directory where something other than the next segment could still change it: as a
child's last segment ends and once the child is reaped (work the process did after its call
had ended), and around the wait for threads a segment left running. A segment is under a
watchdog wherever it runs: in process, a timer raises `SegmentHung` in it; in a child, the
parent kills the child past the deadline, after asking it for a stack dump of every thread.
"""

from __future__ import annotations

import contextlib
import ctypes
import faulthandler
import logging
import os
import signal
import threading
import time
import traceback
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.fault_kinds import KINDS, Interrupted
from harness.faults import FaultInjector
from harness.journal import Journal
from harness.scenario import Scenario

if TYPE_CHECKING:
    from harness.targets.base import Target

#: non-daemon threads that a segment started get this long to finish once its call has
#: ended, before the harness looks at the dataset again (what they did then is `ghost` work)
QUIESCENCE_WAIT = 2.0
#: the signal a child's stacks are dumped on before a hung child is killed
STACK_SIGNAL = signal.SIGUSR1


class SegmentHung(BaseException):
    """Raised in a segment running in the harness's process once its time is up."""


def process_groups(scenario: Scenario) -> list[list[int]]:
    """The segments' indices, grouped by the process they run in."""
    groups: list[list[int]] = []
    for i, segment in enumerate(scenario.segments):
        if i > 0 and segment.process == "same":
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def snapshot(root: Path) -> dict[str, list[int]]:
    """Every file under `root`: relative path -> [size, mtime in ns]."""
    found: dict[str, list[int]] = {}
    for directory, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(directory, name)
            try:
                st = os.stat(path)
            except FileNotFoundError:
                continue
            found[os.path.relpath(path, root)] = [st.st_size, st.st_mtime_ns]
    return found


def record_snapshot(journal: Journal, root: Path, segment: int, at: str) -> None:
    journal.append({"event": "snapshot", "segment": segment, "at": at, "files": snapshot(root)})


def _new_threads(before: set[threading.Thread]) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t not in before and not t.daemon and t.is_alive()]


def wait_for_threads(before: set[threading.Thread], seconds: float = QUIESCENCE_WAIT) -> list[str]:
    """Wait (bounded) for non-daemon threads started since `before`; the names of those left."""
    deadline = time.monotonic() + seconds
    for thread in _new_threads(before):
        thread.join(max(0.0, deadline - time.monotonic()))
    return [t.name for t in _new_threads(before)]


# ----- the watchdog of a segment in the harness's own process -----------------------------------
@contextlib.contextmanager
def watchdog(seconds: float) -> Iterator[None]:
    """Raise `SegmentHung` in this thread once `seconds` have passed. In the main thread a
    real-time timer's signal does it (it interrupts sleeps and lock waits too); elsewhere an
    asynchronous exception, which lands at the thread's next bytecode."""
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
        def expire(signum: int, frame: Any) -> None:
            raise SegmentHung

        previous = signal.signal(signal.SIGALRM, expire)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        return
    ident = threading.get_ident()
    timer = threading.Timer(seconds, lambda: ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(ident), ctypes.py_object(SegmentHung)))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def hang_message(segment: int, seconds: float, checkpoints: int, where: str) -> str:
    from harness.faults import TIMEOUT_VARIABLE

    return (f"hang: segment {segment} did not finish within {seconds:g}s (after checkpoint {checkpoints}); "
            f"{where} (set {TIMEOUT_VARIABLE} to allow longer)")


def stall_message(segment: int, seconds: float, checkpoints: int, where: str) -> str:
    """A hang the stall watchdog saw (`harness.targets.base.Stall`): the child stopped working."""
    from harness.faults import STALL_VARIABLE, TIMEOUT_VARIABLE

    return (f"hang: segment {segment} stopped working (after checkpoint {checkpoints}): no CPU time, no journal "
            f"event and no model request for {seconds:g}s; {where} (set {STALL_VARIABLE} to wait longer, 0 to "
            f"wait for {TIMEOUT_VARIABLE} alone)")


def innermost(exc: BaseException, frames: int = 3) -> str:
    """The innermost frames of `exc`'s traceback, on one line: where the segment was."""
    summary = traceback.extract_tb(exc.__traceback__)[-frames:]
    return " <- ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(summary))


# ----- what the target warned about ----------------------------------------------------------------
class WarningCapture(logging.Handler):
    """Within: Python warnings and log records at WARNING or above, wherever they are logged
    from, kept as one line each (a target that silences its own logging hands its records to
    the handlers marked `harness_capture`, see the DataDesigner adapter's `_quiet`)."""

    harness_capture = True

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []
        self._warnings: Any = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # noqa: BLE001 - a record that cannot be formatted is still a warning
            text = str(record.msg)
        self.messages.append(f"{record.levelname} {record.name}: {' '.join(text.split())}"[:300])

    def __enter__(self) -> WarningCapture:
        logging.root.addHandler(self)
        self._warnings = warnings.catch_warnings(record=True)
        self._caught = self._warnings.__enter__()
        warnings.simplefilter("always")
        return self

    def __exit__(self, *exc: Any) -> None:
        self._warnings.__exit__(*exc)
        logging.root.removeHandler(self)
        for w in self._caught:
            self.messages.append(f"{w.category.__name__}: {' '.join(str(w.message).split())}"[:300])


# ----- one segment ---------------------------------------------------------------------------
def run_segment(target: Target, scenario: Scenario, index: int, workdir: Path, journal: Journal,
                in_child: bool, timeout: float | None = None, snapshot_end: bool = False) -> str | None:
    """Run segment `index`, journaling its start and end (and, with `snapshot_end`, the
    dataset directory as the call ended); the problem that stopped the chain (an error or a
    hang), or None. In process, `timeout` arms the watchdog."""
    journal.append({"event": "segment_start", "segment": index})
    injector = FaultInjector(scenario.segments[index].fault, journal, index, in_child=in_child)
    if scenario.model_columns:  # the provider learns that a segment begins (healthy again, after an outage)
        from harness.provider import read_endpoint, tell

        injector.provider_endpoint = read_endpoint(workdir)
        tell(injector.provider_endpoint, "segment", segment=index)
    how, detail, problem = "completed", "", None
    capture = WarningCapture()
    try:
        with watchdog(timeout) if timeout is not None else contextlib.nullcontext(), capture:
            target.run_segment(scenario, index, workdir, injector, journal)
    except SegmentHung as exc:
        how, detail = "hang", innermost(exc)
        problem = hang_message(index, timeout or 0.0, injector.checkpoints,
                               f"it was stopped in {detail}")
    except Interrupted as exc:
        how, detail = "interrupted", str(exc)
    except BaseException as exc:
        signalled = injector.fired and KINDS[injector.fault.action].signum is not None  # type: ignore[union-attr]
        stopped = (injector.fired and KINDS[injector.fault.action].needs_provider  # type: ignore[union-attr]
                   and target.stopped_by_provider(exc, capture.messages))
        if signalled or stopped:  # the signal it was sent, however the target let it surface; or
            # the target's own stop of a run its provider fails (DataDesigner's early shutdown)
            how, detail = "interrupted", f"{type(exc).__name__}: {exc}".rstrip(": ")
        elif isinstance(exc, Exception):
            how, detail = "error", f"{type(exc).__name__}: {exc}"
            problem = detail
        else:  # the harness's own stop (Ctrl-C, SIGTERM): not the segment's business
            raise
    finally:
        elapsed = time.perf_counter() - injector.started
    if (how != "error" and injector.fired and KINDS[injector.fault.action].needs_provider  # type: ignore[union-attr]
            and target.stopped_by_provider(None if how == "completed" else Exception(detail), capture.messages)):
        journal.append({"event": "run_stopped", "segment": index})
    said = [m for m in capture.messages if not any(r in m for r in getattr(target, "routine_warnings", ()))]
    if said:
        journal.append({"event": "warned", "segment": index, "messages": said[:20]})
    journal.append({"event": "segment_end", "segment": index, "how": how, "detail": detail[:500],
                    "checkpoints": injector.checkpoints, "seconds": elapsed})
    if snapshot_end:
        record_snapshot(journal, target.dataset_root(workdir), index, "end")
    return problem


#: after an interrupted segment, a target that says its machinery still has work
#: (`Target.pending_work`) gets this long, at most, to finish it...
PENDING_WAIT = 10.0
#: ...then threads it left behind (daemon ones too, such as an engine's event loop) get this
#: long, at most, to stop touching the dataset...
QUIET_WAIT = 0.5
#: ...where "stopped" means no file of it changed for this long
QUIET_PERIOD = 0.005


def wait_until_quiet(root: Path, period: float = QUIET_PERIOD, cap: float = QUIET_WAIT) -> float:
    """Poll the dataset directory until it has not changed for `period` (at most `cap`);
    the seconds until the last change seen (0.0: none), which were the target's own work."""
    started = time.monotonic()
    deadline = started + cap
    last, since, busy = snapshot(root), started, 0.0
    while time.monotonic() < deadline:
        time.sleep(period / 4)
        now = snapshot(root)
        if now != last:
            last, since = now, time.monotonic()
            busy = since - started
        elif time.monotonic() - since >= period:
            break
    return busy


def wait_while_pending(target: Target, cap: float = PENDING_WAIT) -> float:
    """Wait while the target says it still has work of its own (at most `cap`); the seconds
    waited, which were the target's work (a fixed wait, or the directory's quiet alone, missed
    that work on a loaded machine, where the engine's thread may not run for tens of ms)."""
    started, waited = time.monotonic(), 0.0
    while waited < cap and target.pending_work():
        time.sleep(0.01)
        waited = time.monotonic() - started
    return waited


def settle(target: Target, workdir: Path, journal: Journal, segment: int, threads: set[threading.Thread],
           snapshotted: bool = False, interrupted: bool = False) -> None:
    """Once a process's last segment has ended: let the non-daemon threads it started finish
    (bounded) and, after an interruption, let the daemon ones it left (an engine's event
    loop) stop touching the dataset, then snapshot what they left, so work done after the
    end is seen, not raced. Nothing to do (and nothing journaled) when it left no thread."""
    left_behind = [t for t in threading.enumerate() if t not in threads and t.is_alive()]
    if not _new_threads(threads) and not (interrupted and left_behind):
        return
    root = target.dataset_root(workdir)
    if not snapshotted:
        record_snapshot(journal, root, segment, "end")
    waited = time.monotonic()
    left = wait_for_threads(threads)
    busy = time.monotonic() - waited  # threads of the target's still working
    if interrupted and left_behind:
        busy += wait_while_pending(target) + wait_until_quiet(root)
    journal.append({"event": "settled", "segment": segment, "threads_left": left, "busy_seconds": busy})
    record_snapshot(journal, root, segment, "settled")


def run_group_in_child(target: Target, scenario_json: str, indices: list[int], workdir: str) -> None:
    """A child's side of a group: its segments one after another in this one process, as a
    notebook runs a cell again after an interrupt. A problem stops the chain here."""
    scenario = Scenario.from_json(scenario_json)
    base = Path(workdir)
    journal = Journal(base / "journal.jsonl")
    stacks = open(base / f"segment-{indices[0]}.stacks", "w")  # noqa: SIM115 - lives as long as the child
    faulthandler.register(STACK_SIGNAL, file=stacks, all_threads=True)
    threads = set(threading.enumerate())
    for index in indices:
        last = index == indices[-1]
        if run_segment(target, scenario, index, base, journal, in_child=True, snapshot_end=last) is not None:
            break
    ends = [e for e in journal.events() if e["event"] == "segment_end" and e["segment"] == indices[-1]]
    interrupted = bool(ends) and ends[-1]["how"] != "completed"
    settle(target, base, journal, indices[-1], threads, snapshotted=True, interrupted=interrupted)
