"""Fault injection, addressed by index, never by time.

A target calls the `FaultInjector` at three kinds of points: after each checkpoint, at each
generated row, and before each durable write. When the scenario's fault is due, its kind
(`harness.fault_kinds.KINDS`: raise, kill, tear, sigint, sigterm) fires. Kinds that need a
process of their own (kill, and the signals) are only allowed in a child started by
`run_in_child`: a fault never touches the test process.

Each firing is written to the trial journal *before* it takes effect, so the parent knows
what fired even after a SIGKILL.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import HarnessUsageError
from harness.exits import stop_signals_held
from harness.fault_kinds import KINDS, Interrupted
from harness.journal import Journal
from harness.scenario import Fault

__all__ = ["ChildResult", "FaultInjector", "Interrupted", "run_in_child"]

#: How long one child-run segment may take before it is reported as a hang
#: (RESUME_HARNESS_SEGMENT_TIMEOUT, in seconds, changes it).
TIMEOUT_VARIABLE = "RESUME_HARNESS_SEGMENT_TIMEOUT"
DEFAULT_SEGMENT_TIMEOUT = float(os.environ.get(TIMEOUT_VARIABLE, "60"))
#: How long a child-run segment may go without working (no CPU time to speak of, no journal
#: event, no model request) before it is reported as a hang, well before the timeout: a
#: deadlock, or a loop that waits for ever (RESUME_HARNESS_STALL_SECONDS; 0 turns it off)
STALL_VARIABLE = "RESUME_HARNESS_STALL_SECONDS"
DEFAULT_STALL_SECONDS = float(os.environ.get(STALL_VARIABLE, "10"))
#: how often a parent looks whether its child still works
STALL_POLL = 0.5


class FaultInjector:
    def __init__(self, fault: Fault | None, journal: Journal, segment: int, in_child: bool) -> None:
        self.fault = fault
        self.journal = journal
        self.segment = segment
        self.in_child = in_child
        self.checkpoints = 0
        self.writes = 0
        self.fired = False
        self.last_checkpoint: Path | None = None
        #: the trial's model provider endpoint (`harness.provider`), where the scenario has one
        self.provider_endpoint: str | None = None
        #: row points are not reached while set: a target that makes a row in two steps (its
        #: seed record, then its model columns) reaches them in the second
        self.rows_deferred = False
        #: when the segment began (the injector is made just before it runs)
        self.started = time.perf_counter()

    def after_checkpoint(self, data_path: Path) -> None:
        self.checkpoints += 1
        self.last_checkpoint = data_path
        f = self.fault
        if f is not None and f.at == "checkpoint" and f.index == self.checkpoints:
            self._fire()

    def at_row(self, group: int, row: int) -> None:
        f = self.fault
        if f is not None and f.at == "row" and f.index == group and f.row == row and not self.rows_deferred:
            self._fire()

    def before_write(self) -> None:
        self.writes += 1
        f = self.fault
        if f is not None and f.at == "write" and f.index == self.writes:
            self._fire()

    def _fire(self) -> None:
        assert self.fault is not None
        if self.fired:  # a point reached again (a retried write, a late callback) fires nothing more
            return
        kind = KINDS[self.fault.action]
        if kind.in_child and not self.in_child:
            raise RuntimeError(f"a {kind.name} fault must run in a child process (run_in_child)")
        self.fired = True
        event: dict[str, Any] = {"event": "fault", "segment": self.segment, "fault": self.fault.describe(),
                                 "action": kind.name}
        if kind.in_child:  # the segment's time in the target so far: its process may not report it
            event["seconds"] = time.perf_counter() - self.started
        self.journal.append(event)
        kind.fire(self)


@dataclass(frozen=True)
class ChildResult:
    exitcode: int | None
    timed_out: bool
    error: str | None

    @property
    def killed(self) -> bool:
        return self.exitcode == -signal.SIGKILL


START_METHODS = ("server", "forkserver", "spawn")


def start_method() -> str:
    """How children start (`RESUME_HARNESS_START_METHOD`). `server` (the default): forked
    by the harness's own fork server (`harness.zygote`), a fresh single-threaded process,
    never a fork of a threaded pytest-xdist worker, that has imported and warmed up the
    harness once, so a child costs milliseconds instead of a full interpreter start.
    `forkserver` uses multiprocessing's server instead (slower by a few milliseconds a
    child); `spawn` starts every child from scratch."""
    method = os.environ.get("RESUME_HARNESS_START_METHOD", "server")
    if method not in START_METHODS:
        raise HarnessUsageError(f"RESUME_HARNESS_START_METHOD={method!r} is not a start method; use one of: "
                                f"{', '.join(START_METHODS)}")
    return method


_CONTEXT: Any = None
#: Modules the fork server imports once, before it forks any child; then, last, the
#: module that warms the server up (`harness.forkserver_init`).
_PRELOAD = ["harness.targets.registry"]
_READY = "harness.forkserver_init"


def preload(module: str) -> None:
    """Have the fork server import `module` before its first child (a target calls this
    for its heavy imports). No effect once the server has started."""
    if module not in _PRELOAD:
        _PRELOAD.append(module)


def _context() -> Any:
    global _CONTEXT
    if _CONTEXT is None:
        method = start_method()
        _CONTEXT = multiprocessing.get_context(method)
        if method == "forkserver":
            _CONTEXT.set_forkserver_preload([*_PRELOAD, _READY])
    return _CONTEXT


def run_in_child(
    func: Callable[..., None], args: tuple[Any, ...], error_path: Path, timeout: float = DEFAULT_SEGMENT_TIMEOUT,
    deadline: Callable[[], float] | None = None, before_kill: Callable[[int], None] | None = None,
    stalled: Callable[[int], bool] | None = None, python: str | None = None, modules: list[str] | None = None,
) -> ChildResult:
    """Run `func(*args)` in a child process and reap it under a hard timeout.

    The child's unexpected exception, if any, is written to `error_path` (exit code 3).
    A child still running after `timeout` seconds is killed and reported as timed out;
    `deadline()`, asked when that time is up, may move the end later (a chain of segments
    in one child gets the timeout per segment), and `before_kill(pid)` runs just before
    the kill (a stack dump). `stalled(pid)`, asked every `STALL_POLL` seconds, ends the wait
    at once when it says the child has stopped working (`harness.targets.base.Stall`): the
    child is killed and reported as timed out.

    With `python` (another environment's interpreter, the harness installed there) the child
    is forked from the harness's fork server of that interpreter, which imported `modules`
    first, whatever the start method.
    """
    if start_method() == "server" or python is not None:
        from harness.zygote import run_in_server

        exitcode, timed_out = run_in_server(func, args, error_path, timeout,
                                            [*_PRELOAD, _READY] if python is None else list(modules or ()),
                                            deadline=deadline, before_kill=before_kill, stalled=stalled,
                                            python=python)
        error = None if timed_out or not error_path.exists() else error_path.read_text()
        return ChildResult(exitcode=exitcode, timed_out=timed_out, error=error)
    proc = _context().Process(target=_child_main, args=(func, args, str(error_path)))
    with _main_script_hidden(), stop_signals_held():  # a stop waits until the child can be killed
        proc.start()
    def ended(seconds: float) -> bool:
        proc.join(seconds)
        return not proc.is_alive()

    try:
        wait_for_child(ended, proc.pid, timeout, deadline, stalled)
    except BaseException:  # a signal stopped the parent: the child goes with it
        proc.kill()
        proc.join()
        raise
    if proc.is_alive():
        if before_kill is not None and proc.pid is not None:
            before_kill(proc.pid)
        proc.kill()
        proc.join()
        return ChildResult(exitcode=proc.exitcode, timed_out=True, error=None)
    error = error_path.read_text() if error_path.exists() else None
    return ChildResult(exitcode=proc.exitcode, timed_out=False, error=error)


def wait_for_child(ended: Callable[[float], bool], pid: int | None, timeout: float,
                   deadline: Callable[[], float] | None = None,
                   stalled: Callable[[int], bool] | None = None) -> bool:
    """Wait for a child (`ended(seconds)`: whether it ended within that wait) under
    `run_in_child`'s rules: `timeout` seconds, which `deadline()` may move later when they
    are up, the wait ending at once where `stalled(pid)`, asked every `STALL_POLL` seconds,
    says it has stopped working. Whether it is to be killed (still running)."""
    end = time.monotonic() + timeout
    while True:
        wait = max(0.0, end - time.monotonic())
        if ended(wait if stalled is None else min(wait, STALL_POLL)):
            return False
        if stalled is not None and pid is not None and stalled(pid):
            return True
        if time.monotonic() < end:
            continue
        if deadline is None or (end := max(end, deadline())) <= time.monotonic():
            return True


@contextlib.contextmanager
def _main_script_hidden() -> Iterator[None]:
    """Start children without re-running the caller's `__main__` script in them.

    multiprocessing re-executes a script's top level in every child (hence its
    `if __name__ == "__main__"` rule). The child only needs the harness, so a plain
    script's `__file__` is hidden while the child starts."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if main is None or path is None or getattr(main, "__spec__", None) is not None:
        yield
        return
    del main.__file__
    try:
        yield
    finally:
        main.__file__ = path


def _child_main(func: Callable[..., None], args: tuple[Any, ...], error_path: str) -> None:
    if hasattr(signal, "pthread_sigmask"):  # a spawned child inherits the mask it was started under
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    signal.signal(signal.SIGINT, signal.default_int_handler)  # a sigint fault meets Python's own handler
    try:
        func(*args)
    except BaseException:  # noqa: BLE001 - everything that escapes is reported to the parent
        Path(error_path).write_text(traceback.format_exc())
        os._exit(3)
