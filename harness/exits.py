"""The exit-code contract, and how the harness itself stops on a signal.

Every command, generated script and (where it applies) the pytest plugin's exit follow one
contract, so a bisection, a reducer or a CI job can trust it:

    0  nothing found / the replay passes
    1  a finding / the replay fails (and nothing else)
    2  a usage error or bad input: one line naming the problem and the fix
    3  the harness itself failed: one line, the traceback in a file whose path is printed

SIGINT and SIGTERM stop a command with 130 and 143 (128 + the signal), after every child is
reaped and every work directory removed. SIGINT arrives as `KeyboardInterrupt`; SIGTERM, whose
default would end the process at once with nothing cleaned, is turned into `Terminated` while
`sigterm_raises()` is in force.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import signal
import tempfile
import traceback
from collections.abc import Iterator
from pathlib import Path

OK, FINDING, USAGE, HARNESS_FAILED = 0, 1, 2, 3
SIGINT_EXIT, SIGTERM_EXIT = 128 + signal.SIGINT, 128 + signal.SIGTERM


class Terminated(BaseException):
    """SIGTERM arrived (a scheduler, `timeout`, a CI runner): stop as Ctrl-C would."""


#: the exceptions a stop by signal arrives as, and the exit code of each
STOPS: dict[type[BaseException], int] = {KeyboardInterrupt: SIGINT_EXIT, Terminated: SIGTERM_EXIT}


def signal_name(exc: BaseException) -> str:
    return "SIGTERM" if isinstance(exc, Terminated) else "SIGINT"


def stop_code(exc: BaseException) -> int:
    return SIGTERM_EXIT if isinstance(exc, Terminated) else SIGINT_EXIT


#: the stop signals received while `sigterm_raises()` was in force, in order. A stop can land
#: where a library turns the exception it raises into one of its own (Hypothesis, drawing
#: data when it lands, reports "inconsistent data generation"); what was asked is kept here.
_RECEIVED: list[int] = []


def stop_requested() -> BaseException | None:
    """The stop (as the exception it arrives as) received so far, if any."""
    if not _RECEIVED:
        return None
    return Terminated() if _RECEIVED[0] == signal.SIGTERM else KeyboardInterrupt()


def raise_pending_stop() -> None:
    """Raise the stop received so far, if any. For the top of a loop's step: a stop can land
    where its exception is swallowed (a garbage-collector callback or a `__del__`, which
    Python reports as "Exception ignored" and goes on), and must still end the loop."""
    stop = stop_requested()
    if stop is not None:
        raise stop


def _raise_stop(signum: int, frame: object) -> None:
    _RECEIVED.append(signum)
    if signum == signal.SIGTERM:
        raise Terminated
    raise KeyboardInterrupt


@contextlib.contextmanager
def sigterm_raises() -> Iterator[None]:
    """Within: SIGTERM raises `Terminated` and SIGINT `KeyboardInterrupt` in the main thread
    (only there can a handler run), and each is recorded for `stop_requested()` (from a
    clean slate: what stopped an earlier command of this process is not this one's)."""
    _RECEIVED.clear()
    try:
        previous = {signum: signal.signal(signum, _raise_stop) for signum in (signal.SIGTERM, signal.SIGINT)}
    except ValueError:  # not the main thread: leave the disposition alone
        yield
        return
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextlib.contextmanager
def stop_signals_held() -> Iterator[None]:
    """Within: SIGINT and SIGTERM wait, pending and not lost, until the block is done; they
    take effect (raise) as it ends. For the few steps a stop must never split: making a
    directory and recording it, removing one, starting a child and learning its pid."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def crash_report(exc: BaseException) -> Path:
    """Write the traceback of the harness's own failure to a file of its own; its path."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    fd, name = tempfile.mkstemp(prefix=f"resume-harness-crash-{stamp}-", suffix=".txt")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    return Path(name)
