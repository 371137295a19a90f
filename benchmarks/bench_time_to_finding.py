"""Time to a shrunk finding of each open ledger entry on its release, as a Markdown table.

    python benchmarks/bench_time_to_finding.py                 # every open entry, seeds 21 22 23
    python benchmarks/bench_time_to_finding.py --seeds 21 --only dd-shuffle-resume-restarts-permutation-async

For every ledger entry not fixed upstream (`Finding.fixed_upstream`), on the newest release
it fails on that has an environment here (`.envs/`, see `resume-harness env`), a search
starts from scratch in a fresh process of that release's environment, as a user's `hunt`
would:
- narrowed only by the entry's signature (`harness.model_check.within_signature`: its
  source, sampling, engine, changes, fault or provider-fault kinds, seed values), with
  default settings otherwise (300 examples, the default shrink budget);
- with the rest of the ledger as `--known`: every open entry of that release except those
  of the entry's own model (another entry of the same model, such as the two ways a
  hydrating reader's offset goes wrong, explains the same failures). A failure the others
  explain is counted, not stopped at, as `hunt --known` does;
- the time is the process's wall time from its start (imports and the fork server
  included) to the shrunk finding, and the finding counts only when the whole ledger's
  models reproduce it (`KnownBugs`) and either name the entry or do not reproduce it
  without the entry's model: the entry's bug takes part in it (alone, or with another: a
  row the provider's fault dropped that then leaves a hole no resume gets past, which the
  ledger names after the hole's entry, the one sharing the failure's anomaly kinds). A
  finding the ledger does not explain, or explains without the entry's model, is another
  bug: "-".

The table gives, per entry, the median over the seeds (a seed that found nothing, or found
another bug, counts as missing: "-"), the examples to the first failure and the shrink
runs of the median seed, and totals.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEEDS = (21, 22, 23)


def inside(entry_id: str, seed: int, shrink_on: str = "model") -> dict:
    """In the release's environment: one search for `entry_id`, from scratch."""
    from harness.ledger import KnownBugs, load_ledger, packaged_ledger, shrink_model
    from harness.model_check import needs_release_chain, signature_capabilities, within_signature
    from harness.property import DEFAULT_SHRINK_SECONDS, hunt
    from harness.targets.registry import get_target

    ledger = load_ledger(packaged_ledger())
    entry = next(f for f in ledger if f.id == entry_id)
    target = get_target(entry.target)
    caps = signature_capabilities(entry, target.capabilities)
    if needs_release_chain(entry):  # a chain over releases: the entry's own, as `hunt --then` draws it
        from harness.cli import release_chain_caps

        chain = [c.text for s in entry.scenario.segments for c in s.changes if c.kind == "release"]
        caps = release_chain_caps(target, caps, ",".join(dict.fromkeys(chain)))
    others = KnownBugs([f for f in ledger if f.model != entry.model], target)
    whole = KnownBugs(ledger, target)
    model = shrink_model(target, others, releases=caps.release_chain) if shrink_on == "model" else None
    result = hunt(target, seed=seed, capabilities=caps, known=others, strategy=within_signature(entry, caps),
                  shrink_model=model, shrink_seconds=DEFAULT_SHRINK_SECONDS)
    named = whole(result.finding, result.verdict) if result.finding is not None else None
    # the entry's bug takes part where the ledger names it, or where the ledger without the
    # entry's model does not reproduce what the whole ledger does (the names keep the entries
    # that share an anomaly kind with the failure: a provider fault's dropped row whose hole
    # then blocks the resume is named after the hole's entry alone)
    needed = named is not None and (entry_id in named.split("+") or others(result.finding, result.verdict) is None)
    return {"entry": entry_id, "seed": seed, "found": result.finding is not None,
            "attributed": named, "of_entry": needed,
            "examples_to_first": result.examples_to_first_failure, "runs": result.examples,
            "model_runs": result.model_runs, "confirm_runs": result.confirm_runs,
            "hunt_seconds": result.elapsed, "first_failure_seconds": result.first_failure_seconds, "note": result.note,
            "kinds": list(result.verdict.kinds) if result.verdict is not None else [],
            "scenario": result.finding.to_json() if result.finding is not None else None}


def release_for(entry, ready: set[str]) -> str | None:
    from harness.ledger import _version

    for release in sorted(entry.fails_on, key=_version, reverse=True):
        if release in ready:
            return release
    return None


def measure(entry_id: str, release: str, seed: int, shrink_on: str) -> dict:
    from harness import environments

    python = environments.env_python(release)
    started = time.perf_counter()
    done = subprocess.run([str(python), __file__, "--inside", entry_id, str(seed), shrink_on], capture_output=True, text=True,
                          cwd=ROOT)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{entry_id} seed {seed} on {release} failed:\n{done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall"] = wall
    result["release"] = release
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--only", nargs="+", help="entry ids")
    parser.add_argument("--shrink-on", choices=("model", "target"), default="model",
                        help="as hunt's --shrink-on: 'target' measures shrinking on the release alone")
    parser.add_argument("--json", type=Path, help="also write every run's result here (JSON lines)")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    from harness import environments
    from harness.ledger import load_ledger, packaged_ledger

    ready = {version for _, version in environments.ready_envs()}
    entries = [f for f in load_ledger(packaged_ledger()) if not f.fixed_upstream]
    if args.only:
        entries = [f for f in entries if f.id in args.only]
    rows, total = [], []
    for entry in entries:
        release = release_for(entry, ready)
        if release is None:
            rows.append(f"| {entry.id} | - | no environment for {', '.join(entry.fails_on)} | | | |")
            continue
        runs = []
        for seed in args.seeds:
            result = measure(entry.id, release, seed, args.shrink_on)
            runs.append(result)
            print(json.dumps({k: v for k, v in result.items() if k != "scenario"}), file=sys.stderr, flush=True)
            if args.json is not None:
                with args.json.open("a", encoding="utf-8") as out:
                    out.write(json.dumps(result) + "\n")
        found = sorted((r for r in runs if r["of_entry"]), key=lambda r: r["wall"])
        if len(found) * 2 > len(runs):  # a median over the seeds needs most of them to find it
            median = statistics.median(r["wall"] for r in runs if r["of_entry"]) if len(found) == len(runs) else \
                sorted([r["wall"] if r["of_entry"] else float("inf") for r in runs])[len(runs) // 2]
            middle = min(found, key=lambda r: abs(r["wall"] - median))
            total.append(median)
            rows.append(f"| {entry.id} | {release} | {median:.1f} s | {len(found)}/{len(runs)} | "
                        f"{middle['examples_to_first']} | {middle['runs']} |")
        else:
            rows.append(f"| {entry.id} | {release} | - | {len(found)}/{len(runs)} | | |")
    print("| entry | release | median time to a shrunk finding | seeds that found it | examples to the "
          "first failure | runs incl. shrinking |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(row)
    if total:
        print(f"\n{len(total)} of {len(entries)} entries found; their medians add up to {sum(total):.0f} s, "
              f"the slowest {max(total):.1f} s.")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--inside":
        sys.path.insert(0, str(ROOT))
        print(json.dumps(inside(sys.argv[2], int(sys.argv[3]), sys.argv[4])))
    else:
        main()
