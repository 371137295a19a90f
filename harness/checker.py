"""The checker: from a scenario and what its runs produced, a `Verdict`.

Oracle tiers, the strongest that applies:
- `exact` (ORDERED): the resumed run's rows == `expected_rows(scenario)`, row for row, and
  so does the straight run's (*differential*: a resume that agrees with a wrong straight
  run is still wrong).
- `exactly-once` (SHUFFLE): each consecutive pass of `L` rows is a permutation of the
  selection's records, nothing foreign, the count right; for both runs.
- `exact-shuffle` (SHUFFLE on a target that declares a repeatable shuffle,
  `Capabilities.repeatable_shuffle`): exactly-once for both runs, and the resumed run's rows
  == the straight run's rows, row for row (a resume that switches to another valid
  permutation for a whole pass is wrong). A target without a seeded shuffle gets
  exactly-once only.

Anomalies have names: `duplicated` (a row replayed), `lost` (rows never written),
`skipped` (the reader jumped ahead), `reordered`, `unexpected` (a row from outside the
selection, or more rows than asked), `short` (fewer rows than asked), `torn` (the dataset
cannot be read back), `error` (the run refused or crashed), `hang`, and two of the work
rather than the rows (`harness.quiescence`): `ghost` (a segment touched the dataset after
its call had ended) and `redone` (a resume generated a row group again that was complete on
disk). Each row anomaly carries the first divergent row and its provenance: the seed_id, the row group, the segment that wrote it,
and which earlier checkpoint had already produced that seed row.

The checker never runs a target: it reads `Outcome`s.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from harness.changes import final_inputs, first_change, has_changes, versions
from harness.model_columns import dropped_rows
from harness.quiescence import ghost_findings, redone_findings, repaid_findings
from harness.reference.model import Convert, comparable_columns, output_row, record_stream
from harness.scenario import Scenario, Segment
from harness.seed_values import from_key, shown, value_key
from harness.targets.base import CheckpointEvent, Outcome

Row = dict[str, Any]
Key = tuple[Any, ...]

ANOMALY_KINDS = ("duplicated", "lost", "skipped", "reordered", "unexpected", "short", "torn", "error", "hang",
                 "ghost", "redone", "mixed")


@dataclass(frozen=True)
class Anomaly:
    kind: str
    #: "resumed" (the interrupted chain) or "straight" (the uninterrupted run)
    run: str
    detail: str
    position: int | None = None
    expected: Row | None = None
    actual: Row | None = None
    count: int = 0
    seed_id: int | None = None
    group: int | None = None
    segment: int | None = None
    provenance: str = ""

    def line(self) -> str:
        text = f"{self.kind} ({self.run} run): {self.detail}"
        return f"{text}; {self.provenance}" if self.provenance else text


@dataclass(frozen=True)
class Verdict:
    tier: str
    anomalies: tuple[Anomaly, ...]
    expected: tuple[Row, ...] = ()
    actual: tuple[Row, ...] = ()
    straight: tuple[Row, ...] = ()
    faults_fired: tuple[tuple[int, str], ...] = ()
    #: segments of the resumed run that the target stopped itself after its provider's
    #: interruption (DataDesigner's early shutdown: `Target.stopped_by_provider`)
    stopped: tuple[int, ...] = ()
    columns: tuple[str, ...] = field(default=())
    #: resume-or-refuse: the target's refusal, when it refused (a pass for that tier)
    refusal: str = ""
    #: the warnings the target gave in the resumed chain (Python warnings, log records at WARNING+)
    warnings: tuple[str, ...] = ()
    #: the resumed run's and the straight run's rows as the checker tells values apart
    #: (`value_key` over `columns`): what a known bug's model is held to (`harness.ledger`)
    keys: tuple[tuple[Key, ...], tuple[Key, ...]] = ((), ())
    #: the resumed run's and the straight run's checkpoints, (segment, row group, after the
    #: segment's call had ended) in the order they landed: a model follows the target's own
    #: scheduling, and its threads' timing, where the scenario does not fix them
    orders: tuple[tuple[tuple[int, int, bool], ...], tuple[tuple[int, int, bool], ...]] = ((), ())
    #: the resumed run's and the straight run's (segment, earlier segment) pairs whose runs used
    #: one dataset directory (the earlier: the first to use it): where a release names a fresh
    #: run's directory by the wall clock, a model follows the target's choice
    shared: tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]] = ((), ())

    @property
    def ok(self) -> bool:
        return not self.anomalies

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(a.kind for a in self.anomalies))

    def summary(self) -> str:
        if self.ok and self.refusal:
            return f"ok ({self.tier}): the resume was refused: {self.refusal}"
        if self.ok and self.tier == "exactly-once":  # each run its own permutation, and count where rows drop
            counts = f"{len(self.actual)} rows" + ("" if len(self.actual) == len(self.straight)
                                                   else f" and {len(self.straight)}")
            return f"ok ({self.tier}): each pass of the resumed and the straight run is a permutation of the selection, {counts}"
        if self.ok:
            return f"ok ({self.tier}): resumed run == straight run == reference, {len(self.expected)} rows"
        return self.anomalies[0].line()

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "tier": self.tier,
            "anomalies": [asdict(a) for a in self.anomalies],
            "faults_fired": [list(f) for f in self.faults_fired],
            **({"refusal": self.refusal} if self.refusal else {}),
            **({"warnings": list(self.warnings)} if self.warnings else {}),
        }


def compare(scenario: Scenario, expected: list[Row], straight: Outcome, resumed: Outcome,
            repeatable_shuffle: bool = False, convert: Convert | None = None) -> Verdict:
    """`expected`: the reference's rows with typed seed values as the target's reader holds
    them (`convert`, the target's declared conversion; the same `convert` judges which rows
    belong to the selection). The resumed run is compared with them and with the straight
    run as they are: `harness.seed_values.value_key` is the only equality."""
    columns = comparable_columns(scenario)
    tier = "exact" if scenario.sampling == "ordered" else "exactly-once"
    if scenario.sampling == "shuffle" and repeatable_shuffle:
        tier = "exact-shuffle"
    refusal = ""
    if has_changes(scenario):
        # resume-or-refuse: a refusal by the resume that met the change passes; otherwise the
        # dataset must be what an uninterrupted run of the final inputs makes (`expected`).
        tier = "resume-or-refuse"
        # The refusal may come later than the resume that met the change: after IF_POSSIBLE
        # started fresh elsewhere, an ALWAYS resume of the original dataset refuses.
        # A refusal leaves the dataset as it was: a segment that checkpointed row groups and
        # then failed (a read-back that cannot read what it wrote) did not refuse.
        failed, first = resumed.error_segment, first_change(scenario)
        wrote = sum(1 for c in resumed.checkpoints if c.segment == failed)
        if resumed.error is not None and not resumed.hang and failed is not None and failed >= first and not wrote:
            refusal = f"segment {failed}: {resumed.error}"
    anomalies = [] if refusal else _check_run("resumed", scenario, expected, resumed, columns, convert,
                                                          repeatable_shuffle)
    if has_changes(scenario) and not refusal and resumed.error is not None and not resumed.hang:
        anomalies = [replace(a, detail=f"{a.detail} (it had checkpointed {_groups(wrote)} first: not a refusal, "
                                       "which leaves the dataset as it was)") if a.kind == "error" and wrote else a
                     for a in anomalies]
    if has_changes(scenario) and anomalies and resumed.error is None and resumed.load_error is None:
        anomalies = mixed_findings(scenario, resumed, columns, convert) + anomalies
    straight_found = _check_run("straight", scenario, expected, straight, columns, convert, repeatable_shuffle)
    if tier == "exact-shuffle" and not anomalies and not straight_found:
        anomalies = _same_as_straight(scenario, resumed, straight, columns)
    anomalies += straight_found
    for run, outcome, chain in (("resumed", resumed, scenario), ("straight", straight, scenario.straight())):
        anomalies += [Anomaly("ghost", run, text, segment=segment)
                      for segment, text in ghost_findings(chain, outcome.events)]
        anomalies += [Anomaly("redone", run, text, segment=segment)
                      for segment, text in redone_findings(chain, outcome.events)]
        anomalies += [Anomaly("redone", run, text, segment=segment)
                      for segment, text in repaid_findings(chain, outcome.events, outcome.requests)]
    return Verdict(
        tier=tier,
        anomalies=tuple(anomalies),
        expected=tuple(_project(r, columns) for r in expected),
        actual=tuple(_project(r, columns) for r in resumed.rows),
        straight=tuple(_project(r, columns) for r in straight.rows),
        faults_fired=tuple(resumed.faults_fired),
        stopped=tuple(resumed.stopped),
        columns=columns,
        refusal=refusal,
        warnings=_resume_warnings(scenario, resumed.warnings, straight.warnings),
        keys=(tuple(_key(r, columns) for r in resumed.rows), tuple(_key(r, columns) for r in straight.rows)),
        orders=(tuple((c.segment, c.group, c.late) for c in resumed.checkpoints),
                tuple((c.segment, c.group, c.late) for c in straight.checkpoints)),
        shared=(shared_directories(resumed.events), shared_directories(straight.events)),
    )


def shared_directories(events: list[dict[str, Any]]) -> tuple[tuple[int, int], ...]:
    """(segment, earlier segment) for each segment whose run used a dataset directory an
    earlier segment's had used (the first of them), from the trial journal's `dataset` events."""
    first: dict[str, int] = {}
    pairs: list[tuple[int, int]] = []
    seen: set[int] = set()
    for event in events:
        if event.get("event") != "dataset" or event.get("segment") in seen:
            continue
        segment, path = int(event["segment"]), str(event["path"])
        seen.add(segment)
        if path in first and first[path] < segment:
            pairs.append((segment, first[path]))
        first.setdefault(path, segment)
    return tuple(pairs)


def _same_as_straight(scenario: Scenario, resumed: Outcome, straight: Outcome,
                      columns: tuple[str, ...]) -> list[Anomaly]:
    """exact-shuffle: the resumed rows against the straight run's, row for row. Both are
    already exactly-once, so any difference is another permutation: `reordered`."""
    actual = [_key(r, columns) for r in resumed.rows]
    wanted = [_key(r, columns) for r in straight.rows]
    if actual == wanted:
        return []
    p = next(i for i, (a, e) in enumerate(zip(actual, wanted)) if a != e)
    length = len(record_stream(final_inputs(scenario)))
    found = _Found("reordered", f"from output row {p} (pass {p // length}) the resumed run follows another "
                                f"permutation than the straight run; the target declares its shuffle repeatable", p)
    return [_with_provenance("resumed", found, actual, wanted, _Layout(resumed), columns, True)]


def _resume_warnings(scenario: Scenario, messages: list[str], straight: list[str]) -> tuple[str, ...]:
    """What the target warned about from the first change on, but for what it says on every
    run (what the straight run, or segment 0, said: DataDesigner warns of missing
    model-provider keys, and 0.6's sync engine of its deprecation, each time)."""
    if not has_changes(scenario):
        return ()
    first = first_change(scenario)
    every_run = {m.split(": ", 1)[1] for m in [*messages, *straight] if m.startswith("segment 0: ")}
    out = []
    for m in messages:
        segment, text = m.split(": ", 1)
        if int(segment.split()[1]) >= first and text not in every_run:
            out.append(m)
    return tuple(dict.fromkeys(out))


def _groups(count: int) -> str:
    return f"{count} row group" + ("" if count == 1 else "s")


def _check_run(run: str, scenario: Scenario, expected: list[Row], outcome: Outcome, columns: tuple[str, ...],
               convert: Convert | None = None, repeatable_shuffle: bool = True) -> list[Anomaly]:
    if outcome.hang:
        return [Anomaly("hang", run, outcome.error or "a segment did not finish", segment=outcome.error_segment)]
    if outcome.error is not None:
        where = f"segment {outcome.error_segment}" if outcome.error_segment is not None else "the run"
        return [Anomaly("error", run, f"{where} failed: {outcome.error}", segment=outcome.error_segment)]
    if outcome.load_error is not None:
        return [Anomaly("torn", run, f"the final dataset cannot be read back: {outcome.load_error}")]
    actual = [_key(r, columns) for r in outcome.rows]
    wanted = [_key(r, columns) for r in expected]
    final = final_inputs(scenario)
    # a record the model provider never answers is no row of any run (`dropped_rows`)
    dropped = dropped_rows(final.provider_faults) if final.model_columns else set()
    records = record_stream(final, convert)
    valid = {_key(output_row(r, final), columns) for r in records if r["seed_id"] not in dropped}
    if scenario.sampling == "ordered":
        found = _exact(actual, wanted, valid)
    else:
        counts = (len(wanted), len(wanted))
        if not repeatable_shuffle:
            counts = shuffle_counts(scenario.num_records, len(records),
                                    sum(1 for r in records if r["seed_id"] in dropped))
        found = _exactly_once(actual, wanted, valid, max(1, len(valid)), counts)
    layout = _Layout(outcome)
    ordered = scenario.sampling == "ordered"
    return [_with_provenance(run, a, actual, wanted, layout, columns, ordered) for a in found]


# ----- the exact tier ---------------------------------------------------------------------------
@dataclass
class _Found:
    kind: str
    detail: str
    position: int | None = None
    count: int = 0


def _exact(actual: list[Key], wanted: list[Key], valid: set[Key]) -> list[_Found]:
    if actual == wanted:
        return []
    p = next((i for i, (a, e) in enumerate(zip(actual, wanted)) if a != e), min(len(actual), len(wanted)))
    extra = Counter(actual) - Counter(wanted)
    missing = Counter(wanted) - Counter(actual)
    found: list[_Found] = []
    if p >= len(actual):
        found.append(_Found("short", f"{len(actual)} rows, {len(wanted)} asked for", p, len(wanted) - len(actual)))
    elif actual[p] not in valid:
        found.append(_Found("unexpected", f"output row {p} is not a row of the selection", p, 1))
    elif p >= len(wanted):
        found.append(_Found("unexpected", f"{len(actual)} rows, only {len(wanted)} asked for", p, len(actual) - p))
    elif actual[p] in actual[:p]:
        found.append(_Found("duplicated", f"output row {p} repeats a row already produced", p,
                            max(1, sum(extra.values()))))
    elif not extra and not missing:
        found.append(_Found("reordered", f"the right rows in the wrong order from output row {p}", p))
    elif len(actual) < len(wanted) and actual[p:] == wanted[p + len(wanted) - len(actual):]:
        found.append(_Found("lost", f"rows {p}..{p + len(wanted) - len(actual) - 1} were never written", p,
                            len(wanted) - len(actual)))
    else:
        found.append(_Found("skipped", f"output row {p} jumps ahead in the seed order", p, sum(missing.values())))
    primary = found[0].kind
    if missing and primary not in ("lost", "short", "skipped"):
        found.append(_Found("lost", f"{sum(missing.values())} expected row(s) never appear", None, sum(missing.values())))
    if len(actual) < len(wanted) and primary not in ("short", "lost"):
        found.append(_Found("short", f"{len(actual)} rows, {len(wanted)} asked for", None, len(wanted) - len(actual)))
    return found


# ----- the exactly-once tier --------------------------------------------------------------------
def shuffle_counts(num_records: int, length: int, dropped: int) -> tuple[int, int]:
    """The fewest and the most rows a SHUFFLE run of `num_records` records over a selection
    of `length` records, `dropped` of which no run keeps (`dropped_rows`), can give whatever
    its permutations: each whole pass keeps `length - dropped`, and the last, partial pass
    of `r` records keeps between `r - dropped` and `length - dropped` of them, as its
    permutation puts the dropped records in it or not. Where the target's shuffle is its own
    (unseeded), the reference's count is one of these, not the only one."""
    if length <= 0:
        return 0, 0
    whole, rest = divmod(num_records, length)
    kept = whole * (length - dropped)
    return kept + max(0, rest - dropped), kept + min(rest, length - dropped)


def _exactly_once(actual: list[Key], wanted: list[Key], valid: set[Key], pass_length: int,
                  counts: tuple[int, int] | None = None) -> list[_Found]:
    """Each pass of `pass_length` rows a permutation of `valid`. Where rows are missing (fewer
    than asked: records the reader handed out whose rows were not written, such as a row a
    model column's failure dropped), an output row's place among the reader's records is
    known only within that many: a repeated row is a duplicate where every such placing puts
    both in one pass (with none missing: where both are in one block of `pass_length` rows).
    `counts`: the fewest and the most rows the run may give (`shuffle_counts` where the
    permutation is the target's own; by default the reference's, `len(wanted)`)."""
    fewest, most = counts or (len(wanted), len(wanted))
    found: list[_Found] = []
    slack = 0 if len(actual) >= fewest else most - len(actual)
    last: dict[Key, int] = {}
    for position, row in enumerate(actual):
        if row not in valid:
            found.append(_Found("unexpected", f"output row {position} is not a row of the selection", position, 1))
            return found
        before = last.get(row)
        if before is not None and before // pass_length == (position + slack) // pass_length:
            start = before // pass_length * pass_length
            block = actual[start : start + pass_length]
            missing = len(valid) - len(set(block)) if len(block) == pass_length and not slack else 0
            found.append(_Found("duplicated", f"output row {position} repeats a row of the same pass "
                                f"(pass {start // pass_length}, rows {start}..{start + len(block) - 1})", position, 1))
            if missing:
                found.append(_Found("lost", f"{missing} row(s) of the selection never appear in pass "
                                    f"{start // pass_length}", None, missing))
            return found
        last[row] = position
    some = "" if fewest == most else " whatever the permutation"
    if len(actual) < fewest:
        found.append(_Found("short", f"{len(actual)} rows, {'at least ' if some else ''}{fewest} asked for{some}",
                            len(actual), fewest - len(actual)))
    elif len(actual) > most:
        found.append(_Found("unexpected", f"{len(actual)} rows, only {'up to ' if some else ''}{most} asked for{some}",
                            most, len(actual) - most))
    return found


# ----- resume-or-refuse: rows of more than one set of inputs --------------------------------------
def mixed_findings(scenario: Scenario, outcome: Outcome, columns: tuple[str, ...],
                   convert: Convert | None = None) -> list[Anomaly]:
    """`mixed` when some rows of the dataset come from the inputs before a change and others
    from after: per row, which of the chain's inputs make it (at that position when ORDERED,
    anywhere in the selection under SHUFFLE), described as runs of rows."""
    from harness.reference.model import expected_rows

    chain = versions(scenario)
    if len(chain) < 2:
        return []
    actual = [_key(r, columns) for r in outcome.rows]
    ordered = scenario.sampling == "ordered"
    made: list[list[Key] | set[Key]] = []
    for _, inputs in chain:
        if ordered:
            straight = replace(inputs, segments=(Segment(scenario.num_records),))
            made.append([_key(r, columns) for r in expected_rows(straight, convert)])
        else:
            made.append({_key(output_row(r, inputs), columns) for r in record_stream(inputs, convert)})
    sources: list[int | None] = []
    for p, row in enumerate(actual):
        fits = [v for v, rows in enumerate(made) if (row in rows if isinstance(rows, set) else p < len(rows) and rows[p] == row)]
        if len(fits) == len(chain):
            sources.append(-1)  # the same row under every set of inputs
        else:
            sources.append(None if not fits else (len(chain) - 1 if len(chain) - 1 in fits else fits[0]))
    used = {v for v in sources if v is not None and v >= 0}
    if not used - {len(chain) - 1}:
        return []
    runs: list[tuple[int, int, int | None]] = []
    for p, v in enumerate(sources):
        if runs and runs[-1][2] == v:
            runs[-1] = (runs[-1][0], p, v)
        else:
            runs.append((p, p, v))

    def inputs_name(v: int | None) -> str:
        if v is None:
            return "no run of any of the chain's inputs"
        if v == -1:
            return "any of them (the change does not touch it)"
        segment = chain[v][0]
        if v == 0:
            return "the inputs before the first change" + (f" (segment {chain[1][0]})" if len(chain) > 1 else "")
        return f"the inputs after the change before segment {segment}"

    parts = [f"rows {a}-{b} come from {inputs_name(v)}" if a != b else f"row {a} comes from {inputs_name(v)}"
             for a, b, v in runs]
    first_old = next(p for p, v in enumerate(sources) if v is not None and 0 <= v < len(chain) - 1)
    if len(used) > 1 or (-1 in sources and used):
        detail = ("the dataset mixes rows made from the inputs before a change with rows made otherwise; "
                  "no uninterrupted run of any of the chain's inputs produces it")
    else:
        detail = ("every row comes from inputs that were changed before the resume, which reported success: "
                  "the dataset is not what the inputs in force at the end make")
    older = sum(1 for v in sources if v is None or 0 <= v < len(chain) - 1)
    return [Anomaly("mixed", "resumed", detail, position=first_old, count=older,
                    provenance="; ".join(parts))]


# ----- provenance -------------------------------------------------------------------------------
class _Layout:
    """Output row -> (group id, segment that wrote it), and checkpoint history."""

    def __init__(self, outcome: Outcome) -> None:
        self.checkpoints = outcome.checkpoints
        writer: dict[int, CheckpointEvent] = {}
        for event in outcome.checkpoints:
            writer[event.group] = event
        self.rows: list[tuple[int, CheckpointEvent | None]] = []
        for group_id, count in outcome.layout:
            self.rows.extend([(group_id, writer.get(group_id))] * count)

    def at(self, position: int) -> tuple[int | None, CheckpointEvent | None]:
        if 0 <= position < len(self.rows):
            return self.rows[position]
        return None, None

    def first_producer(self, seed_id: Any, before: CheckpointEvent | None) -> CheckpointEvent | None:
        for event in self.checkpoints:
            if before is not None and event == before:
                return None
            if seed_id in event.seed_ids:
                return event
        return None


def _with_provenance(run: str, f: _Found, actual: list[Key], wanted: list[Key], layout: _Layout,
                     columns: tuple[str, ...], ordered: bool) -> Anomaly:
    p = f.position
    if p is None:
        return Anomaly(f.kind, run, f.detail, count=f.count)
    # Under SHUFFLE no single row is "expected" at a position: any order within a pass is right.
    exp = _row_of(wanted[p], columns) if ordered and p < len(wanted) else None
    act = _row_of(actual[p], columns) if p < len(actual) else None
    group, writer = layout.at(p)
    seed_id = act["seed_id"] if act else None
    segment = writer.segment if writer else None
    parts = []
    if act is not None:
        parts.append(f"output row {p} is {_show(act)} from group {group}"
                     + (f", written by segment {writer.segment} (its checkpoint {writer.ordinal})" if writer else ""))
    if exp is not None and f.kind != "duplicated":
        parts.append(f"expected {_show(exp)}")
        if act is not None and act.get("seed_id") == exp.get("seed_id"):
            parts += _value_differences(actual[p], wanted[p], columns)
    if f.kind == "duplicated" and act is not None:
        q = actual.index(actual[p])
        earlier, earlier_writer = layout.at(q)
        producer = layout.first_producer(seed_id, writer)
        if producer is not None:
            parts.append(f"checkpoint {producer.ordinal} of segment {producer.segment} (group {producer.group}) "
                         f"had already produced seed_id {seed_id}")
        parts.append(f"it is also output row {q} (group {earlier})")
        if exp is not None:
            parts.append(f"expected {_show(exp)}")
    return Anomaly(f.kind, run, f.detail, position=p, expected=exp, actual=act, count=f.count, seed_id=seed_id,
                   group=group, segment=segment, provenance="; ".join(parts))


def _value_differences(actual: Key, wanted: Key, columns: tuple[str, ...]) -> list[str]:
    """The seed row is right but a value is not (a typed value read differently): which
    column holds what, type included (`harness.seed_values.value_key`)."""
    return [f"column {c} holds {_typed_text(a)} where {_typed_text(w)} was expected"
            for c, a, w in zip(columns, actual, wanted) if a != w]


def _typed_text(key: tuple[Any, ...]) -> str:
    return "null" if key[0] == "null" else f"{key[0]} {from_key(key)!r}"


def _show(row: Row) -> str:
    label = row.get("line", row.get("name"))
    return f"{label!r} (seed_id {row.get('seed_id')})"


def _key(row: Row, columns: tuple[str, ...]) -> Key:
    return tuple(value_key(row.get(c)) for c in columns)


def _row_of(key: Key, columns: tuple[str, ...]) -> Row:
    return {c: from_key(k) for c, k in zip(columns, key)}


def _project(row: Row, columns: tuple[str, ...]) -> Row:
    return {c: shown(row.get(c)) for c in columns}
