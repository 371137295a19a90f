"""The harness's fork server: a fresh interpreter that imports the harness once and then
forks one child per segment that runs in a child process.

A `kill` fault needs a process to kill, so every such segment runs in a child. Starting
each child from scratch (`spawn`) costs a whole interpreter start and the harness's imports
(about a second); forking the test process itself is unsafe (a pytest-xdist worker has
threads, and the child would inherit whatever the test process holds). The server is the
middle way, as multiprocessing's `forkserver` is: a single-threaded process started from
scratch, which preloads the modules the children need, runs `harness.forkserver_init` (a
warm-up and `gc.freeze()`), and forks a copy of itself for each child. Its protocol is
smaller than `forkserver`'s, which makes a child about 4 ms cheaper here, and the copy is
forked ahead (a spare, waiting for its request), since a fork of a process that holds
DataDesigner takes 5 to 10 ms on this kind of machine:

    parent -> server   ("run", error_path, pickled (func, args))
    server -> parent   ("pid", pid)               right after the fork
    server -> parent   ("exit", exit code)        when the child has stopped for good

Messages are length-prefixed pickles on two pipes. The child unpickles its function and
runs it; an exception escaping it is written to `error_path` (exit code 3). The parent
enforces the timeout: it SIGKILLs a child that does not finish in time. The server is
restarted when the parent's environment or the preload list has changed since it started,
so a child always sees what a child spawned now would see, and it exits when the parent
closes its end of the pipe (or dies).

A child whose function returned does not exit: it stops itself (SIGSTOP), and the server
reports exit code 0 as soon as every thread of it has stopped, then SIGKILLs it and reaps
it once it is gone, without waiting for it. Nothing of the child runs after the report, as with an
exit, but the parent does not wait while the kernel tears down a process that ran
DataDesigner (about 5 ms of each child's 8 ms exit). A child that failed (exit code 3) or was killed by its fault is
reported once reaped, as before. The one difference a target could see: what the kernel
releases at teardown (open files, advisory locks) is released a few milliseconds after the
report rather than before it; neither DataDesigner nor the reference holds a lock.

A server may run another environment's Python (`python=`): the segments of a chain that run
on another DataDesigner release (`harness.targets.data_designer_release`) are forked from a
server of that release's environment, which imported that release once, instead of a new
interpreter that imports it for every such segment (about 3 s each). Such a server keeps
its own environment's `sys.path` (the parent's would import the parent's release). One
server per Python, each started on first use and kept for the process's life.
"""

from __future__ import annotations

import atexit
import ctypes
import gc
import importlib
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.exits import stop_signals_held

_HEADER = struct.Struct("!Q")
#: seconds the server may take to import its preload list (DataDesigner takes one or two)
START_TIMEOUT = 300.0
#: Variables that change under a running test without changing what a child would do
#: (pytest sets PYTEST_CURRENT_TEST for every test phase).
_VOLATILE = frozenset({"PYTEST_CURRENT_TEST"})


#: prctl(PR_SET_PDEATHSIG, ...) from the C library, or None where there is none (not Linux)
try:
    _PRCTL: Any = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):
    _PRCTL = None
_PR_SET_PDEATHSIG = 1


def _environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in _VOLATILE}


class ServerDied(RuntimeError):
    """The fork server went away mid-request."""


def _send(fd: int, message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view):]


def _read_exact(fd: int, size: int) -> bytes | None:
    chunks = []
    while size:
        chunk = os.read(fd, size)
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _recv(fd: int) -> Any:
    header = _read_exact(fd, _HEADER.size)
    if header is None:
        raise EOFError
    body = _read_exact(fd, _HEADER.unpack(header)[0])
    if body is None:
        raise EOFError
    return pickle.loads(body)


# ----- the server's side ----------------------------------------------------------------
def serve(request_fd: int, reply_fd: int) -> None:
    """The server's main loop (runs in the server process)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _, path, cwd, modules = _recv(request_fd)
    if path is not None:  # None: a server of another environment keeps its own
        sys.path[:] = path
    os.chdir(cwd)
    for module in modules:
        try:
            importlib.import_module(module)
        except Exception:  # noqa: BLE001 - the child will meet the same error and report it
            traceback.print_exc()
    gc.collect()
    gc.freeze()
    _send(reply_fd, ("ready", os.getpid()))
    #: children killed after they stopped, reaped once gone: the kernel takes 5 ms or more
    #: to tear down a process that ran DataDesigner, and nothing need wait for it
    dying: list[int] = []
    spare = _fork_spare(request_fd, reply_fd)
    while True:
        try:
            _, error_path, payload = _recv(request_fd)
        except EOFError:
            os._exit(0)  # the spare dies with the server (see `_die_with`)
        dying = [d for d in dying if os.waitpid(d, os.WNOHANG) == (0, 0)]  # reap the ones gone
        pid, handoff = spare
        _send(handoff, (error_path, payload))
        os.close(handoff)
        _send(reply_fd, ("pid", pid))
        # The next child is forked now, while this one runs: a fork of a process that holds
        # DataDesigner takes 5 to 10 ms here, and the parent only waits meanwhile.
        spare = _fork_spare(request_fd, reply_fd)
        _, status = os.waitpid(pid, os.WUNTRACED)
        if os.WIFSTOPPED(status):  # finished (see `_child`): every thread of it has stopped
            _send(reply_fd, ("exit", 0))
            os.kill(pid, signal.SIGKILL)
            dying.append(pid)
        else:
            _send(reply_fd, ("exit", os.waitstatus_to_exitcode(status)))


def _fork_spare(request_fd: int, reply_fd: int) -> tuple[int, int]:
    """Fork the child the next request will run in; (its pid, the pipe its request goes to).
    Until the request comes it waits on that pipe, with the server's signal dispositions
    (SIGINT ignored), and it exits if the pipe is closed unused."""
    server = os.getpid()
    handoff_r, handoff_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(handoff_w)
        os.close(request_fd)
        os.close(reply_fd)
        _die_with(server)
        try:
            error_path, payload = _recv(handoff_r)
        except EOFError:
            os._exit(0)
        os.close(handoff_r)
        _child(error_path, payload, server)
    os.close(handoff_r)
    return pid, handoff_w


def _die_with(server: int) -> None:
    """Have the kernel SIGKILL this child when the server dies. A finished child stops
    itself and waits for the server to kill it; with the server gone (a test kills it, or
    it crashes) it would stay stopped forever, reparented to init."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != server:  # the server died before that took effect
        os._exit(1)


def _child(error_path: str, payload: bytes, server: int) -> None:
    # Python's own SIGINT handler (KeyboardInterrupt), as in any process a user starts: a
    # sigint fault must meet what a real Ctrl-C meets (the server ignores SIGINT).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    code = 0
    try:
        func, args = pickle.loads(payload)
        func(*args)
    except BaseException:  # noqa: BLE001 - everything that escapes is reported to the parent
        Path(error_path).write_text(traceback.format_exc())
        code = 3
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001, S110 - a closed stream has nothing to flush
                pass
    if code == 0 and os.getppid() == server:
        # Done: stop every thread here (the server kills the stopped child, or the kernel
        # does if the server dies); threads the function left behind, such as an event
        # loop's, never run again.
        os.kill(os.getpid(), signal.SIGSTOP)
    os._exit(code)


# ----- the parent's side ----------------------------------------------------------------
class Server:
    """The parent's handle on one server process."""

    def __init__(self, modules: list[str], python: str | None = None) -> None:
        """A server of this Python (`python` None) or of another environment's, whose
        harness is installed there (its own `sys.path`, its children's output discarded:
        they write what the parent needs to files)."""
        self.modules = list(modules)
        self.python = python
        self.environ = _environment()
        self.owner = os.getpid()
        request_r, self.request_w = os.pipe()
        self.reply_r, reply_w = os.pipe()
        prefix = f"import sys; sys.path[:0] = {sys.path!r}; " if python is None else ""
        code = f"{prefix}from harness.zygote import serve; serve({request_r}, {reply_w})"
        quiet = {} if python is None else {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        self.process = subprocess.Popen([python or sys.executable, "-c", code], pass_fds=(request_r, reply_w),
                                        stdin=subprocess.DEVNULL, **quiet)
        os.close(request_r)
        os.close(reply_w)
        _send(self.request_w, ("init", list(sys.path) if python is None else None, os.getcwd(), self.modules))
        try:
            self._expect("ready", timeout=START_TIMEOUT)
        except TimeoutError:
            self.process.kill()
            self.close()
            raise ServerDied(f"the harness's fork server{'' if python is None else ' of ' + python} did not "
                             f"start within {START_TIMEOUT:g}s (importing {', '.join(self.modules)})") from None
        except BaseException:  # stopped while it starts: it goes too
            self.process.kill()
            self.close()
            raise

    def current(self, modules: list[str]) -> bool:
        return (self.owner == os.getpid() and self.process.poll() is None and self.modules == list(modules)
                and self.environ == _environment())

    def run(self, func: Callable[..., None], args: tuple[Any, ...], error_path: Path, timeout: float,
            deadline: Callable[[], float] | None = None,
            before_kill: Callable[[int], None] | None = None,
            stalled: Callable[[int], bool] | None = None) -> tuple[int | None, bool]:
        """Run `func(*args)` in a fresh child; (exit code, timed out). See
        `harness.faults.run_in_child` for `deadline`, `before_kill` and `stalled`."""
        from harness.faults import wait_for_child

        payload = pickle.dumps((func, args), protocol=pickle.HIGHEST_PROTOCOL)
        pid: int | None = None
        try:
            # A stop waits until the child's pid is known, so it can always be killed.
            with stop_signals_held():
                try:
                    _send(self.request_w, ("run", str(error_path), payload))
                except BrokenPipeError:
                    raise ServerDied(f"the harness's fork server exited (code {self.process.wait()})") from None
                pid = self._expect("pid", timeout=None)
            exited: list[int | None] = []

            def ended(seconds: float) -> bool:
                try:
                    exited.append(self._expect("exit", timeout=seconds))
                except TimeoutError:
                    return False
                return True

            if not wait_for_child(ended, pid, timeout, deadline, stalled):
                return exited[0], False
            if before_kill is not None:
                before_kill(pid)
            _kill(pid)
            return self._expect("exit", timeout=None), True
        except BaseException:
            # Stopped by a signal, or the server failed, while a child may run: the child goes
            # first, and its end is awaited, so nothing writes on in a directory being removed.
            if pid is None:
                self.process.kill()
                self.process.wait()
                raise
            _kill(pid)
            try:
                self._expect("exit", timeout=5.0)
            except BaseException:  # noqa: BLE001 - the server is then past saving
                self.process.kill()
                self.process.wait()
            raise

    def _expect(self, kind: str, timeout: float | None) -> Any:
        if timeout is not None:
            ready, _, _ = select.select([self.reply_r], [], [], timeout)
            if not ready:
                raise TimeoutError
        try:
            got, value = _recv(self.reply_r)
        except EOFError:
            raise ServerDied(f"the harness's fork server exited (code {self.process.wait()})") from None
        if got != kind:
            raise ServerDied(f"the harness's fork server sent {got!r}, expected {kind!r}")
        return value

    def close(self) -> None:
        if self.owner != os.getpid():
            return
        # Once only: a second close would close whatever reused these descriptor numbers
        # since (an rmtree's directory fd, after a stop closed this server and atexit again).
        fds, self.request_w, self.reply_r = (self.request_w, self.reply_r), -1, -1
        for fd in fds:
            if fd < 0:
                continue
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


#: the servers, by Python (None: this process's own)
_SERVERS: dict[str | None, Server] = {}
_LOCK = threading.Lock()


def run_in_server(func: Callable[..., None], args: tuple[Any, ...], error_path: Path, timeout: float,
                  modules: list[str], deadline: Callable[[], float] | None = None,
                  before_kill: Callable[[int], None] | None = None,
                  stalled: Callable[[int], bool] | None = None,
                  python: str | None = None) -> tuple[int | None, bool]:
    """Run `func(*args)` in a child of the fork server of `python` (None: this process's
    Python), started, or restarted, as needed."""
    with _LOCK:
        server = _SERVERS.get(python)
        if server is not None and not server.current(modules):
            server.close()
            server = None
        if server is None:
            server = _SERVERS[python] = Server(modules, python)
        try:
            return server.run(func, args, error_path, timeout, deadline=deadline, before_kill=before_kill,
                              stalled=stalled)
        except ServerDied:
            server.close()
            _SERVERS.pop(python, None)
            raise


@atexit.register
def _shutdown() -> None:
    while _SERVERS:
        _SERVERS.popitem()[1].close()
