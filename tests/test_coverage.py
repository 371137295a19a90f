"""The coverage table: what a search drew, what fired, what it never exercised."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

from helpers import seeds

from harness.coverage import Coverage
from harness.property import hunt
from harness.scenario import Fault, Scenario, Segment
from harness.targets.registry import get_target


def test_a_clean_hunts_coverage_counts_every_example_once_per_dimension():
    target = get_target("reference")
    result = hunt(target, max_examples=60, seed=5)
    cov = result.coverage
    assert result.finding is None and cov.examples == result.examples == 60
    for dim in ("engine", "source", "sampling", "selection", "interruptions", "extensions"):
        assert sum(cov.drawn[dim].values()) == 60, dim
    assert sum(cov.drawn["fault drawn"].values()) == sum(int(k) * n for k, n in cov.drawn["interruptions"].items())
    assert sum(cov.drawn["fault fired"].values()) <= sum(cov.drawn["fault drawn"].values())


def test_what_a_narrowed_search_never_drew_is_called_out_against_what_the_target_declares():
    target = get_target("reference")
    narrow = dataclasses.replace(target.capabilities, engines=("sync",), fault_actions=("raise",), extension=False)
    cov = hunt(target, max_examples=40, seed=7, capabilities=narrow).coverage
    missing = cov.unexercised(target.capabilities)
    assert "engine async" in missing and "an extension" in missing
    assert "fault kill (never drawn)" in missing and "fault raise (never drawn)" not in missing
    assert not any(m.startswith(("engine", "fault")) or m == "an extension" for m in cov.unexercised(narrow))
    assert any(line.startswith("  never exercised: ") and "engine async" in line for line in cov.lines(target.capabilities))


def test_a_fault_drawn_past_the_end_of_its_segment_is_drawn_and_not_fired(tmp_path):
    target = get_target("reference")
    scenario = Scenario(seeds=seeds(2), segments=(Segment(2, fault=Fault("kill", "checkpoint", 9)), Segment(2, "always")))
    outcome = target.run(scenario, tmp_path / "run")
    cov = Coverage()
    cov.record(scenario, outcome.faults_fired)
    assert cov.drawn["fault drawn"] == {"kill@checkpoint": 1} and not cov.drawn["fault fired"]
    assert "fault kill (drawn, never fired)" in cov.unexercised(dataclasses.replace(
        target.capabilities, fault_actions=("kill",)))


def test_known_and_new_anomalies_are_counted_apart_and_survive_json_and_merging():
    scenario = Scenario(seeds=seeds(2), segments=(Segment(2, fault=Fault("raise", "checkpoint", 1)), Segment(2, "always")))
    one, two = Coverage(), Coverage()
    one.record(scenario, [(0, "raise after checkpoint 1")], ("duplicated", "lost"), explained=True)
    two.record(scenario, [(0, "raise after checkpoint 1")], ("duplicated",))
    back = Coverage.from_dict(json.loads(json.dumps(one.to_dict())))
    back.merge(two)
    assert back.examples == 2 and back.known == {"duplicated": 1, "lost": 1} and back.anomalies == {"duplicated": 1}
    assert back.drawn["fault fired"] == {"raise@checkpoint": 2} and back.drawn["resume"] == {"always": 2}


def test_hunt_prints_the_table_and_with_stats_json_a_json_line_and_coverage_json(tmp_path):
    base = [sys.executable, "-m", "harness.cli", "hunt", "-n", "15", "--seed", "3"]
    table = subprocess.run(base, capture_output=True, text=True, timeout=300)
    assert table.returncode == 0 and "coverage of 15 examples:" in table.stdout and "fault fired" in table.stdout
    out = tmp_path / "out"
    js = subprocess.run([*base, "--stats", "json", "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert js.returncode == 0, js.stderr
    line = json.loads(js.stdout.strip().splitlines()[-1])
    assert line["examples"] == 15 and sum(line["drawn"]["engine"].values()) == 15 and "unexercised" in line
    assert json.loads((out / "coverage.json").read_text()) == line
    assert "coverage of" not in js.stdout
    bad = subprocess.run([*base, "--stats", "xml"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "--stats takes table, json, none" in bad.stderr


def test_a_fresh_installation_is_counted_and_called_out_where_the_target_draws_it():
    fresh = Scenario(seeds=seeds(2), segments=(Segment(2, fault=Fault("raise", "checkpoint", 1)), Segment(2, "always")),
                     fresh_home=True)
    cov = Coverage()
    cov.record(dataclasses.replace(fresh, fresh_home=False))
    drawing = dataclasses.replace(get_target("reference").capabilities, opt_in=())
    assert "a fresh installation's first run" in cov.unexercised(drawing)
    assert "a fresh installation's first run" not in cov.unexercised(get_target("reference").capabilities)
    cov.record(fresh)
    assert cov.drawn["installation"] == {"used": 1, "fresh": 1}
    assert "a fresh installation's first run" not in cov.unexercised(drawing)
