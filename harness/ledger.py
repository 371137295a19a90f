"""The findings ledger: what the harness found on real releases, kept as data.

Each `fixtures/findings/<id>.json` holds the shrunk scenario, the target, the releases it
fails on (and those checked where it passes), the anomalies, a *signature* (the scenario
fields under which the bug shows, e.g. `{"source": ["directory"]}`), and an explanation
from reading the target's code. The integration tests replay every entry on every release
it names, so a fix (or a regression) shows up as a change.

The conformance suite (`pytest --pyargs harness.suite`) marks failures explained by an
entry that is still open (no newer release passes it) as expected failures, each named;
a finding fixed upstream stays a failure, so a fork learns it should take the fix.

A search can be told which failures are already known (`hunt --known DIR`): a failing
scenario that matches a ledger entry for this target and release (same signature, an
anomaly in common) is counted as known and the search goes on. This does not narrow what
is drawn; it only stops a known bug from hiding the next one.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.checker import Verdict
from harness.errors import HarnessUsageError
from harness.names import checked_name
from harness.scenario import Scenario

SIGNATURE_FIELDS = ("source", "sampling", "engine", "min_extensions", "changes", "seed_values")


def large_nullable_ints(scenario: Scenario) -> bool:
    """An int seed column that holds a null and an int a double cannot hold exactly."""
    for k, column in enumerate(scenario.columns):
        values = [row.values[k] for row in scenario.seeds]
        if column.type == "int" and None in values and any(v is not None and abs(v) > 2**53 for v in values):
            return True
    return False


#: `signature.seed_values`: what the seed values must hold for the entry to apply
SEED_VALUE_SIGNATURES = {"large_nullable_ints": large_nullable_ints}


def extensions(scenario: Scenario) -> int:
    """How many resumes asked for more records than the segment before."""
    sizes = [s.num_records for s in scenario.segments]
    return sum(1 for before, after in zip(sizes, sizes[1:]) if after > before)


@dataclass(frozen=True)
class Finding:
    id: str
    title: str
    target: str
    fails_on: tuple[str, ...]
    passes_on: tuple[str, ...]
    anomalies: tuple[str, ...]
    signature: dict[str, tuple[str, ...]]
    explanation: str
    scenario: Scenario
    path: Path

    @property
    def fixed_upstream(self) -> bool:
        """True when a release newer than every failing one passes: the bug was fixed."""
        newest_failing = max(_version(v) for v in self.fails_on)
        return any(_version(v) > newest_failing for v in self.passes_on)

    def explains(self, target_name: str, target_version: str, scenario: Scenario, verdict: Verdict) -> bool:
        if target_name != self.target or target_version not in self.fails_on:
            return False
        for key, allowed in self.signature.items():
            if key == "min_extensions":
                if extensions(scenario) < int(allowed[0]):
                    return False
            elif key == "seed_values":
                if not any(SEED_VALUE_SIGNATURES[name](scenario) for name in allowed):
                    return False
            elif key == "changes":  # a change of one of these kinds before some resume
                if not {c.kind for seg in scenario.segments for c in seg.changes} & set(allowed):
                    return False
            elif getattr(scenario, key) not in allowed:
                return False
        return bool(set(verdict.kinds) & set(self.anomalies))


def explaining(ledger: list[Finding], target_name: str, target_version: str, scenario: Scenario,
               verdict: Verdict) -> str | None:
    """Which entries of `ledger` explain this failure ('+'-joined ids), or None: the entries
    whose target, release and signature match must between them name every anomaly kind the
    failure shows, so a known bug never hides a new kind of failure in the same scenario."""
    kinds = set(verdict.kinds)
    matching = [f for f in ledger if f.explains(target_name, target_version, scenario, verdict)]
    covered = set().union(*(set(f.anomalies) for f in matching)) if matching else set()
    if not matching or not kinds <= covered:
        return None
    needed = [f.id for f in matching if kinds & set(f.anomalies)]
    return "+".join(dict.fromkeys(needed))


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", text)[:3])


def packaged_ledger() -> Path:
    """The ledger shipped inside the package (fixtures/findings in a checkout links here)."""
    return Path(__file__).resolve().parent / "findings"


def load_finding(path: Path) -> Finding:
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        signature = {k: tuple(v) if isinstance(v, list) else (v,) for k, v in data.get("signature", {}).items()}
        unknown = set(signature) - set(SIGNATURE_FIELDS)
        if unknown:
            raise ValueError(f"signature fields {sorted(unknown)} are not among {SIGNATURE_FIELDS}")
        return Finding(
            id=checked_name(data["id"], "ledger id", "dd-ordered-resume-replays-seed-rows-sync"),
            title=data["title"], target=data["target"],
            fails_on=tuple(data["fails_on"]), passes_on=tuple(data.get("passes_on", ())),
            anomalies=tuple(data["anomalies"]), signature=signature, explanation=data["explanation"],
            scenario=Scenario.from_dict(data["scenario"]), path=path,
        )
    except (OSError, ValueError, KeyError, TypeError, RecursionError, HarnessUsageError) as exc:
        raise HarnessUsageError(f"ledger entry {path} is unusable: {exc}") from None


def load_ledger(directory: Path) -> list[Finding]:
    if not directory.is_dir():
        raise HarnessUsageError(f"no findings directory at {directory}")
    return [load_finding(path) for path in sorted(directory.glob("*.json"))]
