"""A segment on another DataDesigner release: the upgrade (or rollback) between an
interruption and its resume.

A scenario's `release` change says the segments from there on run on another release
(`harness.changes`). Each release lives in its own virtual environment, so such a segment
runs in a process started from that environment's Python (`python -m
harness.targets.data_designer_release`), on the same dataset directory and journal: it
renders the same config, calls that release's `create()` with the same checkpoint callback,
and its fault fires there. What it did comes back as a small JSON file; the segment in the
search's process then ends the same way (completes, is interrupted, fails, or dies by the
same signal), so the chain and the checker see one segment, wherever it ran.

The final dataset is read back by the release that ran the chain's last segment, as the
user's `create()` on that release reads it: releases do not read a dataset's files alike
(0.6 to 0.8 with the first file's schema, 0.9 with the files' schemas unified), so a
dataset 0.9.7 finished read by 0.8.0 could fail where 0.9.7 reads it. The last segment's
process reads it right after its run (`FINAL_READ`: its rows, as plain Python values, and
the row-group files' layout, or the read's error) and the search's process takes that
(`read_on_release`).

Such a process costs an interpreter start and that release's import (about 3 s). Where the
search's process lives on (`harness.zygote.hosting`: not a child of a fork server), the
segment is forked instead from a fork server of the release's environment, started once
and kept, which imported the release and warmed it up as the search's own server does
(`SERVER_MODULES`): the same code in a fresh copy of a process that has run nothing, at
tens of milliseconds. A segment whose fault ends its process (`kill`, `sigterm`) ends that
child, as it would end a process of its own; the segment in the search's process then ends
as a child's segment that its process's end cut short (`SegmentProcessEnded`: no end in the
journal, its checkpoints and its fault read there). Elsewhere (the search runs in a child
of a fork server, which must end the same way) the release's interpreter is started for
the segment.
"""

from __future__ import annotations

import functools
import json
import os
import pickle
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from harness.fault_kinds import KINDS, Interrupted, SegmentProcessEnded
from harness.faults import FaultInjector
from harness.journal import Journal
from harness.scenario import Scenario

#: what the segment's process says it did
RESULT = "segment-{index}.release.json"
#: the final dataset as the last segment's release read it (`read_on_release`)
FINAL_READ = "final-read.pickle"


#: what the fork server of another release's environment imports before its first child:
#: this module, the release and what its first run imports, then the warm-up
SERVER_MODULES = ["harness.targets.data_designer_release", "harness.targets.data_designer_preload",
                  "harness.forkserver_init"]
#: a segment's wait in a server's child: the watchdog of the search's process ends it sooner
_NO_TIMEOUT = 365 * 24 * 3600.0


def run_on_release(release: str, engine: str, scenario: Scenario, index: int, workdir: Path,
                   injector: FaultInjector) -> None:
    """Run segment `index` on `release` (its environment's Python) and end as it ended."""
    from harness import zygote
    from harness.environments import env_python

    python = env_python(release)
    scenario_path = workdir / f"segment-{index}.scenario.json"
    scenario_path.write_text(scenario.to_json(), encoding="utf-8")
    result_path = workdir / RESULT.format(index=index)
    result_path.unlink(missing_ok=True)
    (workdir / FINAL_READ).unlink(missing_ok=True)
    arguments = (engine, str(scenario_path), str(index), str(workdir), str(result_path))
    log = workdir / f"segment-{index}.release.log"
    hosted = zygote.hosting()
    if hosted:
        # (the watchdog's exception, or the harness's stop, kills the child on its way out)
        code, _ = zygote.run_in_server(run_segment_here, (*arguments, str(log)), workdir / f"segment-{index}.error",
                                       _NO_TIMEOUT, SERVER_MODULES, python=str(python))
        err = b""
        for path in (workdir / f"segment-{index}.error", log):
            if path.exists():
                err += path.read_bytes()
    else:
        child = subprocess.Popen([str(python), "-m", "harness.targets.data_designer_release", *arguments],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            _, err = child.communicate()
        except BaseException:  # the watchdog, or the harness's own stop: the segment's process goes too
            child.kill()
            child.wait()
            raise
        code = child.returncode
    result: dict[str, Any] = {}
    if result_path.exists():
        result = json.loads(result_path.read_text(encoding="utf-8"))
    injector.checkpoints = int(result.get("checkpoints", injector.checkpoints))
    injector.fired = bool(result.get("fired", injector.fired))
    if code is not None and code < 0:
        if not hosted:  # its fault's signal ended it: this process ends the same way
            os.kill(os.getpid(), -code)
            signal.pause()
        # the segment's own process was the server's child, and its fault ended it there
        events = [e for e in Journal(workdir / "journal.jsonl").events() if e.get("segment") == index]
        injector.checkpoints = sum(1 for e in events if e["event"] == "checkpoint")
        injector.fired = any(e["event"] == "fault" for e in events)
        fault = scenario.segments[index].fault
        kind = KINDS[fault.action] if fault is not None else None
        if injector.fired and kind is not None and kind.ends_process and code == -(kind.signum or 0):
            raise SegmentProcessEnded(code)
        raise ReleaseSegmentError(f"the segment's process on DataDesigner {release} died unexpectedly "
                                  f"(exit code {code})")
    if result.get("how") == "interrupted":
        raise Interrupted(result.get("detail", f"interrupted on {release}"))
    if result.get("how") == "error":
        raise ReleaseSegmentError(result.get("detail", "error"))
    if code != 0 or result.get("how") != "completed":
        tail = " ".join(err.decode("utf-8", "replace").split())[-300:]
        raise ReleaseSegmentError(f"the segment's process on DataDesigner {release} exited with code {code}: {tail}")


#: what a release's reader does, as the models need it for a segment run on that release
#: (`DataDesignerTarget.reader_facts`)
FACTS = ("run_reads_dataset", "dataset_schema", "checks_start_config")


@functools.cache
def release_facts(release: str) -> tuple[tuple[str, Any], ...]:
    """`FACTS` of `release`, read off its installed code in its environment (once a process:
    about 3 s, DataDesigner's import)."""
    from harness.environments import env_python
    from harness.errors import HarnessUsageError

    done = subprocess.run([str(env_python(release)), "-m", "harness.targets.data_designer_release", "--facts"],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
    try:
        facts = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        tail = " ".join(done.stderr.split())[-300:]
        raise HarnessUsageError(f"cannot read DataDesigner {release}'s reader facts from its environment "
                                f"(exit {done.returncode}: {tail}); recreate it with: resume-harness env create "
                                f"{release}") from None
    return tuple((name, facts[name]) for name in FACTS)


def read_on_release(release: str, workdir: Path) -> tuple[list[dict[str, Any]], list[tuple[int, int]]]:
    """The final dataset as `release`, which ran the chain's last segment, read it (its
    process wrote `FINAL_READ` after the segment completed); its read's error raised again,
    under the error's own name (the report says "ArrowInvalid: ...", as a read here would)."""
    path = workdir / FINAL_READ
    if not path.exists():
        raise ReleaseSegmentError(f"the last segment's process on DataDesigner {release} did not read the dataset back")
    read = pickle.loads(path.read_bytes())
    if "error" in read:
        raise type(read["error"][0], (Exception,), {})(read["error"][1])
    return read["rows"], read["layout"]


class ReleaseSegmentError(Exception):
    """The segment failed on the other release (DataDesigner's error, as that release raised it)."""


def _read_back(target: Any, scenario: Scenario, workdir: Path) -> None:
    """The final dataset as this release reads it (`FINAL_READ`), for the search's process."""
    from harness.seed_values import plain

    try:
        rows, layout = target.load(scenario, workdir)
        read: dict[str, Any] = {"rows": [{k: plain(v) for k, v in r.items()} for r in rows], "layout": layout}
    except Exception as exc:  # noqa: BLE001 - the release's read failing is what the search's process reports
        read = {"error": (type(exc).__name__, str(exc))}
    (workdir / FINAL_READ).write_bytes(pickle.dumps(read))


def run_segment_here(engine: str, scenario_path: str, index_text: str, workdir_text: str, result_path: str,
                     log: str | None = None) -> None:
    """Run the segment in this process (on this environment's release) and write what it
    did to `result_path`; its output, where `log` is given, goes to that file."""
    from harness.targets.data_designer import DataDesignerTarget

    if log is not None:
        sys.stdout.flush()
        sys.stderr.flush()
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
    scenario = Scenario.from_json(Path(scenario_path).read_text(encoding="utf-8"))
    index, workdir = int(index_text), Path(workdir_text)
    journal = Journal(workdir / "journal.jsonl")
    injector = FaultInjector(scenario.segments[index].fault, journal, index, in_child=True)
    target = DataDesignerTarget(engine)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    result: dict[str, Any] = {"how": "completed", "detail": ""}
    try:
        target.run_segment(scenario, index, workdir, injector, journal, here=True)
        if index == len(scenario.segments) - 1:
            _read_back(target, scenario, workdir)
    except Interrupted as exc:
        result = {"how": "interrupted", "detail": str(exc)}
    except KeyboardInterrupt:
        result = {"how": "interrupted", "detail": "KeyboardInterrupt"}
    except Exception as exc:  # noqa: BLE001 - the release's refusal or failure, reported as the segment's
        result = {"how": "error", "detail": f"{type(exc).__name__}: {exc}"}
    result.update(checkpoints=injector.checkpoints, fired=injector.fired, release=target.version)
    Path(result_path).write_text(json.dumps(result), encoding="utf-8")
    sys.stdout.flush()
    sys.stderr.flush()


def main(argv: list[str]) -> int:
    from harness.targets.data_designer import DataDesignerTarget

    if argv == ["--facts"]:
        print(json.dumps(dict(DataDesignerTarget().reader_facts())))
        return 0
    run_segment_here(*argv)
    os._exit(0)  # at once: an interrupted async engine's loop must not finish its work at exit


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
