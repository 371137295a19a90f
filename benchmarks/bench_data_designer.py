"""Speed of the harness against real DataDesigner releases, printed as a Markdown table.

    python benchmarks/bench_data_designer.py            # builds/uses .envs/dd-0.6.0 and dd-0.9.7

Measures, each in the release's own environment:
- examples per second of a search with `raise` faults and with all faults, after a first
  short search that pays what a process pays once (measured, and shown apart);
- the harness's own overhead per example, as a fraction of the time spent running
  DataDesigner (the adapter's segment runs and the final `load_dataset`, wherever they
  run: in the search's process or in a child process);
- examples per second of two searches side by side (what `-n 2` gives) against the same
  two one after the other (what one worker gives), median of three;
- wall time to the issue #709 finding on 0.6.0 (sync), shrink included, from a warm
  environment (the command a user runs, process start and import included);
- examples per second and the harness's overhead with model-backed columns (every example
  has one or two, interrupted by provider outages): the local model provider runs in the
  search's process and answers while DataDesigner waits, so its time counts on the
  target's side. `--only model-columns` measures just these rows.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

EXAMPLES = 40
#: examples of the first search, which pays the one-time costs (see `inside`)
WARM_UP = 3
SEED = 7
ROOT = Path(__file__).resolve().parents[1]


def inside(target: str, examples: int, seed: int, faults: str, processes: str = "fresh") -> dict:
    """Run in a DataDesigner environment: one search, with the time DataDesigner took. A
    fault list of provider interruptions only (`outage`) draws model columns in every example."""
    import dataclasses

    from harness.fault_kinds import KINDS
    from harness.property import hunt
    from harness.targets.registry import get_target

    target = get_target(target)  # selects the engine before DataDesigner is imported
    actions = tuple(faults.split(","))
    opt_in = target.capabilities.opt_in
    if any(KINDS[a].needs_provider for a in actions):
        opt_in = tuple(d for d in opt_in if d != "model columns")
    caps = dataclasses.replace(target.capabilities, fault_actions=actions, opt_in=opt_in,
                               samplings=("ordered",), processes=tuple(processes.split(",")))
    # What a process pays once (importing DataDesigner, whose first create() also imports
    # DuckDB and more; starting the fork server, which imports DataDesigner and probes a
    # segment's imports) is measured apart, by a first short search: the measured search
    # is the steady state a long search or a CI job spends its time in.
    warm_up = hunt(target, max_examples=WARM_UP, seed=seed + 1000, capabilities=caps, known=lambda s, v: "any failure")
    # Count every example: failures are recorded, not stopped at.
    result = hunt(target, max_examples=examples, seed=seed, capabilities=caps, known=lambda s, v: "any failure")
    # DataDesigner's share (`HuntResult.target_seconds`): the adapter's segment runs
    # (rendering the config and seed file, constructing DataDesigner, create()/build() with
    # its checkpoint callbacks) and the final load_dataset(), timed where they run: in this
    # process, or in the child a faulted async segment runs in (reported through the
    # trial's journal). Everything else per example, child processes included, is the
    # harness's overhead.
    return {"examples": result.examples, "elapsed": result.elapsed, "dd": result.target_seconds,
            "start": warm_up.elapsed}


def run_inside(release: str, target: str, examples: int, seed: int, faults: str, processes: str = "fresh") -> dict:
    from harness import environments

    python = environments.env_python(release)
    out = subprocess.run([str(python), __file__, "--inside", target, str(examples), str(seed), faults, processes],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def concurrent(release: str, target: str, examples: int) -> tuple[float, float]:
    """Two equal searches (the same seed, so the same scenarios) run one after the other, as
    one worker runs them, and then side by side, as `-n 2` runs them: the ratio of the
    examples per second of the two ways, and the harness's overhead when side by side.
    Equal searches finish together, so neither runs alone for part of the side-by-side
    time, and both ways do the same examples. One search runs alone before the pair and
    one after it, so a machine that speeds up or slows down favours neither way."""
    from harness import environments

    python = environments.env_python(release)
    seeds = (SEED, SEED)
    alone = [run_inside(release, target, examples, SEED, "raise")]
    procs = [subprocess.Popen([str(python), __file__, "--inside", target, str(examples), str(seed), "raise", "fresh"],
                              stdout=subprocess.PIPE, text=True) for seed in seeds]
    rate, elapsed, dd = 0.0, 0.0, 0.0
    for proc in procs:
        out, _ = proc.communicate()
        measured = json.loads(out.strip().splitlines()[-1])
        rate += measured["examples"] / measured["elapsed"]  # the two searches run side by side
        elapsed, dd = elapsed + measured["elapsed"], dd + measured["dd"]
    alone.append(run_inside(release, target, examples, SEED, "raise"))
    one = sum(m["examples"] for m in alone) / sum(m["elapsed"] for m in alone)
    return rate / one, (elapsed - dd) / dd


def time_to_709() -> float:
    from harness import environments

    python = environments.env_python("0.6.0")
    started = time.perf_counter()
    result = subprocess.run([str(python), "-m", "harness.cli", "hunt", "--target", "data_designer:sync",
                             "--seed", "1"], capture_output=True, text=True)
    assert result.returncode == 1, result.stdout
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inside", nargs=5, metavar=("TARGET", "EXAMPLES", "SEED", "FAULTS", "PROCESSES"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--only", choices=("model-columns",), help="Measure only these rows.")
    args = parser.parse_args()
    if args.inside:
        target, examples, seed, faults, processes = args.inside
        print(json.dumps(inside(target, int(examples), int(seed), faults, processes)))
        return

    from harness import environments

    for release in ("0.6.0", "0.9.7"):
        environments.create_env(release, say=lambda _line: None)
    print("| measure | 0.6.0 (sync) | 0.9.7 (async) | target |")
    print("|---|---|---|---|")
    model_columns()
    if args.only:
        return
    rows = {}
    for release, target in (("0.6.0", "data_designer:sync"), ("0.9.7", "data_designer:async")):
        raise_only = run_inside(release, target, EXAMPLES, SEED, "raise")
        all_faults = run_inside(release, target, EXAMPLES, SEED, "raise,kill,tear")
        new = run_inside(release, target, EXAMPLES, SEED, "raise,kill,tear,sigint,sigterm", "fresh,same")
        one = raise_only["examples"] / raise_only["elapsed"]
        rows[release] = {
            "eps_raise": one,
            "eps_all": all_faults["examples"] / all_faults["elapsed"],
            "eps_new": new["examples"] / new["elapsed"],
            "overhead_new": (new["elapsed"] - new["dd"]) / new["dd"],
            "overhead": (raise_only["elapsed"] - raise_only["dd"]) / raise_only["dd"],
            "dd_ms": 1000 * raise_only["dd"] / raise_only["examples"],
            "start": raise_only["start"],
        }
        # Side-by-side runs are noisier: the median of three.
        pairs = sorted(concurrent(release, target, EXAMPLES) for _ in range(3))
        rows[release]["two"], rows[release]["overhead_two"] = pairs[1]
    a, b = rows["0.6.0"], rows["0.9.7"]
    print(f"| examples/s, raise faults (one process) | {a['eps_raise']:.2f} | {b['eps_raise']:.2f} | |")
    print(f"| examples/s, all faults incl. SIGKILL children | {a['eps_all']:.2f} | {b['eps_all']:.2f} | |")
    print(f"| examples/s, every fault kind incl. signals, fresh and same-process resumes | {a['eps_new']:.2f} "
          f"| {b['eps_new']:.2f} | |")
    print(f"| time inside DataDesigner per example | {a['dd_ms']:.0f} ms | {b['dd_ms']:.0f} ms | |")
    print(f"| once per process: the first {WARM_UP} examples (imports, fork server) | {a['start']:.1f} s "
          f"| {b['start']:.1f} s | |")
    print(f"| harness overhead / DataDesigner time, one process | {a['overhead']:.0%} | {b['overhead']:.0%} | <= 10% |")
    print(f"| the same, two searches side by side (-n 2) | {a['overhead_two']:.0%} | {b['overhead_two']:.0%} | <= 10% |")
    print(f"| the same, every fault kind and resume placement | {a['overhead_new']:.0%} | {b['overhead_new']:.0%} "
          "| <= 10% |")
    print(f"| two concurrent searches / one (what -n 2 gives) | {a['two']:.2f}x | {b['two']:.2f}x | >= 1.7x |")
    print(f"| #709 finding on 0.6.0, shrink included, warm environment | {time_to_709():.1f} s | | < 30 s |")


def model_columns() -> None:
    """The rows with model-backed columns: one or two LLM text columns in every example,
    answered by the harness's local provider, interrupted by outages."""
    measured = {}
    for release, target in (("0.6.0", "data_designer:sync"), ("0.9.7", "data_designer:async")):
        measured[release] = run_inside(release, target, EXAMPLES, SEED, "outage")
    a, b = measured["0.6.0"], measured["0.9.7"]
    print(f"| examples/s, model columns in every example, outage faults | {a['examples'] / a['elapsed']:.2f} "
          f"| {b['examples'] / b['elapsed']:.2f} | |")
    print(f"| time inside DataDesigner (provider included) per example, model columns | "
          f"{1000 * a['dd'] / a['examples']:.0f} ms | {1000 * b['dd'] / b['examples']:.0f} ms | |")
    print(f"| harness overhead / DataDesigner time, model columns | {(a['elapsed'] - a['dd']) / a['dd']:.0%} "
          f"| {(b['elapsed'] - b['dd']) / b['dd']:.0%} | <= 10% |")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
