"""Holding each known bug's model to the release it stands for.

For every open ledger entry of a target and release, scenarios are drawn *within the
entry's signature* (its source, sampling, changes, extensions or seed values; free
otherwise), each is run on the release and on the composition of the release's open
entries' models (`harness.ledger.KnownBugs`), and the model *agrees* when it reproduces
what the release did, failing or not: the same rows, row for row, in the resumed and the
straight run, and the same anomalies (or, for an unseeded shuffle, rows that fit the
model's permutations). `resume-harness models` reports, per entry, how many scenarios were
drawn, how many failed on the release, and how many the model agreed on, with the first
disagreement as a scenario to replay.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from harness.changes import NEUTRAL
from harness.exits import raise_pending_stop
from harness.fault_kinds import KINDS
from harness.ledger import SEED_VALUE_SIGNATURES, Finding, KnownBugs
from harness.property import _no_local_constants, check_scenario
from harness.scenario import Scenario
from harness.strategies import scenarios
from harness.targets.base import Capabilities, Target


@dataclass
class Agreement:
    entry: str
    drawn: int = 0
    failed: int = 0
    agreed: int = 0
    #: scenarios on which the model and the release disagreed (first few), as JSON
    disagreements: list[str] = field(default_factory=list)
    #: what the release's run gave on each of those (its verdict's first line)
    release_gave: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.agreed / self.drawn if self.drawn else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"entry": self.entry, "drawn": self.drawn, "failed_on_release": self.failed, "agreed": self.agreed,
                "disagreements": self.disagreements, "release_gave": self.release_gave}


def signature_capabilities(finding: Finding, caps: Capabilities) -> Capabilities:
    """`caps` narrowed to what the entry's signature names (what a filter cannot reach)."""
    narrowing: dict[str, Any] = {}
    for key, allowed in finding.signature.items():
        if key == "source":
            narrowing["sources"] = tuple(s for s in caps.sources if s in allowed)
        elif key == "sampling":
            narrowing["samplings"] = tuple(s for s in caps.samplings if s in allowed)
        elif key == "changes":  # and the changes that touch neither inputs nor config (fewer records),
            # which a bug of a config change may need beside it: a fresh run that makes fewer files
            # than the one whose directory it shares (dd-fresh-runs-of-one-second-share-a-directory)
            narrowing["change_kinds"] = tuple(k for k in caps.change_kinds if k in allowed or k in NEUTRAL)
        elif key == "faults":
            narrowing["fault_actions"] = tuple(a for a in caps.fault_actions if a in allowed)
            if any(KINDS[a].needs_provider for a in allowed):  # drawn with model columns, asked for or not
                narrowing["opt_in"] = tuple(d for d in caps.opt_in if d != "model columns")
        elif key == "provider_faults":  # drawn with model columns, and only these kinds
            narrowing["provider_faults"] = tuple(k for k in caps.provider_faults if k in allowed)
            narrowing["opt_in"] = tuple(d for d in caps.opt_in if d != "model columns")
        elif key == "resume_modes":  # every resume of these modes: a bug of a mode's repeated
            # fresh starts needs two of them in a row (dd-fresh-runs-of-one-second-share-a-directory)
            narrowing["resume_modes"] = tuple(m for m in caps.resume_modes if m in allowed)
        elif key == "min_extensions":
            narrowing["extension"] = True
        elif key == "fresh_home":  # drawn, asked for or not
            narrowing["opt_in"] = tuple(d for d in caps.opt_in if d != "fresh home")
        elif key == "seed_values":  # columns of the types its kinds are of
            narrowing["column_types"] = tuple(dict.fromkeys(SEED_VALUE_SIGNATURES[name].column_type
                                                            for name in allowed))
    return dataclasses.replace(caps, **narrowing)


def within_signature(finding: Finding, caps: Capabilities) -> st.SearchStrategy[Scenario]:
    strategy = scenarios(signature_capabilities(finding, caps))
    for name in finding.signature.get("seed_values", ()):
        strategy = strategy.map(SEED_VALUE_SIGNATURES[name].given)
    return strategy.filter(finding.in_signature)


#: Hypothesis's budget for `drawn` up to 50 scenarios an entry
DRAW_BUDGET = 100


def drawn(finding: Finding, caps: Capabilities, examples: int, seed: int) -> list[Scenario]:
    """`examples` distinct scenarios within the entry's signature that the target can run,
    the same ones for the same seed (drawn from twice as many: Hypothesis repeats some), and
    the first `examples` of any larger number's: Hypothesis's budget (`max_examples`) changes
    what it draws, so it is the same for every number up to `DRAW_BUDGET` (`-n 30` was not
    the first 30 of `-n 50`)."""
    found: list[Scenario] = []

    @settings(max_examples=max(2 * examples, DRAW_BUDGET), database=None, deadline=None, derandomize=False,
              verbosity=Verbosity.quiet, suppress_health_check=list(HealthCheck), phases=(Phase.generate,))
    @hypothesis_seed(seed)
    @given(within_signature(finding, caps))
    def collect(scenario: Scenario) -> None:
        if len(found) >= examples:
            raise _Enough  # the draws so far are those of the fixed budget: stop drawing
        if scenario not in found and caps.unsupported(scenario) is None:
            found.append(scenario)

    with _no_local_constants():
        try:
            collect()
        except _Enough:
            pass
    return found[:examples]


class _Enough(Exception):
    """Raised once `drawn` has its scenarios (Hypothesis would draw its whole budget)."""


def needs_release_chain(finding: Finding) -> bool:
    """Whether the entry's signature needs a chain over two releases (a `release` change)."""
    return "release" in finding.signature.get("changes", ())


def check_models(ledger: list[Finding], target: Target, examples: int = 50, seed: int = 0,
                 root: Path | None = None, on_scenario: Any = None, only: list[str] | None = None,
                 caps: Capabilities | None = None) -> list[Agreement]:
    """Each open entry of `target`'s release (those named in `only`, where given), its model
    held to the release on `examples` scenarios drawn within its signature. An entry whose
    signature needs a chain over two releases (a `release` change) is held where the target
    draws such chains (`caps`, default the target's: `Capabilities.release_chain`, `models
    --then` as `hunt --then`) and skipped elsewhere: its own scenario is replayed on every
    release it names, as every entry's is."""
    caps = caps if caps is not None else target.capabilities
    known = KnownBugs(ledger, target, root)
    results = []
    for finding in known.entries:
        if only is not None and finding.id not in only:
            continue
        if needs_release_chain(finding) and not caps.release_chain:
            continue
        agreement = Agreement(finding.id)
        for scenario in drawn(finding, caps, examples, seed):
            raise_pending_stop()
            if caps.unsupported(scenario) is not None:
                continue
            verdict = check_scenario(target, scenario, root)
            agreement.drawn += 1
            agreement.failed += not verdict.ok
            if known.agrees(scenario, verdict):
                agreement.agreed += 1
            elif len(agreement.disagreements) < 3:
                agreement.disagreements.append(scenario.to_json())
                agreement.release_gave.append(" ".join(verdict.summary().split())[:600])
            if on_scenario is not None:
                on_scenario(finding.id, agreement)
        results.append(agreement)
    return results
