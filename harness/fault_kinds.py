"""The kinds of interruption, one entry each: how it is delivered, where it may run, what it
leaves of the process, how it is described and drawn.

A kind fires at an index-addressed point of a segment (`harness.faults.FaultInjector`):

| kind | what a user sees | delivered as |
|---|---|---|
| `raise` | a crash inside the run | `Interrupted` (a `BaseException`) raised at the point |
| `kill` | the process killed (OOM killer, `kill -9`, a lost machine) | SIGKILL to the segment's process |
| `tear` | a power cut after an un-fsynced rename | the checkpoint file truncated, then `Interrupted` |
| `sigint` | Ctrl-C in a terminal, "interrupt kernel" in Jupyter | SIGINT to the segment's process |
| `sigterm` | preemption by a scheduler (Kubernetes, Slurm, spot instances) | SIGTERM to the segment's process |
| `outage` | the model provider goes down (an incident) | every provider request fails until the segment ends |
| `revoked` | the API key revoked, expired or out of quota | every provider request refused (HTTP 401) until the segment ends |

Signals are real: the process running the segment sends the signal to itself, and the
target's code sees whatever that signal produces there. The harness installs no handler
of its own in that process: Python's SIGINT handler raises `KeyboardInterrupt` in the main
thread at its next bytecode (wherever the main thread is, not in the checkpoint callback
when that runs on another thread), and SIGTERM keeps its default disposition (the process
ends) unless the target installs a handler. A signal is sent only in a child process,
never in the harness's own.

An `outage` does not stop the segment: the target goes on with a provider that fails every
request, and does whatever it does with the rows it cannot get (DataDesigner drops them and
returns a short dataset, "successfully": what users then resume). The next segment finds the
provider healthy. It needs model columns (`harness.model_columns`).

A `revoked` key is an outage a client cannot wait out: every request is refused with HTTP
401, which no client tries again. It is not the rows' fault (the next segment, with the key
renewed, gets their answers), so a resume-correct run asks for them again. DataDesigner
counts such failures towards its early shutdown (on by default: at half the last 10 outcomes
failed it stops the run); the DataDesigner target runs a segment that meets this kind with
early shutdown on, as a user's run has it, where the rows have no provider faults of their
own (`harness.targets.data_designer.early_shutdown_in`). A run the target stops itself so
(returning short, or raising) was interrupted, not broken (`Target.stopped_by_provider`).

A new kind is one entry here (and its firing function) plus its test.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class Interrupted(BaseException):
    """An in-process fault: the segment stops here, as if the process had been stopped.

    Not an `Exception`, because DataDesigner's async engine logs and swallows ordinary
    exceptions raised from the checkpoint callback; not `KeyboardInterrupt`/`SystemExit`,
    which can stop an event loop."""


@dataclass(frozen=True)
class FaultKind:
    name: str
    #: the words for "<verb> after checkpoint 2"
    verb: str
    #: it must run in a child process, never in the harness's own
    in_child: bool
    #: the process that ran the segment is gone afterwards (no same-process resume after it)
    ends_process: bool
    #: the fault points it may be addressed at
    points: tuple[str, ...]
    #: how often strategies draw it against `raise`'s 6 (the cheap kind more often)
    weight: int
    #: the signal it sends, if it is one: whatever exception the target lets it surface as
    #: (KeyboardInterrupt, SystemExit from a handler, a wrapper of either) is the interruption
    signum: int | None
    #: what the segment's code is handed when it fires: see `fire`
    deliver: Callable[[Any], None]
    #: it interrupts the model provider, not the segment's process (the scenario needs model columns)
    needs_provider: bool = False
    #: how often strategies draw it in a config with model columns, against `raise`'s 6
    provider_weight: int = 6

    def fire(self, injector: Any) -> None:
        self.deliver(injector)


def _raise(injector: Any) -> None:
    raise Interrupted(injector.fault.describe())


def _kill(injector: Any) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _tear(injector: Any) -> None:
    path = injector.last_checkpoint
    if path is not None:
        os.truncate(path, os.path.getsize(path) // 2)
    raise Interrupted(injector.fault.describe())


def _outage(injector: Any) -> None:
    from harness.provider import tell

    tell(injector.provider_endpoint, "outage")


def _revoked(injector: Any) -> None:
    from harness.provider import tell

    tell(injector.provider_endpoint, "outage", kind="revoked")


def _signal(signum: int) -> Callable[[Any], None]:
    def deliver(injector: Any) -> None:
        # In the main thread Python runs its handler right after this call returns (SIGINT:
        # KeyboardInterrupt here); on another thread the segment goes on until the main thread
        # notices, as with a real Ctrl-C. Default SIGTERM ends the process here.
        os.kill(os.getpid(), signum)

    return deliver


KINDS: dict[str, FaultKind] = {
    kind.name: kind
    for kind in (
        FaultKind("raise", "raise", in_child=False, ends_process=False,
                  points=("checkpoint", "row", "write"), weight=6, signum=None, deliver=_raise),
        FaultKind("kill", "SIGKILL", in_child=True, ends_process=True,
                  points=("checkpoint", "row", "write"), weight=1, signum=signal.SIGKILL, deliver=_kill),
        FaultKind("tear", "tear", in_child=False, ends_process=False,
                  points=("checkpoint",), weight=1, signum=None, deliver=_tear),
        FaultKind("sigint", "SIGINT", in_child=True, ends_process=False,
                  points=("checkpoint", "row", "write"), weight=1, signum=signal.SIGINT,
                  deliver=_signal(signal.SIGINT)),
        FaultKind("sigterm", "SIGTERM", in_child=True, ends_process=True,
                  points=("checkpoint", "row", "write"), weight=1, signum=signal.SIGTERM,
                  deliver=_signal(signal.SIGTERM)),
        FaultKind("outage", "provider outage", in_child=False, ends_process=False,
                  points=("checkpoint", "row"), weight=2, signum=None, deliver=_outage, needs_provider=True),
        FaultKind("revoked", "API key revoked", in_child=False, ends_process=False,
                  points=("checkpoint", "row"), weight=1, signum=None, deliver=_revoked, needs_provider=True,
                  provider_weight=3),
    )
}
FAULT_ACTIONS = tuple(KINDS)
