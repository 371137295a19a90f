"""The table of what each DataDesigner release does when something changed between an
interruption and its resume, measured by running the harness (README, "I changed something
and resumed: what happens").

    python -m harness.change_table 0.6.0 0.6.1 0.9.7

For every change kind one canonical chain runs on each release, in that release's
environment: four seed rows in a CSV file, buffer_size 1, the async engine (every release
has it), ORDERED, interrupted after its second checkpoint, then resumed with
`ResumeMode.ALWAYS` after the change. Each cell is the verdict of the resume-or-refuse
tier: `refuses` (the resume raised; its message is kept), `correct` (the rows of an
uninterrupted run of the changed inputs) or the anomalies (`mixed` first). The release rows
run the same chain with the resume on another release (`release` change).
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from harness.changes import CHANGE_KINDS, Change
from harness.scenario import Fault, Scenario, SeedRow, Segment

NAMES = ("alpha", "beta", "gamma", "delta")
#: the change each row of the table makes (release rows are added per pair of releases)
CANONICAL = {
    "edit_row": Change("edit_row", index=0, text="omega"),
    "append_rows": Change("append_rows", value=1),
    "remove_row": Change("remove_row", index=0),
    "reorder_rows": Change("reorder_rows", value=1),
    "expression": Change("expression", text="!"),
    "add_column": Change("add_column", text="x"),
    "buffer_size": Change("buffer_size", value=2),
    "selection": Change("selection", index=0, value=2),
    "fewer_records": Change("fewer_records"),
}


def canonical(change: Change) -> Scenario:
    records = 1 if change.kind == "fewer_records" else 4
    return Scenario(seeds=tuple(SeedRow(i, n) for i, n in enumerate(NAMES)), source="csv", engine="async",
                    segments=(Segment(4, fault=Fault("raise", "checkpoint", 2)),
                              Segment(records, "always", changes=(change,))))


def verdict_word(verdict: Any) -> str:
    if verdict.ok and verdict.refusal:
        return "refuses"
    if verdict.ok:
        return "correct"
    return " + ".join(verdict.kinds)


def inside(changes: list[Change]) -> dict[str, dict[str, str]]:
    """In a release's environment: each chain's verdict (and the refusal's message)."""
    from harness.property import check_scenario
    from harness.targets.registry import get_target

    target = get_target("data_designer:async")
    out = {}
    for change in changes:
        verdict = check_scenario(target, canonical(change))
        out[change.describe()] = {"word": verdict_word(verdict), "refusal": verdict.refusal[:300],
                                  "warned": "; ".join(verdict.warnings)[:300]}
    return out


def _run_inside(release: str, changes: list[Change]) -> dict[str, dict[str, str]]:
    from harness.environments import env_python

    payload = json.dumps([c.to_dict() for c in changes])
    result = subprocess.run([str(env_python(release)), "-m", "harness.change_table", "--inside", payload],
                            capture_output=True, text=True, timeout=1800)
    if result.returncode != 0:
        raise RuntimeError(f"{release}: {result.stderr.strip().splitlines()[-1:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv: list[str]) -> int:
    if argv[:1] == ["--inside"]:
        from harness.changes import change_from_dict

        changes = [change_from_dict(c, "change") for c in json.loads(argv[1])]
        print(json.dumps(inside(changes)))
        return 0
    releases = argv or ["0.6.0", "0.6.1", "0.9.7"]
    rows: dict[str, dict[str, str]] = {}
    notes: list[str] = []
    for release in releases:
        changes = list(CANONICAL.values()) + [Change("release", text=other) for other in releases if other != release]
        for kind, cell in _run_inside(release, changes).items():
            rows.setdefault(kind, {})[release] = cell["word"]
            if cell["refusal"] and release == releases[-1]:
                notes.append(f"{kind}: {cell['refusal']}")
    print("| change before the resume (ResumeMode.ALWAYS) | " + " | ".join(releases) + " |")
    print("|---|" + "---|" * len(releases))
    for kind, cells in rows.items():
        print(f"| {kind} | " + " | ".join(cells.get(r, "") for r in releases) + " |")
    if notes:
        print()
        for note in notes:
            print(f"- {note}")
    return 0


assert set(CANONICAL) | {"release"} == set(CHANGE_KINDS)

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
