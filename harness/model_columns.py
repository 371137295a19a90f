"""Model-backed columns, as data: what a scenario's LLM text columns ask the model, what the
model answers, and the provider faults a scenario plans (addressed by seed row).

A `ModelColumn` renders one prompt per record, `[row <seed_id>] <column>: <instruction> <name>`:
the prompt carries its seed row (`ROW_MARK`), so the local provider (`harness.provider`)
can fault a row's requests whichever process, engine or interleaving sends them, and the
requests can be counted per row. The answer is a function of the prompt alone (`answer`),
so an uninterrupted run and a resumed one get the same text for the same record.

Pure data and functions: the server lives in `harness.provider`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

#: how a model column's prompt names its seed row
ROW_MARK = re.compile(r"\[row (\d+)\]")
#: the model name a target configures (the provider answers any)
MODEL_NAME = "harness-echo"


@dataclass(frozen=True)
class ModelColumn:
    """An LLM text column: `prompt` = `[row {{ seed_id }}] <column>: <instruction> {{ name }}`
    (the column's own name in it: two columns never send the same prompt)."""

    name: str
    instruction: str

    @property
    def template(self) -> str:
        """The prompt as a Jinja template over the seed columns (DataDesigner's syntax)."""
        return f"[row {{{{ seed_id }}}}] {self.name}: {self.instruction} {{{{ name }}}}"

    def prompt(self, record: dict[str, Any]) -> str:
        return f"[row {record['seed_id']}] {self.name}: {self.instruction} {record['name']}"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "instruction": self.instruction}


@dataclass(frozen=True)
class ProviderFaultKind:
    name: str
    #: what a user would call it
    describe: str
    #: whether a client may try it again; one that may not (an HTTP 400 says the request
    #: itself is wrong) is only ever planned permanent: once would drop whichever record of
    #: the row asked first, which no two runs agree on
    temporary: bool


#: what the provider can answer instead of a completion, one entry each
PROVIDER_FAULT_KINDS: dict[str, ProviderFaultKind] = {k.name: k for k in (
    ProviderFaultKind("http500", "HTTP 500", temporary=True),
    ProviderFaultKind("http429", "HTTP 429 with Retry-After: 0", temporary=True),
    ProviderFaultKind("http400", "HTTP 400", temporary=False),
    ProviderFaultKind("reset", "the connection reset without an answer", temporary=True),
    ProviderFaultKind("slow", "an answer slower than the client's timeout", temporary=True),
    ProviderFaultKind("malformed", "HTTP 200 with a body that is not JSON", temporary=True),
)}


@dataclass(frozen=True)
class ProviderFault:
    """Requests for seed row `seed_id` answered with `kind`: every one (`permanent`: the
    row's records never get their text, in any run), or in each segment the first request
    for each of the row's prompts (transient: whichever record asks first, and whatever
    the interleaving, each record ends with its text, at the cost of one retry)."""

    seed_id: int
    kind: str
    permanent: bool = False

    def describe(self) -> str:
        how = "every request" if self.permanent else "the first request of each segment"
        return f"row {self.seed_id}: {PROVIDER_FAULT_KINDS[self.kind].describe}, {how}"

    def to_dict(self) -> dict[str, Any]:
        return {"seed_id": self.seed_id, "kind": self.kind, "permanent": self.permanent}


def answer(prompt: str) -> str:
    """The completion for `prompt`: a function of the prompt alone."""
    digest = hashlib.sha256(prompt.encode()).hexdigest()[:8]
    return f"{digest}: {' '.join(prompt.split())[:40]}"


def row_of(prompt: str) -> int | None:
    """The seed row a prompt carries; None for a request that is not a model column's."""
    found = ROW_MARK.search(prompt)
    return int(found.group(1)) if found else None


def dropped_rows(faults: tuple[ProviderFault, ...]) -> set[int]:
    """The seed rows whose records never get their text (a permanent fault, any kind): no
    run, interrupted or not, can keep them."""
    return {f.seed_id for f in faults if f.permanent}


__all__ = ["MODEL_NAME", "ModelColumn", "PROVIDER_FAULT_KINDS", "ProviderFault", "answer", "dropped_rows", "row_of"]
