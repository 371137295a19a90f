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
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.chain import (
    STACK_SIGNAL,
    SegmentHung,
    hang_message,
    innermost,
    process_groups,
    record_snapshot,
    run_group_in_child,
    run_segment,
    settle,
    stall_message,
    watchdog,
)
from harness.fault_kinds import KINDS
from harness.faults import (
    DEFAULT_SEGMENT_TIMEOUT,
    DEFAULT_STALL_SECONDS,
    TIMEOUT_VARIABLE,
    FaultInjector,
    run_in_child,
)
from harness.journal import Journal
from harness.scenario import FAULT_ACTIONS, FAULT_POINTS, PROCESSES, SAMPLINGS, SOURCES, Scenario, selection_kind

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
    #: where a resumed segment may run: a fresh process, the same one as the segment before
    processes: tuple[str, ...] = PROCESSES
    extension: bool = True
    max_interruptions: int = 3
    #: False when SHUFFLE draws a fresh unseeded permutation each run (DataDesigner's
    #: DuckDB `ORDER BY RANDOM()`): a shuffle bug then shows only on some runs, so each
    #: shuffle scenario is tried several times.
    repeatable_shuffle: bool = True
    #: True when the async engine schedules its row groups itself (the scenario's
    #: completion_order does not decide which completes first): a known bug's model then
    #: completes them in the order the target's run checkpointed them
    own_scheduling: bool = False
    #: what a user may change before a resume (`harness.changes`); `release` needs `releases`.
    #: None by default: an adapter renders the inputs in force (`inputs_at`) to claim any
    change_kinds: tuple[str, ...] = ()
    #: the types of typed seed columns it carries through to its rows (`harness.seed_values`);
    #: none by default: a target whose rows hold every seed column opts in
    column_types: tuple[str, ...] = ()
    #: the other releases a segment may run on (a `release` change), for targets that have them
    releases: tuple[str, ...] = ()
    #: a chain across releases: resumed segment k (1-based) runs on release_chain[k-1] and on;
    #: every scenario drawn carries these `release` changes (`hunt --then`)
    release_chain: tuple[str, ...] = ()
    #: it renders LLM text columns against the harness's model provider (`harness.model_columns`)
    model_columns: bool = False
    #: dimensions it supports that a search draws only when asked: where a target's example
    #: costs seconds in them (`"model columns"`: `hunt --model-columns`), or a fault kind that
    #: matters to few targets and would change every other search's draws (`"fault revoked"`,
    #: DataDesigner's early shutdown: `hunt --faults revoked`)
    opt_in: tuple[str, ...] = ("fault revoked",)

    #: it can run a chain whose first run is a fresh installation's (`Scenario.fresh_home`);
    #: drawn where it is not `opt_in` ("fresh home")
    fresh_home: bool = False

    @property
    def draws_model_columns(self) -> bool:
        return self.model_columns and "model columns" not in self.opt_in

    @property
    def draws_fresh_home(self) -> bool:
        return self.fresh_home and "fresh home" not in self.opt_in
    #: the provider fault kinds it may meet (`harness.model_columns.PROVIDER_FAULT_KINDS`)
    provider_faults: tuple[str, ...] = ()

    def unsupported(self, scenario: Scenario) -> str | None:
        """Why this target cannot run `scenario`, or None when it can."""
        sel = selection_kind(scenario.selection)
        checks = [
            ("engine", scenario.engine, self.engines),
            ("source", scenario.source, self.sources),
            ("sampling", scenario.sampling, self.samplings),
            ("selection", sel, self.selections),
        ]
        for seg in scenario.segments[1:]:
            checks.append(("resume mode", seg.resume, self.resume_modes))
            checks.append(("resume process", seg.process, self.processes))
        for seg in scenario.segments:
            if seg.fault is not None:
                checks.append(("fault action", seg.fault.action, self.fault_actions))
                checks.append(("fault point", seg.fault.at, self.fault_points))
        for seg in scenario.segments:
            for change in seg.changes:
                checks.append(("change", change.kind, self.change_kinds))
                if change.kind == "release":
                    checks.append(("release", change.text, self.releases))
        for column in scenario.columns:
            checks.append(("seed column type", column.type, self.column_types))
        if scenario.model_columns:
            checks.append(("model columns", "model columns", ("model columns",) if self.model_columns else ()))
        for fault in scenario.provider_faults:
            checks.append(("provider fault", fault.kind, self.provider_faults))
        if scenario.fresh_home:
            checks.append(("first run on a fresh installation", "fresh_home", ("fresh_home",) if self.fresh_home else ()))
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
    #: checkpointed after its segment's call had ended (work the interruption did not stop)
    late: bool = False


@dataclass
class Outcome:
    """What one run of a scenario's chain produced, as data."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    #: (group id, row count) of the final dataset, in load order
    layout: list[tuple[int, int]] = field(default_factory=list)
    checkpoints: list[CheckpointEvent] = field(default_factory=list)
    #: (segment index, fault description) for each fault that fired
    faults_fired: list[tuple[int, str]] = field(default_factory=list)
    #: segments whose run the target stopped itself after its provider's interruption
    #: (`Target.stopped_by_provider`)
    stopped: list[int] = field(default_factory=list)
    error: str | None = None
    error_segment: int | None = None
    hang: bool = False
    load_error: str | None = None
    #: seconds spent inside the target's own code (`run_segment` and `load`), in this
    #: process and in the children segments ran in; the rest of a trial's time is the
    #: harness's (a segment SIGKILLed by its fault counts up to the kill)
    target_seconds: float = 0.0
    #: the trial journal, every event with its segment, monotonic time `t` and `pid`:
    #: segment starts and ends, checkpoints, faults, snapshots of the dataset directory
    events: list[dict[str, Any]] = field(default_factory=list)
    #: what the target warned about, segment by segment ("segment N: ..."): Python warnings
    #: and log records at WARNING or above, as the segment's run captured them
    warnings: list[str] = field(default_factory=list)
    #: every request the model provider received in this run (`harness.provider.Request`, as
    #: dicts: segment, prompt, row, answer, t), where the scenario has model columns
    requests: list[dict[str, Any]] = field(default_factory=list)


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
    #: seconds a child-run segment may go without working before it is a hang (`Stall`); 0: never
    stall_seconds: float = DEFAULT_STALL_SECONDS
    #: seconds spent inside this target's own code over every `run` so far
    spent: float = 0.0
    #: how long its model client waits for an answer (a `slow` provider fault outwaits it)
    provider_timeout: float = 0.05
    #: its model provider trials are answered without HTTP where a segment runs in this
    #: process (`harness.provider`, direct trials): the known bugs' models, not a target
    provider_direct: bool = False
    #: its straight run of a scenario is a function of the scenario where the scenario leaves
    #: nothing to chance (ORDERED, or SHUFFLE with a repeatable shuffle, and no model columns):
    #: a search may take the reference's rows for it (`harness.property.StraightRuns`)
    deterministic: bool = False
    #: its client's timeout is on a stalled body, not the whole answer (`harness.provider.Client`):
    #: the provider's `slow` answers begin at once and hold their body back
    provider_stall: bool = True

    def seed_value_as_read(self, scenario: Scenario, seed: Any, column: Any, value: Any) -> Any:
        """What this target's rows hold for typed seed value `value` of `column`
        (`harness.seed_values.SeedColumn`) of seed row `seed`, read from the source of
        `scenario` (the inputs in force; the whole table, for a reader whose types depend
        on every value of a column, as a CSV sniffer's do): a target whose reader
        legitimately converts values (a CSV has no types) declares the conversion here, and
        the differential check against the reference goes through it. The resumed run is
        compared with the straight run as it is, never through this. Default: as written."""
        return value

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

    def pending_work(self) -> bool:
        """Whether this target's own machinery in this process still has work it started (an
        engine's event loop with tasks left), asked after an interrupted segment: the harness
        waits while it has (bounded) before it looks at the dataset, so work that goes on after
        an interruption shows whatever the machine's load (`harness.chain.settle`). Default:
        nothing to ask, the dataset directory going quiet decides."""
        return False

    def stopped_by_provider(self, error: BaseException | None, warnings: list[str]) -> bool:
        """Whether a segment whose model provider was interrupted (an outage, a revoked key)
        stopped its run itself because of it (DataDesigner's early shutdown), as `error` (what
        it raised, if anything) or its `warnings` say. A segment that raised so was
        interrupted, not broken: the resume must finish the work; any other error stays an
        error. Counted in the coverage table (`run stopped`)."""
        return False

    def dataset_root(self, workdir: Path) -> Path:
        """Where the target keeps its datasets under a trial run's directory: what the
        quiescence check snapshots (the harness's own files, such as the journal, are not in it)."""
        return workdir / "artifacts"

    def in_child(self, scenario: Scenario, group: list[int]) -> bool:
        """Whether a group of segments runs in a child process: a same-process chain always,
        a lone segment when its fault needs a process (kill, signals), or the target asks."""
        if len(group) > 1 or self.isolate:
            return True
        fault = scenario.segments[group[0]].fault
        return fault is not None and (KINDS[fault.action].in_child or self.interrupt_in_child)

    def child_process(self, scenario: Scenario,
                      group: list[int]) -> tuple[Callable[..., None], str | None, list[str] | None]:
        """What runs a group of segments in a child: the function (called with the target,
        the scenario's JSON, the group and the trial directory), and the interpreter whose
        fork server forks the child with the modules it imports first (None: this one's)."""
        return run_group_in_child, None, None

    def run(self, scenario: Scenario, workdir: Path) -> Outcome:
        workdir.mkdir(parents=True, exist_ok=True)
        if not scenario.model_columns:
            return self._run(scenario, workdir)
        from harness import provider

        # one trial of the model provider this process runs, its endpoint in the trial
        # directory for every segment's process to find (`harness.chain.run_segment`)
        server = provider.running()
        endpoint = server.open_trial(scenario.provider_faults, self.provider_timeout, self.provider_direct,
                                     provider.ask_limit(scenario), stall=self.provider_stall)
        provider.write_endpoint(workdir, endpoint)
        try:
            outcome = self._run(scenario, workdir)
        finally:
            requests = server.close_trial(endpoint)
        outcome.requests = [r.to_dict() for r in requests]
        hung = provider.runaway(requests)
        if hung is not None and not outcome.hang:  # a row retried without end: the run would not have ended
            segment, message = hung
            if outcome.error_segment is None or segment <= outcome.error_segment:
                outcome.error, outcome.error_segment, outcome.hang = message, segment, True
        return outcome

    def _run(self, scenario: Scenario, workdir: Path) -> Outcome:
        journal = Journal(workdir / "journal.jsonl")
        outcome = Outcome()
        for group in process_groups(scenario):
            if self.in_child(scenario, group):
                problem = self._run_child(scenario, group, workdir, journal)
            else:
                problem = self._run_in_process(scenario, group[0], workdir, journal)
            if problem is not None:
                outcome.error, outcome.error_segment = problem
                outcome.hang = outcome.error.startswith("hang:")
                break
        if outcome.error is None:
            started = time.perf_counter()
            try:
                with watchdog(self.segment_timeout):
                    outcome.rows, outcome.layout = self.load(scenario, workdir)
            except SegmentHung as exc:
                outcome.error, outcome.error_segment = (
                    f"hang: loading the dataset did not finish within {self.segment_timeout:g}s; it was stopped "
                    f"in {innermost(exc)} (set {TIMEOUT_VARIABLE} to allow longer)", len(scenario.segments) - 1)
                outcome.hang = True
            except Exception as exc:  # noqa: BLE001 - a load failure is a finding, not a crash
                outcome.load_error = f"{type(exc).__name__}: {exc}"
            outcome.target_seconds += time.perf_counter() - started
        _collect_journal(journal, outcome)
        self.spent += outcome.target_seconds
        return outcome

    def _run_in_process(self, scenario: Scenario, index: int, workdir: Path,
                        journal: Journal) -> tuple[str, int] | None:
        threads = set(threading.enumerate())
        problem = run_segment(self, scenario, index, workdir, journal, in_child=False, timeout=self.segment_timeout)
        settle(self, workdir, journal, index, threads)
        return None if problem is None else (problem, index)

    def _run_child(self, scenario: Scenario, group: list[int], workdir: Path,
                   journal: Journal) -> tuple[str, int] | None:
        stacks = workdir / f"segment-{group[0]}.stacks"

        def deadline() -> float:
            """Each segment of the group has the timeout from its own start."""
            starts = [e["t"] for e in journal.events() if e["event"] == "segment_start" and e["segment"] in group]
            return (max(starts) if starts else time.monotonic()) + self.segment_timeout

        stall = Stall(self.stall_seconds, journal, workdir if scenario.model_columns else None)
        func, python, modules = self.child_process(scenario, group)
        result = run_in_child(func, (self, scenario.to_json(), group, str(workdir)),
                              workdir / f"segment-{group[0]}.error", timeout=self.segment_timeout,
                              deadline=deadline, before_kill=lambda pid: dump_stacks(pid, stacks),
                              stalled=stall if stall.seconds > 0 else None, python=python, modules=modules)
        events = journal.events()
        if any(e["event"] == "snapshot" and e["segment"] == group[-1] for e in events):
            record_snapshot(journal, self.dataset_root(workdir), group[-1], "reaped")
        ended = {e["segment"]: e for e in events if e["event"] == "segment_end" and e["segment"] in group}
        started = [e["segment"] for e in events if e["event"] == "segment_start" and e["segment"] in group]
        current = started[-1] if started else group[0]
        if result.timed_out:
            reached = sum(1 for e in events if e["event"] == "checkpoint" and e["segment"] == current)
            where = f"it was killed; its stacks: {_stack_summary(stacks)}"
            if stall.fired:
                return stall_message(current, stall.seconds, reached, where), current
            return hang_message(current, self.segment_timeout, reached, where), current
        if result.error:
            return result.error.strip().splitlines()[-1], current
        for index in group:
            end = ended.get(index)
            if end is not None and end["how"] == "error":
                return end["detail"], index
            if end is not None and end["how"] == "hang":  # a model's hang (`SegmentHung` raised in the child)
                reached = sum(1 for e in events if e["event"] == "checkpoint" and e["segment"] == index)
                return hang_message(index, self.segment_timeout, reached, f"it was stopped in {end['detail']}"), index
        if current not in ended:  # the process ended inside this segment
            fired = any(e["event"] == "fault" and e["segment"] == current for e in events)
            fault = scenario.segments[current].fault
            kind = KINDS[fault.action] if fault is not None else None
            if fired and kind is not None and kind.ends_process and result.exitcode == -(kind.signum or 0):
                return None
            return f"segment {current} child died unexpectedly (exit code {result.exitcode})", current
        return None


class Stall:
    """Whether a child running segments has stopped working, asked with its pid every
    `harness.faults.STALL_POLL` seconds: `seconds` have passed with its CPU time up by less
    than `CPU_PER_WINDOW`, no journal event (a segment's start or end, a checkpoint), with
    model columns (`workdir`: the trial's provider endpoint is there) no request to the model
    provider, and the process found sleeping at every look (never running, runnable or in a
    disk wait: a starved or disk-bound child has not stopped). A run that deadlocks takes no
    CPU time; one that waits and looks again for ever takes little (0.8.0's orphaned retry:
    about 0.1 s in 10, seldom caught awake); a run that waits for a slow answer asks again each
    client timeout. Where the process's CPU time cannot be read (no
    /proc) it never fires: the segment timeout alone decides."""

    #: CPU seconds in a window that count as working (a process's wake-ups every 50 ms cost
    #: about a hundredth of that)
    CPU_PER_WINDOW = 0.25

    def __init__(self, seconds: float, journal: Journal, workdir: Path | None) -> None:
        self.seconds = seconds
        self.journal = journal
        self.workdir = workdir
        self.fired = False
        self._mark: tuple[float, tuple[int, int]] | None = None
        self._since = 0.0
        self._ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def __call__(self, pid: int) -> bool:
        found = self._cpu(pid)
        if found is None:
            return False
        cpu, state = found
        now = time.monotonic()
        activity = (self._size(self.journal.path), self._requests())
        # running, or waiting to run, or on the disk: working, whatever its CPU time says (a
        # loaded machine's child can be starved of both; a stopped one sleeps)
        if (self._mark is None or activity != self._mark[1] or cpu - self._mark[0] >= self.CPU_PER_WINDOW
                or state in "RD"):
            self._mark, self._since = (cpu, activity), now
            return False
        self.fired = now - self._since >= self.seconds
        return self.fired

    def _cpu(self, pid: int) -> tuple[float, str] | None:
        """The process's CPU seconds (utime and stime, fields 14 and 15 of /proc/PID/stat) and
        its state (field 3: R running, D on the disk, S sleeping, ...)."""
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return None
        return (int(fields[11]) + int(fields[12])) / self._ticks, fields[0]

    @staticmethod
    def _size(path: Path) -> int:
        try:
            return path.stat().st_size
        except OSError:
            return -1

    def _requests(self) -> int:
        if self.workdir is None:
            return 0
        from harness import provider

        try:
            return len(provider.running().requests(provider.read_endpoint(self.workdir)))
        except (OSError, KeyError):
            return 0


def dump_stacks(pid: int, path: Path, wait: float = 1.0) -> None:
    """Ask a hung child for a dump of its threads' stacks (faulthandler, see
    `harness.chain.run_group_in_child`), and give it a moment to write them."""
    try:
        os.kill(pid, STACK_SIGNAL)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + wait
    size = -1
    while time.monotonic() < deadline:
        time.sleep(0.05)
        current = path.stat().st_size if path.exists() else 0
        if current and current == size:
            return
        size = current


def _stack_summary(path: Path, lines: int = 6) -> str:
    """The first frames of each thread of a stack dump, on one line."""
    if not path.exists() or not path.read_text().strip():
        return "(no stack dump)"
    threads = path.read_text().strip().split("\n\n")
    out = []
    for block in threads:
        rows = [r.strip() for r in block.splitlines() if r.strip()]
        if rows:
            out.append(rows[0].rstrip(":") + ": " + " <- ".join(rows[1:1 + lines]))
    return "; ".join(out)[:2000]


def _collect_journal(journal: Journal, outcome: Outcome) -> None:
    outcome.events = journal.events()
    ends = {e["segment"]: e["t"] for e in outcome.events if e["event"] == "segment_end"}
    ended = set(ends)
    for event in outcome.events:
        if event["event"] == "checkpoint":
            late = event["segment"] in ends and event.get("t", 0.0) > ends[event["segment"]]
            outcome.checkpoints.append(
                CheckpointEvent(event["segment"], event["ordinal"], event["group"], event["rows"],
                                tuple(event["seed_ids"]), late)
            )
        elif event["event"] == "fault":
            outcome.faults_fired.append((event["segment"], event["fault"]))
            if event["segment"] not in ended:  # its process ended there: the fault carries its time
                outcome.target_seconds += event.get("seconds", 0.0)
        elif event["event"] == "segment_end":
            outcome.target_seconds += event["seconds"]
        elif event["event"] == "run_stopped":
            outcome.stopped.append(event["segment"])
        elif event["event"] == "warned":
            outcome.warnings.extend(f"segment {event['segment']}: {m}" for m in event["messages"])
        elif event["event"] == "settled":  # what the segment's threads still did once it had ended
            outcome.target_seconds += event.get("busy_seconds", 0.0)


__all__ = ["Capabilities", "CheckpointEvent", "FAULT_ACTIONS", "FAULT_POINTS", "Outcome", "Target"]
