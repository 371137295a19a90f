"""The `Target` protocol: what the harness needs from a resumable pipeline.

A target runs a scenario's chain of segments in a work directory it owns, injecting each
segment's fault through the `FaultInjector` it is handed, and loads the final dataset.
`Target.run` does the chain: in process, or in a child process for `kill` faults (and for
every segment of a target that sets `isolate`), reaped under a hard timeout. What happened
comes back as an `Outcome`; the target never judges it (that is the checker's job).

To add a target, subclass `Target` and implement `run_segment` and `load`:

    class MyTarget(Target):
        name = "my_pipeline"
        capabilities = Capabilities(engines=("sync",), fault_actions=("raise",))

        def run_segment(self, scenario, index, workdir, injector, journal):
            ...  # run scenario.segments[index]; call injector.after_checkpoint(path)
                 # after each checkpoint and journal.append({"event": "checkpoint", ...})

        def load(self, scenario, workdir):
            return rows, layout
"""

from __future__ import annotations

import abc
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.faults import DEFAULT_SEGMENT_TIMEOUT, TIMEOUT_VARIABLE, FaultInjector, Interrupted, run_in_child
from harness.journal import Journal
from harness.scenario import FAULT_ACTIONS, FAULT_POINTS, SAMPLINGS, SOURCES, Scenario

SELECTION_KINDS = ("none", "index_range", "partition_block")


@dataclass(frozen=True)
class Capabilities:
    """What a target supports. Strategies draw only inside it; the checker never blames a
    target for a feature it does not claim."""

    engines: tuple[str, ...] = ("sync", "async")
    sources: tuple[str, ...] = SOURCES
    samplings: tuple[str, ...] = SAMPLINGS
    selections: tuple[str, ...] = SELECTION_KINDS
    fault_actions: tuple[str, ...] = FAULT_ACTIONS
    fault_points: tuple[str, ...] = FAULT_POINTS
    resume_modes: tuple[str, ...] = ("always", "if_possible")
    extension: bool = True
    max_interruptions: int = 3
    #: False when SHUFFLE draws a fresh unseeded permutation each run (DataDesigner's
    #: DuckDB `ORDER BY RANDOM()`): a shuffle bug then shows only on some runs, so each
    #: shuffle scenario is tried several times.
    repeatable_shuffle: bool = True

    def unsupported(self, scenario: Scenario) -> str | None:
        """Why this target cannot run `scenario`, or None when it can."""
        sel = "none" if scenario.selection is None else type(scenario.selection).__name__
        sel = {"IndexRange": "index_range", "PartitionBlock": "partition_block"}.get(sel, sel)
        checks = [
            ("engine", scenario.engine, self.engines),
            ("source", scenario.source, self.sources),
            ("sampling", scenario.sampling, self.samplings),
            ("selection", sel, self.selections),
        ]
        for seg in scenario.segments[1:]:
            checks.append(("resume mode", seg.resume, self.resume_modes))
        for seg in scenario.segments:
            if seg.fault is not None:
                checks.append(("fault action", seg.fault.action, self.fault_actions))
                checks.append(("fault point", seg.fault.at, self.fault_points))
        for what, value, allowed in checks:
            if value not in allowed:
                return f"{what} '{value}' is not supported (supported: {', '.join(allowed)})"
        if not self.extension and len({s.num_records for s in scenario.segments}) > 1:
            return "extension (a larger num_records on resume) is not supported"
        if scenario.interruptions > self.max_interruptions:
            return f"more than {self.max_interruptions} interruptions are not supported"
        return None

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class CheckpointEvent:
    segment: int
    ordinal: int
    group: int
    rows: int
    seed_ids: tuple[int, ...]


@dataclass
class Outcome:
    """What one run of a scenario's chain produced, as data."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    #: (group id, row count) of the final dataset, in load order
    layout: list[tuple[int, int]] = field(default_factory=list)
    checkpoints: list[CheckpointEvent] = field(default_factory=list)
    #: (segment index, fault description) for each fault that fired
    faults_fired: list[tuple[int, str]] = field(default_factory=list)
    error: str | None = None
    error_segment: int | None = None
    hang: bool = False
    load_error: str | None = None
    #: seconds spent inside the target's own code (`run_segment` and `load`), in this
    #: process and in the children segments ran in; the rest of a trial's time is the
    #: harness's (a segment SIGKILLed by its fault counts up to the kill)
    target_seconds: float = 0.0


class Target(abc.ABC):
    name: str = "target"
    version: str = "unknown"
    capabilities: Capabilities = Capabilities()
    #: run every segment in a child process (not only those with a kill fault)
    isolate: bool = False
    #: run every segment that carries a fault in a child process: for a target whose work
    #: goes on in the background after an in-process interruption (DataDesigner's async
    #: engine), only the end of a process stops it, as a crash would
    interrupt_in_child: bool = False
    segment_timeout: float = DEFAULT_SEGMENT_TIMEOUT
    #: seconds spent inside this target's own code over every `run` so far
    spent: float = 0.0

    @abc.abstractmethod
    def run_segment(
        self, scenario: Scenario, index: int, workdir: Path, injector: FaultInjector, journal: Journal
    ) -> None:
        """Run `scenario.segments[index]` against the dataset in `workdir`."""

    @abc.abstractmethod
    def load(self, scenario: Scenario, workdir: Path) -> tuple[list[dict[str, Any]], list[tuple[int, int]]]:
        """The final dataset's rows (comparable columns) and its layout."""

    def describe(self) -> str:
        return f"{self.name} {self.version}"

    def run(self, scenario: Scenario, workdir: Path) -> Outcome:
        workdir.mkdir(parents=True, exist_ok=True)
        journal = Journal(workdir / "journal.jsonl")
        outcome = Outcome()
        for index, segment in enumerate(scenario.segments):
            in_child = self.isolate or (segment.fault is not None
                                        and (segment.fault.action == "kill" or self.interrupt_in_child))
            if in_child:
                problem = self._run_child(scenario, index, workdir, journal)
            else:
                started = time.perf_counter()
                problem = self._run_in_process(scenario, index, workdir, journal)
                outcome.target_seconds += time.perf_counter() - started
            if problem is not None:
                outcome.error, outcome.error_segment = problem, index
                outcome.hang = problem.startswith("hang:")
                break
        _collect_journal(journal, outcome)
        if outcome.error is None:
            started = time.perf_counter()
            try:
                outcome.rows, outcome.layout = self.load(scenario, workdir)
            except Exception as exc:  # noqa: BLE001 - a load failure is a finding, not a crash
                outcome.load_error = f"{type(exc).__name__}: {exc}"
            outcome.target_seconds += time.perf_counter() - started
        self.spent += outcome.target_seconds
        return outcome

    def _run_in_process(self, scenario: Scenario, index: int, workdir: Path, journal: Journal) -> str | None:
        injector = FaultInjector(scenario.segments[index].fault, journal, index, in_child=False)
        try:
            self.run_segment(scenario, index, workdir, injector, journal)
        except Interrupted:
            return None
        except Exception as exc:  # noqa: BLE001 - reported as an `error` anomaly
            return f"{type(exc).__name__}: {exc}"
        return None

    def _run_child(self, scenario: Scenario, index: int, workdir: Path, journal: Journal) -> str | None:
        result = run_in_child(
            _segment_in_child,
            (self, scenario.to_json(), index, str(workdir)),
            workdir / f"segment-{index}.error",
            timeout=self.segment_timeout,
        )
        if result.timed_out:
            return (f"hang: segment {index} did not finish within {self.segment_timeout:g}s; it was killed "
                    f"(set {TIMEOUT_VARIABLE} to allow longer)")
        if result.error:
            return result.error.strip().splitlines()[-1]
        fired = any(e.get("event") == "fault" and e["segment"] == index for e in journal.events())
        if result.killed and fired:
            return None
        if result.exitcode != 0:
            return f"segment {index} child died unexpectedly (exit code {result.exitcode})"
        return None


def _segment_in_child(target: Target, scenario_json: str, index: int, workdir: str) -> None:
    """The child's side of `Target._run_child`: the target arrives pickled."""
    scenario = Scenario.from_json(scenario_json)
    journal = Journal(Path(workdir) / "journal.jsonl")
    injector = FaultInjector(scenario.segments[index].fault, journal, index, in_child=True)
    try:
        target.run_segment(scenario, index, Path(workdir), injector, journal)
    except Interrupted:
        pass
    finally:
        # What the parent counts as the target's time (a kill's `fault` event carries its own).
        journal.append({"event": "segment_seconds", "segment": index,
                        "seconds": time.perf_counter() - injector.started})


def _collect_journal(journal: Journal, outcome: Outcome) -> None:
    for event in journal.events():
        if event["event"] == "checkpoint":
            outcome.checkpoints.append(
                CheckpointEvent(event["segment"], event["ordinal"], event["group"], event["rows"],
                                tuple(event["seed_ids"]))
            )
        elif event["event"] == "fault":
            outcome.faults_fired.append((event["segment"], event["fault"]))
            outcome.target_seconds += event.get("seconds", 0.0)
        elif event["event"] == "segment_seconds":
            outcome.target_seconds += event["seconds"]


__all__ = ["Capabilities", "CheckpointEvent", "FAULT_ACTIONS", "FAULT_POINTS", "Outcome", "Target"]
