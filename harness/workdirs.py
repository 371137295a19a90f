"""The harness's own work directories: where trials run, always removed afterwards."""

from __future__ import annotations

import atexit
import collections
import contextlib
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from harness.exits import stop_signals_held

WORKDIR_PREFIX = "resume-harness-"


def default_work_root() -> Path | None:
    """Where trial directories go: `RESUME_HARNESS_WORKDIR`, else the memory-backed
    /dev/shm where it exists (a trial is hundreds of small file operations, several times
    faster there), else the system temporary directory."""
    configured = os.environ.get("RESUME_HARNESS_WORKDIR")
    if configured:
        return Path(configured)
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        return shm
    return None


#: work directories made and not yet removed; `remove_leftovers` (at exit, and after a stop
#: by a signal) removes whatever an interruption kept a `work_directory` from removing
_LIVE: set[Path] = set()


@contextlib.contextmanager
def work_directory(root: Path | None = None) -> Iterator[Path]:
    """A fresh directory of the harness's own, removed afterwards whatever happens,
    a SIGINT or SIGTERM included."""
    root = root if root is not None else default_work_root()
    if root is not None:
        root.mkdir(parents=True, exist_ok=True)
    parent = root if root is not None else Path(tempfile.gettempdir())
    path: Path | None = None
    try:
        with stop_signals_held():
            # Known before it is made: a stop that reached Python's handler just before the
            # signals were held still raises inside this block, at any bytecode, so the name
            # is recorded first and the directory made after: a name never made is no harm,
            # and `remove_leftovers` removes one made but not yet handed out here.
            while True:
                candidate = parent / f"{WORKDIR_PREFIX}{secrets.token_hex(8)}"
                _LIVE.add(candidate)
                try:
                    candidate.mkdir(mode=0o700)
                except FileExistsError:  # another's: never removed by us
                    _LIVE.discard(candidate)
                    continue
                path = candidate
                break
        yield path
    finally:
        if path is not None:
            _remove(path)


#: work directories this process removed: a target's threads that outlive its call (an
#: async engine's, going on in the harness's process) may write into one after it was
#: removed, which makes it again (DataDesigner creates its dataset directory with parents);
#: the most recent are swept again each time a directory is removed, all of them at exit
_REMOVED: collections.deque[Path] = collections.deque(maxlen=512)
_EVER_REMOVED: set[Path] = set()


def _remove(path: Path) -> None:
    try:
        with stop_signals_held():  # nor in the middle of removing it
            shutil.rmtree(path, ignore_errors=True)
            _LIVE.discard(path)
    except BaseException:  # a stop that landed before the signals were held: remove it anyway
        shutil.rmtree(path, ignore_errors=True)
        _LIVE.discard(path)
        raise
    _EVER_REMOVED.add(path)
    _REMOVED.append(path)
    if len(_EVER_REMOVED) % SWEEP_EVERY == 0:
        sweep()


#: removals between two sweeps of the recently removed directories (a few stats each)
SWEEP_EVERY = 64


def sweep() -> None:
    """Remove again the recently removed work directories something has made since."""
    for earlier in _REMOVED:
        if earlier.exists():  # made again by a thread that outlived its trial
            shutil.rmtree(earlier, ignore_errors=True)


@atexit.register
def remove_leftovers() -> None:
    """Remove every work directory of this process still there (only the process that made
    them: a forked child inherits the set but must not touch its parent's directories)."""
    if _OWNER != os.getpid():
        return
    for path in list(_LIVE):
        shutil.rmtree(path, ignore_errors=True)
        _LIVE.discard(path)
    for path in list(_EVER_REMOVED):  # removed once, and made again since by a late thread
        if path.exists():
            shutil.rmtree(path, ignore_errors=True)


_OWNER = os.getpid()
