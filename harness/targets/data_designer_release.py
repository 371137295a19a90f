"""Segments on another DataDesigner release: the upgrade (or rollback) between an
interruption and its resume.

A scenario's `release` change says the segments from there on run on another release
(`harness.changes`); a release change starts a process, so each group of segments that
share a process (`harness.chain.process_groups`) is on one release. Each release lives in
its own virtual environment, so a group on another release runs in a child process forked
from a fork server of that environment's Python (`harness.zygote`, `python=`), started once
per search process, which imported that release and what its first run imports and warmed
up as the search's own server does (`SERVER_MODULES`). The child runs the group as any child
runs one (`harness.chain.run_group_in_child`: the same config, that release's `create()`,
the same checkpoint callback and journal, its faults fired there, a `kill` killing it, the
threads it left waited for and its dataset directory snapshotted), so the chain, the
watchdog and the checker see a child's segments, whatever release ran them. An interpreter
start and an import of the release per segment, as before, cost about 3 s each.

The final dataset is read back by the release that ran the chain's last segment, as the
user's `create()` on that release reads it: releases do not read a dataset's files alike
(0.6 to 0.8 with the first file's schema, 0.9 with the files' schemas unified), so a
dataset 0.9.7 finished read by 0.8.0 could fail where 0.9.7 reads it. The child that ran
the last segment reads it right after its run (`FINAL_READ`: its rows, as plain Python
values, and the row-group files' layout, or the read's error) and the search's process
takes that (`read_on_release`).
"""

from __future__ import annotations

import functools
import json
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

from harness.chain import run_group_in_child
from harness.journal import Journal
from harness.scenario import Scenario

#: the final dataset as the last segment's release read it (`read_on_release`)
FINAL_READ = "final-read.pickle"
#: what the fork server of another release's environment imports before its first child:
#: this module, the release and what its first run imports, then the warm-up
SERVER_MODULES = ["harness.targets.data_designer_release", "harness.targets.data_designer_preload",
                  "harness.forkserver_init"]


def run_group_on_release(target: Any, scenario_json: str, indices: list[int], workdir: str) -> None:
    """A child's side of a group on this environment's release (`target` is this release's
    DataDesigner target): the group as any child runs it, then, where it ran the chain's
    last segment to its end, the final dataset as this release reads it."""
    scenario = Scenario.from_json(scenario_json)
    base = Path(workdir)
    (base / FINAL_READ).unlink(missing_ok=True)
    run_group_in_child(target, scenario_json, indices, workdir)
    last = len(scenario.segments) - 1
    if indices[-1] != last:
        return
    ends = [e for e in Journal(base / "journal.jsonl").events() if e["event"] == "segment_end" and e["segment"] == last]
    if ends and ends[-1]["how"] == "completed":
        _read_back(target, scenario, base)


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
    """The final read of a chain's dataset by the release of its last segment did not happen."""


def _read_back(target: Any, scenario: Scenario, workdir: Path) -> None:
    """The final dataset as this release reads it (`FINAL_READ`), for the search's process."""
    from harness.seed_values import plain

    try:
        rows, layout = target.load(scenario, workdir)
        read: dict[str, Any] = {"rows": [{k: plain(v) for k, v in r.items()} for r in rows], "layout": layout}
    except Exception as exc:  # noqa: BLE001 - the release's read failing is what the search's process reports
        read = {"error": (type(exc).__name__, str(exc))}
    (workdir / FINAL_READ).write_bytes(pickle.dumps(read))


def main(argv: list[str]) -> int:
    from harness.targets.data_designer import DataDesignerTarget

    if argv == ["--facts"]:
        print(json.dumps(dict(DataDesignerTarget().reader_facts())))
        return 0
    print("usage: python -m harness.targets.data_designer_release --facts", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
