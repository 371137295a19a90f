"""Two properties of the work itself, not of the rows, judged from a run's journal:

- **Quiescence** (`ghost`): once a segment's call has returned or raised, or its process has
  ended, nothing of that segment touches the dataset again: no checkpoint of that segment
  after its end, and no file of the dataset directory created, changed or removed between
  the segment's end and the next look the harness takes before anything else runs (the
  reaped child, the threads it left having finished).
- **Progress reuse** (`redone`): a resume keeps every checkpoint that was complete on disk
  when it started and does not generate it again. Silently starting over gives the right
  rows and throws away paid-for work (with model-backed columns, real money).

The facts come as data on the `Outcome` (journal events with segments, monotonic times and
pids, directory snapshots); nothing here runs a target.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from harness.scenario import Scenario

Event = dict[str, Any]

#: events a segment's own code produces (the rest are the harness's bookkeeping)
_WORK = ("checkpoint",)


def ghost_findings(scenario: Scenario, events: list[Event]) -> list[tuple[int, str]]:
    """(segment, what it did after it had ended) for each violation of quiescence."""
    ends = {e["segment"]: e for e in events if e["event"] == "segment_end"}
    starts = {e["segment"]: e for e in events if e["event"] == "segment_start"}
    found: list[tuple[int, str]] = []
    for segment, end in sorted(ends.items()):
        late = [e for e in events if e["event"] in _WORK and e["segment"] == segment and e["t"] > end["t"]]
        if late:
            first = late[0]
            running = [s for s, st in starts.items() if s > segment and st["t"] <= first["t"]
                       and (s not in ends or ends[s]["t"] >= first["t"])]
            during = f", while segment {running[-1]} was running" if running else ""
            groups = ", ".join(str(e["group"]) for e in late)
            found.append((segment, f"segment {segment} {_ended(end, scenario)}; row group(s) {groups} were then "
                                   f"checkpointed by segment {segment}, {first['t'] - end['t']:.2f} s later{during}"))
    for before, after in _snapshot_pairs(events):
        changed = _differences(before["files"], after["files"])
        if changed:
            segment = before["segment"]
            end = ends.get(segment)
            look = {"reaped": "its process had ended", "settled": "the threads it left were done"}[after["at"]]
            ended = _ended(end, scenario) if end is not None else "ended"
            found.append((segment, f"segment {segment} {ended}; by the time {look}, "
                                   f"{'; '.join(changed[:4])}"))
    return found


def _ended(end: Event, scenario: Scenario) -> str:
    segment = end["segment"]
    fault = scenario.segments[segment].fault if segment < len(scenario.segments) else None
    if end["how"] == "interrupted" and fault is not None:
        surfaced = f" ({end['detail'].split(':')[0]})" if end["detail"] and fault.action != "raise" else ""
        return f"was interrupted ({fault.describe()}){surfaced} after checkpoint {end['checkpoints']}"
    return f"{'completed' if end['how'] == 'completed' else end['how']} after checkpoint {end['checkpoints']}"


def _snapshot_pairs(events: list[Event]) -> list[tuple[Event, Event]]:
    """(end snapshot, the harness's next look before anything else ran) of each segment."""
    snapshots = [e for e in events if e["event"] == "snapshot"]
    pairs = []
    for first, second in zip(snapshots, snapshots[1:]):
        if first["at"] == "end" and second["at"] in ("reaped", "settled") and first["segment"] == second["segment"]:
            pairs.append((first, second))
        elif first["at"] == "settled" and second["at"] == "reaped" and first["segment"] == second["segment"]:
            pairs.append((first, second))
    return pairs


def _differences(before: dict[str, list[int]], after: dict[str, list[int]]) -> list[str]:
    created = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changed = sorted(p for p in set(before) & set(after) if before[p] != after[p])
    return ([f"{p} was written" for p in created] + [f"{p} was rewritten" for p in changed]
            + [f"{p} was removed" for p in removed])


def redone_findings(scenario: Scenario, events: list[Event]) -> list[tuple[int, str]]:
    """(segment, which complete groups it regenerated) for each resumed segment that
    generated a row group again that was complete on disk when it started."""
    starts = {e["segment"]: e["t"] for e in events if e["event"] == "segment_start"}
    checkpoints = [e for e in events if e["event"] == "checkpoint"]
    torn = _torn_checkpoints(scenario)
    found: list[tuple[int, str]] = []
    changed = next((i for i, seg in enumerate(scenario.segments) if seg.changes), len(scenario.segments))
    for segment, started in sorted(starts.items()):
        if segment == 0 or scenario.segments[segment].resume == "never":
            continue
        if segment >= changed:  # after a change, starting over is one of the right answers
            continue
        complete: dict[int, str] = {}
        for e in checkpoints:
            if e["segment"] < segment and e["t"] < started and (e["segment"], e["ordinal"]) not in torn:
                if e.get("incomplete"):  # written with rows the model provider did not answer
                    complete.pop(e["group"], None)
                else:
                    complete[e["group"]] = f"checkpoint {e['ordinal']} of segment {e['segment']}"
        again = [e for e in checkpoints if e["segment"] == segment and e["group"] in complete]
        if again:
            groups = ", ".join(str(e["group"]) for e in again)
            sources = "; ".join(f"group {e['group']}: {complete[e['group']]}" for e in again)
            found.append((segment, f"segment {segment} generated row group(s) {groups} again, complete on disk when "
                                   f"it started ({sources})"))
    return found


def repaid_findings(scenario: Scenario, events: list[Event], requests: list[dict[str, Any]]) -> list[tuple[int, str]]:
    """(segment, which answers it paid for again) for each resumed segment that paid the
    model provider for more answers of a seed row's prompt than it still had records of that
    row to make: the records of its target (`num_records`) less the rows of that seed row on
    disk when it started (each group's last checkpoint before then). A failed try is not
    paid; a request that is not a model column's (a health check) is overhead, not counted.
    Judged where every segment wrote one dataset and no input changed before it."""
    if not scenario.model_columns or not requests:
        return []
    if len({e["path"] for e in events if e["event"] == "dataset"}) > 1:
        return []  # a fresh run elsewhere: what was on disk is another dataset's
    from harness.reference.model import record_stream

    starts = {e["segment"]: e["t"] for e in events if e["event"] == "segment_start"}
    changed = next((i for i, seg in enumerate(scenario.segments) if seg.changes), len(scenario.segments))
    checkpoints = [e for e in events if e["event"] == "checkpoint"]
    stream = [r["seed_id"] for r in record_stream(scenario)]
    prompts = {c.prompt({"seed_id": seed.seed_id, "name": seed.name}): (c.name, seed.seed_id)
               for c in scenario.model_columns for seed in scenario.seeds}
    found: list[tuple[int, str]] = []
    for segment, started in sorted(starts.items()):
        if segment == 0 or segment >= changed or scenario.segments[segment].resume == "never" or not stream:
            continue
        on_disk: dict[int, list[int]] = {}
        for e in checkpoints:
            if e["segment"] < segment and e["t"] < started:
                torn = (e["segment"], e["ordinal"]) in _torn_checkpoints(scenario)
                on_disk[e["group"]] = [] if torn else e["seed_ids"]
        have = Counter(seed for ids in on_disk.values() for seed in ids)
        target = scenario.segments[segment].num_records
        if scenario.sampling == "ordered":
            want = Counter(stream[i % len(stream)] for i in range(target))
        else:  # at most once a pass, whichever permutation
            passes = -(-target // len(stream))
            want = Counter({seed: passes * n for seed, n in Counter(stream).items()})
        paid = Counter(prompts[r["prompt"]] for r in requests
                       if r["segment"] == segment and r["answer"] == "ok" and r["prompt"] in prompts)
        over = [(column, seed, n, max(0, want[seed] - have[seed])) for (column, seed), n in sorted(paid.items())
                if n > max(0, want[seed] - have[seed])]
        if over:
            column, seed, n, need = over[0]
            found.append((segment, f"segment {segment} paid the model provider for {n} answer(s) of seed row {seed}'s "
                                   f"{column} where {need} of its records were still to make ({have[seed]} on disk "
                                   f"when it started, {want[seed]} in its {target} records)"
                                   + (f"; {len(over) - 1} more prompt(s) likewise" if len(over) > 1 else "")))
    return found


def _torn_checkpoints(scenario: Scenario) -> set[tuple[int, int]]:
    """(segment, ordinal) of the checkpoints a `tear` fault truncated: they are not complete."""
    torn = set()
    for i, segment in enumerate(scenario.segments):
        fault = segment.fault
        if fault is not None and fault.action == "tear" and fault.at == "checkpoint":
            torn.add((i, fault.index))
    return torn
