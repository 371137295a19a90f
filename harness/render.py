"""Human-readable rendering of a `Verdict` with rich: the anomalies, then expected and
actual rows side by side with the divergence marked."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harness.changes import has_changes
from harness.checker import Row, Verdict
from harness.scenario import Scenario

CONTEXT_ROWS = 6


def _cell(row: Row | None) -> str:
    if row is None:
        return "-"
    label = row.get("line", row.get("name"))
    return f"{label} ({row.get('seed_id')})"


def render_verdict(console: Console, verdict: Verdict, scenario: Scenario) -> None:
    console.print(f"[bold]scenario[/]: {escape(scenario.describe())}")
    fired = ", ".join(f"segment {s}: {d}" for s, d in verdict.faults_fired) or "none"
    console.print(f"[bold]faults fired[/]: {escape(fired)}")
    if verdict.stopped:
        stopped = ", ".join(f"segment {s}" for s in verdict.stopped)
        console.print(f"[bold]runs the target stopped itself[/] (its provider failed them): {escape(stopped)}")
    if has_changes(scenario):
        warned = "; ".join(verdict.warnings) if verdict.warnings else "none (no Python warning, no log record at WARNING+)"
        console.print(f"[bold]the target's warnings[/]: {escape(warned)}", highlight=False)
    if verdict.ok:
        console.print(f"[green]{verdict.summary()}[/]")
        return
    for anomaly in verdict.anomalies:
        console.print(f"[red]{anomaly.kind}[/] ({anomaly.run} run): {escape(anomaly.detail)}", highlight=False)
        if anomaly.provenance:
            console.print(f"    {escape(anomaly.provenance)}", highlight=False)
    positions = [a.position for a in verdict.anomalies if a.position is not None]
    first = min(positions) if positions else 0
    length = max(len(verdict.expected), len(verdict.actual), len(verdict.straight))
    lo, hi = max(0, first - CONTEXT_ROWS), min(length, first + CONTEXT_ROWS + 1)
    flagged = {a.position for a in verdict.anomalies if a.position is not None}
    title = f"rows {lo}..{hi - 1} of {length} (name (seed_id))"
    if verdict.tier == "exactly-once":
        title += "; shuffle: 'expected' is one valid order, any permutation within a pass is right"
    table = Table(title=title, title_justify="left")
    for column in ("row", "expected", "resumed", "straight", ""):
        table.add_column(column)
    for i in range(lo, hi):
        exp = verdict.expected[i] if i < len(verdict.expected) else None
        act = verdict.actual[i] if i < len(verdict.actual) else None
        st = verdict.straight[i] if i < len(verdict.straight) else None
        differs = (act != exp or st != exp) if verdict.tier == "exact" else i in flagged
        style = "red" if differs else None
        table.add_row(str(i), _cell(exp), _cell(act), _cell(st), "<< differs" if differs else "", style=style)
    console.print(table)
