"""DataDesigner integration: real releases from the package registry, each in a virtual
environment of its own (built on first use by `resume-harness env create`, shared by the
xdist workers), driven through the command line a user runs.

- on 0.6.0 with the sync engine the search finds issue #709's replay by itself, shrunk;
- every ledger finding still fails on the releases it names (and passes where it says);
- a bounded search on each release finds nothing the ledger does not already explain;
- the latest release passes the cases #709 covers, and straight runs of ORDERED 1:1
  seeds equal the reference on the oldest and the latest release (differential).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from harness import environments
from harness.ledger import load_ledger
from harness.targets.data_designer import version_tuple

ROOT = Path(__file__).resolve().parents[2]
FINDINGS = ROOT / "fixtures" / "findings"
CORPUS = ROOT / "fixtures" / "corpus"
OLDEST = "0.6.0"
LATEST = "0.9.7"
LEDGER = load_ledger(FINDINGS)
SEARCH_SEED = "20261128"
#: a ledger replay of a SHUFFLE finding: DataDesigner's permutations are unseeded
REPLAY_ATTEMPTS = "12"

pytestmark = pytest.mark.datadesigner


def python_of(release: str) -> Path:
    environments.create_env(release, say=lambda _line: None)
    return environments.env_python(release)


def harness_in(release: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(python_of(release)), "-m", "harness.cli", *args], capture_output=True, text=True,
                          timeout=900)


def test_search_finds_issue_709_replay_on_0_6_0_sync_and_shrinks_it(tmp_path):
    # every other entry told as known (the first run of a fresh installation, which 0.6.0
    # cannot resume either; typed values 0.6.0 cannot read back): this search is for #709,
    # and what it meets first is Hypothesis's draw
    known = tmp_path / "known"
    known.mkdir()
    for entry in LEDGER:
        if entry.model != "ordered_reader_restarts":
            shutil.copy(entry.path, known)
    result = harness_in(OLDEST, "hunt", "--target", "data_designer:sync", "--seed", SEARCH_SEED,
                        "--max-examples", "60", "--out", str(tmp_path / "out"), "--known", str(known))
    assert result.returncode == 1, result.stdout + result.stderr
    finding = json.loads((tmp_path / "out" / "finding.json").read_text())
    scenario = finding["scenario"]
    assert finding["target_version"] == OLDEST
    assert finding["anomalies"][0] == "duplicated"
    assert scenario["sampling"] == "ordered"
    assert scenario["buffer_size"] == 1
    assert len(scenario["seeds"]) <= 3
    assert sum(1 for s in scenario["segments"] if s["fault"]) == 1


LEDGER_CASES = [
    pytest.param(f, release, release in f.fails_on, id=f"{f.id}@{release}",
                 marks=pytest.mark.xdist_group(f"ledger-replays-{release}"))
    for f in LEDGER
    for release in sorted(set(f.fails_on) | set(f.passes_on), key=version_tuple)
]


def shown_kinds(output: str) -> set[str]:
    """The anomaly kinds a replay printed (each anomaly line starts with its kind and run)."""
    return set(re.findall(r"^([a-z]+) \((?:resumed|straight) run\)", output, flags=re.M))


def replay_batch(release: str, target: str, fails: bool, shared: Path) -> dict[str, dict]:
    """Every ledger entry of `target` that names `release` as failing (`fails`) or passing,
    replayed by one `resume-harness replay FILE... --json` in the release's environment (one
    process pays DataDesigner's import once, not once an entry): file -> its verdict, with
    the part of the output that is that file's (`output`). Kept in `shared` (the xdist
    workers' common directory) for the other cases of the batch, whichever worker runs them."""
    findings = [f for f in LEDGER if f.target == target and release in (f.fails_on if fails else f.passes_on)]
    key = f"{release}-{target.replace(':', '-')}-{'fails' if fails else 'passes'}"
    kept = shared / f"ledger-replays-{key}.json"
    with open(shared / f"ledger-replays-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not kept.exists():
            # where the entry fails, tries (its bug may show on some runs only; the first failure
            # showing a kind it records ends them), one where it passes
            attempts = max(int(REPLAY_ATTEMPTS), *(f.tries for f in findings)) if fails else 1
            report = shared / f"ledger-replays-{key}.report.json"
            result = subprocess.run([str(python_of(release)), "-m", "harness.cli", "replay",
                                     *(str(f.path) for f in findings), "--target", target, "--attempts",
                                     str(attempts), "--known", str(FINDINGS), "--json", str(report)],
                                    capture_output=True, text=True, timeout=1800)
            assert result.returncode in (0, 1) and report.exists(), result.stdout[-4000:] + result.stderr
            parts = re.split(r"^(?=replaying )", result.stdout, flags=re.M)[1:]
            verdicts = json.loads(report.read_text())
            assert len(parts) == len(verdicts) == len(findings), result.stdout[-4000:]
            kept.write_text(json.dumps({v["file"]: {**v, "output": part} for v, part in zip(verdicts, parts)}))
    return json.loads(kept.read_text())


@pytest.fixture(scope="session")
def ledger_replays(tmp_path_factory):
    shared = tmp_path_factory.getbasetemp()
    shared = shared.parent if os.environ.get("PYTEST_XDIST_WORKER") else shared
    return lambda release, target, fails: replay_batch(release, target, fails, shared)


@pytest.mark.parametrize(("finding", "release", "fails"), LEDGER_CASES)
def test_ledger_finding_still_fails_where_named(finding, release, fails, ledger_replays):
    replayed = ledger_replays(release, finding.target, fails)[str(finding.path)]
    output = replayed["output"]
    shown = {a["kind"] for a in replayed["anomalies"]}
    assert shown == shown_kinds(output), output
    # a failure is known only when the composition of the release's open entries' models
    # reproduces it exactly; the entries named are among those open on that release
    known = replayed["known"]
    open_here = {f.id for f in LEDGER if f.target == finding.target and release in f.fails_on}
    if fails:
        assert replayed["exit"] == 1, f"{finding.id} on {release}: expected it to fail\n{output}"
        assert shown & set(finding.anomalies), (finding.anomalies, shown)
        assert known, f"{finding.id} on {release}: the release's models do not reproduce it\n{output}"
        assert set(known.split("+")) <= open_here, (known, open_here)
        return
    # Where the entry's bug is absent its scenario may still show another entry's bug on that
    # release (an async resume after checkpoint 1 regenerates group 0 on every release): the
    # entry passes when none of its own kinds shows and every kind shown is another open
    # entry's on that release.
    others = {kind for f in LEDGER if f.id != finding.id and f.target == finding.target and release in f.fails_on
              for kind in f.anomalies}
    if replayed["exit"] == 1:
        assert shown and shown <= others, (
            f"{finding.id} on {release}: expected it to pass; {shown - others} is no other entry's\n{output}")
        assert known and set(known.split("+")) <= open_here - {finding.id}, output
    else:
        assert replayed["exit"] == 0, output


@pytest.mark.parametrize(("release", "target"), [(OLDEST, "data_designer:sync"), (OLDEST, "data_designer:async"),
                                                 (LATEST, "data_designer:async")])
def test_bounded_search_finds_nothing_outside_the_ledger(release, target):
    result = harness_in(release, "hunt", "--target", target, "--seed", SEARCH_SEED, "--max-examples", "30",
                        "--known", str(FINDINGS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_search_on_0_6_1_async_finds_nothing_new_and_prints_no_data_designer_logs():
    """Engine threads of an interrupted async create() outlive it and log; with seed 616161
    they printed 25 DataDesigner log lines into this search's output (120 examples; 80 run
    here since 2026-12-06, for CI's time) before the adapter silenced DataDesigner's child
    loggers too."""
    result = harness_in("0.6.1", "hunt", "--target", "data_designer:async", "--seed", "616161",
                        "--max-examples", "80", "--known", str(FINDINGS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^no (new )?finding", result.stdout, re.MULTILINE), result.stdout
    logged = re.findall(r".*\[(?:DEBUG|INFO|WARNING|ERROR)\].*", result.stdout + result.stderr)
    assert not logged, "\n".join(logged[:5])


def test_latest_release_passes_the_cases_issue_709_covers():
    """No row of #709's class on the latest release: what it still shows in those scenarios is
    the ledger's (an async resume after checkpoint 1 regenerates group 0), and nothing
    replays or skips a seed row."""
    result = harness_in(LATEST, "hunt", "--target", "data_designer:async", "--seed", SEARCH_SEED,
                        "--max-examples", "40", "--samplings", "ordered", "--sources", "dataframe,parquet,csv,jsonl",
                        "--no-extension", "--known", str(FINDINGS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "dd-ordered-resume-replays-seed-rows" not in result.stdout


@pytest.mark.parametrize("release", [OLDEST, LATEST])
@pytest.mark.parametrize("scenario", sorted(CORPUS.glob("*.json")), ids=lambda p: p.stem)
def test_straight_runs_of_ordered_one_to_one_seeds_equal_the_reference(release, scenario):
    result = harness_in(release, "replay", str(scenario), "--target", "data_designer:async", "--straight")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok (exact)" in result.stdout


@pytest.mark.parametrize("release", [OLDEST, LATEST])
def test_children_of_the_fork_server_find_every_module_a_segment_needs_imported(release, tmp_path):
    """DataDesigner imports DuckDB and more on its first create(); the fork server probes
    for those modules and imports them, so an interrupted async segment's child does not.
    The probe failing would make every child slower, not wrong: only this test sees it."""
    code = (f"import sys; sys.path.insert(0, {str(ROOT / 'tests')!r}); from pathlib import Path; "
            "from harness.faults import run_in_child; from harness.targets.registry import get_target; "
            "from helpers import write_modules_a_segment_imports; get_target('data_designer:async'); "
            f"r = run_in_child(write_modules_a_segment_imports, ({str(tmp_path / 'new')!r},), "
            f"Path({str(tmp_path / 'err')!r})); print(r.exitcode, r.error)")
    result = subprocess.run([str(python_of(release)), "-c", code], capture_output=True, text=True, timeout=300)
    assert result.stdout.split()[:2] == ["0", "None"], result.stdout + result.stderr
    assert (tmp_path / "new").read_text() == ""


def test_the_adapter_turns_off_the_latest_releases_metrics_server(tmp_path):
    """0.9's RunConfig serves OpenTelemetry metrics on 127.0.0.1:9464 from a thread by
    default; workers side by side would contend for the port. The adapter turns it off."""
    code = ("import threading; from harness.targets.registry import get_target; "
            "from harness.scenario import Scenario; "
            f"s = Scenario.from_json(open({str(sorted(CORPUS.glob('*.json'))[0])!r}).read()); "
            f"o = get_target('data_designer:async').run(s, __import__('pathlib').Path({str(tmp_path / 'run')!r})); "
            "print(o.error, len(o.rows) > 0, sorted(t.name for t in threading.enumerate()))")
    result = subprocess.run([str(python_of(LATEST)), "-c", code], capture_output=True, text=True, timeout=300)
    assert result.stdout.startswith("None True"), result.stdout + result.stderr
    assert "serve_forever" not in result.stdout


def test_the_import_probe_reports_a_childs_new_modules_and_gives_up_on_a_hung_child():
    code = textwrap.dedent("""
        import os, sys, time
        from harness.targets import data_designer_preload as probe
        probe._probe = lambda: __import__("xml.dom.minidom")
        found = probe.modules_a_first_run_imports()
        probe._probe = lambda: time.sleep(600)
        hung = probe.modules_a_first_run_imports(timeout=1.0)
        try:
            os.waitpid(-1, os.WNOHANG)
            left = "a-child-left"
        except ChildProcessError:
            left = "no-child-left"
        print("xml.dom.minidom" in found, "xml.dom.minidom" in sys.modules, hung, left)
    """)
    result = subprocess.run([str(python_of(LATEST)), "-c", code], capture_output=True, text=True, timeout=300)
    # found in the probe child, not imported here by probing; the hung probe killed and reaped
    assert result.stdout.split() == ["True", "False", "[]", "no-child-left"], result.stdout + result.stderr


@pytest.mark.parametrize("release", [OLDEST, LATEST])
def test_the_adapter_says_how_the_release_reads_a_dataset_whose_files_differ(release, tmp_path):
    """The nullable-ints model tears a dataset the way the release reads it: the adapter's
    `dataset_schema` (read off `read_parquet_dataset`'s code) must be what that function does
    with an int64 file before a double one, and `run_reads_dataset` whether create() is the
    path (it loads the dataset; 0.6.0's adapter drives build(), which does not)."""
    code = textwrap.dedent(f"""
        import pyarrow as pa, pyarrow.parquet as pq
        from pathlib import Path
        from data_designer.config.utils.io_helpers import read_parquet_dataset
        from harness.targets.registry import get_target
        d = Path({str(tmp_path)!r})
        pq.write_table(pa.table({{"n": pa.array([2**53 + 1], pa.int64())}}), d / "batch_00000.parquet")
        pq.write_table(pa.table({{"n": pa.array([None], pa.float64())}}), d / "batch_00001.parquet")
        try:
            read_parquet_dataset(d)
            read = "first"
        except Exception as exc:
            read = "unified" if "not in range" in str(exc) else repr(exc)
        t = get_target("data_designer:async")
        print(read, t.dataset_schema, t.run_reads_dataset)
    """)
    result = subprocess.run([str(python_of(release)), "-c", code], capture_output=True, text=True, timeout=300)
    read, declared, reads_back = result.stdout.split()
    assert read == declared, result.stdout + result.stderr
    assert (declared, reads_back) == (("first", "False") if release == OLDEST else ("unified", "True"))


#: scenarios drawn within each entry's signature that its model must agree on in CI
MODEL_DRAWS = 50


def _drawn_model_cases() -> list:
    """(release, target, entries, then): every open entry of 0.9.7 async and 0.6.0 sync but
    those whose signature needs model columns (an outage, a provider fault), held on their
    own scenario (the ledger test) and measured apart: under an unseeded shuffle each such
    scenario costs the models minutes of provider requests (docs/model-agreement.md). An entry
    whose signature needs a chain over two releases is held on chains whose resumes run on
    the release its own scenario resumes on (`models --then`: a second a draw, its segments
    forked from that release's server). Two entries a test, so that the minutes these cost
    spread over the workers."""
    cases = []
    for release, target in ((LATEST, "data_designer:async"), (OLDEST, "data_designer:sync")):
        by_then: dict[str | None, list[str]] = {}
        for f in LEDGER:
            if f.open_on(target, release) and not {"faults", "provider_faults"} & set(f.signature):
                then = ",".join(c.text for seg in f.scenario.segments for c in seg.changes if c.kind == "release")
                by_then.setdefault(then or None, []).append(f.id)
        for then, found in sorted(by_then.items(), key=lambda item: item[0] or ""):
            entries = sorted(found)
            for i in range(0, len(entries), 2):
                chunk = tuple(entries[i:i + 2])
                ident = f"{release}-{'+'.join(chunk)}" + (f"-then-{then}" if then else "")
                cases.append(pytest.param(release, target, chunk, then, id=ident))
    return cases


@pytest.mark.parametrize(("release", "target", "entries", "then"), _drawn_model_cases())
def test_each_model_gives_its_releases_rows_on_50_scenarios_drawn_within_its_signature(release, target, entries,
                                                                                        then, tmp_path):
    """The models are what makes a failure known: each open entry's, composed with the
    release's others, must reproduce what the release does (failing or not) on scenarios
    drawn within the entry's signature, not only on the entry's own scenario."""
    report = tmp_path / "agreement.json"
    for other in (then or "").split(","):
        if other:
            python_of(other)
    result = harness_in(release, "models", "--target", target, "-n", str(MODEL_DRAWS), "--json", str(report),
                        "--entries", ",".join(entries), *(("--then", then) if then else ()))
    assert result.returncode == 0, result.stdout + result.stderr
    agreements = json.loads(report.read_text())
    rows = agreements if isinstance(agreements, list) else agreements["entries"]
    assert {a["entry"] for a in rows} == set(entries)
    timed = {f.id for f in LEDGER if f.tries > 1}
    for a in rows:
        assert a["drawn"] == MODEL_DRAWS and a["agreed"] == MODEL_DRAWS, a
        # a model held to its release only where it fails is no check; an entry the release's
        # timing decides (two fresh runs in one wall-clock second) may not fail on any draw
        assert a["failed_on_release"] > 0 or a["entry"] in timed, a
