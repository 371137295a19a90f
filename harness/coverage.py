"""What a search exercised: a record, per dimension, of what was drawn, which faults fired
and which anomalies were seen (new or explained by the ledger).

A search that never drew a `kill` at a write point, or never extended, says "no finding"
just as one that did; the coverage table says which it was. `hunt` prints it after every
search (`--stats json` prints it as JSON and writes `coverage.json` into `--out`), and the
pytest plugin prints the conformance suite's, merged over its cases and xdist workers.

Dimensions: engine, source, sampling, selection, seed columns (how many typed seed columns,
`harness.seed_values`) and column type, interruptions (0-3 per scenario),
extensions, resume (mode of each resumed segment), process (where each resume ran),
fault drawn and fault fired (`action@point`), run stopped (the provider's interruptions after
which the target stopped its run itself: DataDesigner's early shutdown), change (kinds drawn),
model columns (how many LLM text columns, `harness.model_columns`) and provider fault (`kind`
or `kind!` for a permanent one, per row faulted). A value a target
declares (`Capabilities`) that no example drew, and a fault action declared but never
fired, are called out in one line (`unexercised`).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from harness.ledger import extensions
from harness.scenario import Scenario, selection_kind

DIMENSIONS = ("engine", "source", "sampling", "selection", "seed columns", "column type", "interruptions",
              "extensions", "resume", "process", "fault drawn", "fault fired", "run stopped", "change",
              "model columns", "provider fault", "installation")


@dataclass
class Coverage:
    examples: int = 0
    drawn: dict[str, Counter] = field(default_factory=lambda: {d: Counter() for d in DIMENSIONS})
    #: anomaly kind -> examples that showed it and were not explained by the ledger
    anomalies: Counter = field(default_factory=Counter)
    #: anomaly kind -> examples that showed it and a ledger entry explained
    known: Counter = field(default_factory=Counter)

    def record(self, scenario: Scenario, fired: tuple[tuple[int, str], ...] | list[tuple[int, str]] = (),
               kinds: tuple[str, ...] = (), explained: bool = False, stopped: tuple[int, ...] = ()) -> None:
        """One example: the scenario drawn, the faults that fired (segment, description) and
        the anomaly kinds its verdict showed."""
        self.examples += 1
        d = self.drawn
        d["engine"][scenario.engine] += 1
        d["source"][scenario.source] += 1
        d["sampling"][scenario.sampling] += 1
        d["selection"][selection_kind(scenario.selection)] += 1
        d["seed columns"][str(len(scenario.columns))] += 1
        for column in scenario.columns:
            d["column type"][column.type] += 1
        d["interruptions"][str(scenario.interruptions)] += 1
        d["model columns"][str(len(scenario.model_columns))] += 1
        for provider_fault in scenario.provider_faults:
            d["provider fault"][provider_fault.kind + ("!" if provider_fault.permanent else "")] += 1
        d["extensions"][str(extensions(scenario))] += 1
        d["installation"]["fresh" if scenario.fresh_home else "used"] += 1
        for segment in scenario.segments[1:]:
            d["resume"][segment.resume] += 1
            d["process"][segment.process] += 1
        for segment in scenario.segments:
            if segment.fault is not None:
                d["fault drawn"][f"{segment.fault.action}@{segment.fault.at}"] += 1
            for change in segment.changes:
                d["change"][change.kind] += 1
        for index in dict.fromkeys(s for s, _ in fired):
            fault = scenario.segments[index].fault if index < len(scenario.segments) else None
            if fault is not None:
                d["fault fired"][f"{fault.action}@{fault.at}"] += 1
        for index in dict.fromkeys(stopped):
            fault = scenario.segments[index].fault if index < len(scenario.segments) else None
            if fault is not None:
                d["run stopped"][fault.action] += 1
        for kind in kinds:
            (self.known if explained else self.anomalies)[kind] += 1

    def merge(self, other: Coverage) -> None:
        self.examples += other.examples
        for dim in DIMENSIONS:
            self.drawn[dim].update(other.drawn.get(dim, Counter()))
        self.anomalies.update(other.anomalies)
        self.known.update(other.known)

    # ----- reading it ---------------------------------------------------------------------------
    def unexercised(self, caps: Any) -> list[str]:
        """Each value `caps` (a target's `Capabilities`, as narrowed for the search) declares
        that no example exercised."""
        d = self.drawn
        missing: list[str] = []
        for dim, declared in (("engine", caps.engines), ("source", caps.sources), ("sampling", caps.samplings),
                              ("selection", caps.selections), ("resume", caps.resume_modes),
                              ("process", caps.processes), ("change", caps.change_kinds),
                              ("column type", getattr(caps, "column_types", ()))):
            missing += [f"{dim} {v}" + (" (drawn only with --then)" if dim == "change" and v == "release"
                                        and not getattr(caps, "release_chain", ()) else "")
                        for v in declared if not d[dim][v]]
        missing += [f"{n} interruption{'s' if n > 1 else ''}" for n in range(1, caps.max_interruptions + 1)
                    if not d["interruptions"][str(n)]]
        if caps.extension and not any(n for k, n in d["extensions"].items() if k != "0"):
            missing.append("an extension")
        if getattr(caps, "draws_fresh_home", False) and not d["installation"]["fresh"]:
            missing.append("a fresh installation's first run")
        if getattr(caps, "model_columns", False) and not any(n for k, n in d["model columns"].items() if k != "0"):
            missing.append("a model column" + (" (drawn only with --model-columns)"
                                               if "model columns" in getattr(caps, "opt_in", ()) else ""))
        drawn_kinds = {k.rstrip("!") for k, n in d["provider fault"].items() if n}
        if getattr(caps, "draws_model_columns", False):
            missing += [f"provider fault {k}" for k in getattr(caps, "provider_faults", ()) if k not in drawn_kinds]
        fired_actions = {key.split("@")[0] for key, n in d["fault fired"].items() if n}
        drawn_actions = {key.split("@")[0] for key, n in d["fault drawn"].items() if n}
        missing += [f"fault {a} (" + (f"drawn only with --faults {a})" if f"fault {a}" in getattr(caps, "opt_in", ())
                                      else "never drawn)") for a in caps.fault_actions if a not in drawn_actions]
        missing += [f"fault {a} (drawn, never fired)" for a in caps.fault_actions
                    if a in drawn_actions and a not in fired_actions]
        fired_points = {key.split("@")[1] for key, n in d["fault fired"].items() if n}
        missing += [f"a fault at {p}" for p in caps.fault_points if p not in fired_points]
        return missing

    def lines(self, caps: Any = None) -> list[str]:
        """The table, one line per dimension, most frequent value first; then what the
        target declares that the search never exercised."""
        width = max(len(d) for d in (*DIMENSIONS, "anomalies (new)", "anomalies (known)"))
        out = [f"coverage of {self.examples} example{'s' if self.examples != 1 else ''}:"]

        def row(name: str, counts: Counter) -> None:
            text = ", ".join(f"{k} {n}" for k, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if n)
            out.append(f"  {name:<{width}}  {text or '-'}")

        for dim in DIMENSIONS:
            row(dim, self.drawn[dim])
        row("anomalies (new)", self.anomalies)
        row("anomalies (known)", self.known)
        if caps is not None:
            missing = self.unexercised(caps)
            out.append("  never exercised: " + "; ".join(missing) if missing
                       else "  every dimension the target declares was exercised")
        return out

    def to_dict(self, caps: Any = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "examples": self.examples,
            "drawn": {dim: dict(sorted(self.drawn[dim].items())) for dim in DIMENSIONS},
            "anomalies": dict(sorted(self.anomalies.items())),
            "known": dict(sorted(self.known.items())),
        }
        if caps is not None:
            data["unexercised"] = self.unexercised(caps)
        return data

    def to_json(self, caps: Any = None) -> str:
        return json.dumps(self.to_dict(caps), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Coverage:
        made = cls(examples=int(data.get("examples", 0)))
        for dim in DIMENSIONS:
            made.drawn[dim].update({k: int(v) for k, v in data.get("drawn", {}).get(dim, {}).items()})
        made.anomalies.update(data.get("anomalies", {}))
        made.known.update(data.get("known", {}))
        return made
