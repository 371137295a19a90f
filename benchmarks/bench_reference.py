"""Speed of the harness on the reference target, printed as a Markdown table.

    python benchmarks/bench_reference.py            # the numbers in the README
    python benchmarks/bench_reference.py --quick    # a smaller run, for a smoke check

Measures, on one core (one process, no xdist):
- examples per second of a hunt on the reference: straight + interrupted + resumed runs,
  checkpoints written as parquet files on disk (trial directories as the harness picks);
- `expected_rows` scenarios per second (pure, no disk);
- examples until each mutant is first caught (median over 5 search seeds);
- peak resident memory of a whole hunt, measured in a child process.
"""

from __future__ import annotations

import argparse
import platform
import resource
import statistics
import subprocess
import sys
import time

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed

from harness.property import hunt
from harness.reference.model import expected_rows
from harness.reference.mutants import MUTANTS
from harness.strategies import scenarios
from harness.targets.registry import get_target

SEEDS = (1, 2, 3, 4, 5)


def examples_per_second(examples: int) -> float:
    result = hunt(get_target("reference"), max_examples=examples, seed=SEEDS[0])
    assert result.finding is None, "the reference must pass"
    return result.examples / result.elapsed


def draw_scenarios(count: int) -> list:
    drawn = []

    @settings(max_examples=count, database=None, deadline=None, phases=(Phase.generate,),
              suppress_health_check=list(HealthCheck))
    @hypothesis_seed(SEEDS[0])
    @given(scenarios())
    def collect(scenario):
        drawn.append(scenario)

    collect()
    return drawn


def expected_rows_per_second(count: int) -> float:
    drawn = draw_scenarios(count)
    started = time.perf_counter()
    for scenario in drawn:
        expected_rows(scenario)
    return len(drawn) / (time.perf_counter() - started)


def examples_to_catch(name: str, budget: int) -> tuple[float, int]:
    counts = []
    for s in SEEDS:
        result = hunt(get_target(f"mutant:{name}"), max_examples=budget, seed=s)
        counts.append(result.examples_to_first_failure if result.finding is not None else budget + 1)
    return statistics.median(counts), max(counts)


def peak_memory_mb(examples: int) -> float:
    code = (
        "import resource; from harness.property import hunt; from harness.targets.registry import get_target;"
        f"hunt(get_target('reference'), max_examples={examples}, seed=1);"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return int(out.strip().splitlines()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer examples (a smoke check, not the README numbers)")
    args = parser.parse_args()
    hunt_examples, memory_examples, budget = (100, 200, 300) if args.quick else (1000, 2000, 300)

    print(f"machine: {platform.machine()}, python {platform.python_version()}, one process")
    print("| measure | value | target |")
    print("|---|---|---|")
    print(f"| reference hunt, examples/s ({hunt_examples} examples) | {examples_per_second(hunt_examples):.0f} | >= 100 |")
    print(f"| expected_rows, scenarios/s | {expected_rows_per_second(2000):,.0f} | >= 10,000 |")
    for name in sorted(MUTANTS):
        median, worst = examples_to_catch(name, budget)
        target = "<= 50" if name == "seed_restart" else "caught"
        print(f"| mutant:{name}, examples to catch (median / worst of 5 seeds) | {median:g} / {worst} | {target} |")
    print(f"| peak memory, {memory_examples}-example hunt | {peak_memory_mb(memory_examples):.0f} MB | < 300 MB |")
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\n(benchmark process peak: {own:.0f} MB)")


if __name__ == "__main__":
    main()
