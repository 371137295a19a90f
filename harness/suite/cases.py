"""One conformance case per capability a target declares: the search is narrowed to that
capability (one engine, one source, one fault action, ...) and draws freely otherwise."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from harness.fault_kinds import KINDS
from harness.targets.base import Capabilities


@dataclass(frozen=True)
class Case:
    id: str
    narrowing: tuple[tuple[str, Any], ...]

    def narrow(self, caps: Capabilities) -> Capabilities:
        return dataclasses.replace(caps, **dict(self.narrowing))


def capability_cases(caps: Capabilities) -> list[Case]:
    cases = [Case(f"engine-{e}", (("engines", (e,)),)) for e in caps.engines]
    cases += [Case(f"sampling-{s}", (("samplings", (s,)),)) for s in caps.samplings]
    cases += [Case(f"source-{s}", (("sources", (s,)),)) for s in caps.sources]
    cases += [Case(f"selection-{s}", (("selections", (s,)),)) for s in caps.selections]
    # (a fault of the model provider's needs model columns, where the target draws them)
    cases += [Case(f"fault-{a}", (("fault_actions", (a,)),)) for a in caps.fault_actions
              if caps.draws_model_columns or not KINDS[a].needs_provider]
    cases += [Case(f"resume-{m}", (("resume_modes", (m,)),)) for m in caps.resume_modes]
    cases += [Case(f"process-{p}", (("processes", (p,)),)) for p in caps.processes]
    cases.append(Case("single-interruption", (("max_interruptions", 1),)))
    if caps.max_interruptions > 1:
        cases.append(Case("chained-interruptions", ()))
    cases.append(Case("same-num-records", (("extension", False),)))
    if caps.extension:
        cases.append(Case("extension", ()))
    return cases
