"""`resume-harness`: hunt for resume bugs, list targets, replay a finding.

Exit codes (`harness.exits`): 0 nothing found (or the replayed scenario passes), 1 a finding
(or the replayed scenario fails), 2 a usage error or bad input (one line naming the problem
and the fix), 3 the harness itself failed (one line; the traceback goes to a file), 130 / 143
stopped by SIGINT / SIGTERM. Nothing but a finding exits 1.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer
from hypothesis.configuration import set_hypothesis_home_dir
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

import harness
from harness import environments, exits, repro
from harness.changes import release_of
from harness.errors import HarnessUsageError
from harness.fault_kinds import KINDS
from harness.ledger import KnownBugs, hang_seconds, load_ledger, shrink_model
from harness.limits import MAX_FILE_BYTES, Limits
from harness.names import checked_name
from harness.property import (
    DEFAULT_MAX_EXAMPLES,
    DEFAULT_SHRINK_SECONDS,
    HuntResult,
    check_repeatedly,
    check_supported,
    hunt,
    new_seed,
)
from harness.render import render_verdict
from harness.scenario import Scenario
from harness.targets.base import Capabilities
from harness.targets.registry import DEFAULT_TARGET, describe_target, get_target, target_names
from harness.workdirs import work_directory

try:  # recent typer carries its own click
    from typer._click.exceptions import ClickException
except ImportError:  # pragma: no cover - older typer, with click installed beside it
    from click.exceptions import ClickException
Abort = typer.Abort

# rich_markup_mode=None: plain help (no stray metavars on flags); errors are ours to print.
app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, no_args_is_help=True,
                  rich_markup_mode=None,
                  help="Property-based checks that a resumed run equals an uninterrupted one, row for row.")
#: Off a terminal (a pipe, a log, CI) lines are never wrapped: commands, seeds and paths copy whole.
out = Console(highlight=False, soft_wrap=not sys.stdout.isatty())
err = Console(stderr=True, highlight=False, soft_wrap=not sys.stderr.isatty())


def error_line(text: str) -> None:
    err.print(f"resume-harness: error: {text}", soft_wrap=True, markup=False, highlight=False)


DD_VERSION = typer.Option(None, "--dd-version",
                          help="Run inside the DataDesigner environment of this name (see 'env create').")
env_app = typer.Typer(help="Virtual environments with one DataDesigner release (or fork) each.",
                      no_args_is_help=True)
app.add_typer(env_app, name="env")


def _arguments_without_dd_version() -> list[str]:
    """This command's own arguments, less --dd-version, to run again inside the environment."""
    args, skip = [], False
    for arg in sys.argv[1:]:
        if skip:
            skip = False
        elif arg == "--dd-version":
            skip = True
        elif not arg.startswith("--dd-version="):
            args.append(arg)
    return args


@env_app.command("create")
def env_create(
    name: str = typer.Argument(..., help="A DataDesigner release (0.6.0), or a name for a fork with --from."),
    sources: list[str] | None = typer.Option(None, "--from", help="pip specs to install instead of the release "
                                                 "(a fork's checkout path, a wheel); repeatable."),
    rebuild: bool = typer.Option(False, "--rebuild", help="Build it again even if it is ready."),
) -> None:
    """Build a virtual environment with DataDesigner NAME and this package."""
    environments.create_env(name, sources or None, say=lambda line: out.print(line, markup=False), rebuild=rebuild)


@env_app.command("list")
def env_list() -> None:
    """List the ready environments."""
    found = environments.ready_envs()
    if not found:
        out.print(f"no environments in {environments.envs_root()}; create one with: resume-harness env create 0.6.0")
    for name, version in found:
        out.print(f"{name}: DataDesigner {version} ({environments.env_dir(name)})", markup=False)


@env_app.command("remove")
def env_remove(name: str = typer.Argument(..., help="The environment's name.")) -> None:
    """Delete an environment."""
    environments.remove_env(name)
    out.print(f"removed {environments.env_dir(name)}", markup=False)


@app.command()
def targets() -> None:
    """List the targets and what each supports."""
    for name in target_names():
        try:
            target = get_target(name)
        except HarnessUsageError as exc:
            envs = ", ".join(f"{n} ({v})" for n, v in environments.ready_envs()) or "none yet"
            out.print(f"[bold]{name}[/]: {describe_target(name)}: not available here ({exc}); "
                      f"environments: {envs}", soft_wrap=True, highlight=False)
            continue
        caps = target.capabilities
        out.print(f"[bold]{name}[/] {target.version}: {describe_target(name)}", soft_wrap=True)
        out.print(f"    engines: {', '.join(caps.engines)}; sources: {', '.join(caps.sources)}; "
                  f"samplings: {', '.join(caps.samplings)}; faults: {', '.join(caps.fault_actions)} at "
                  f"{', '.join(caps.fault_points)}; resume: {', '.join(caps.resume_modes)} in "
                  f"{' or '.join(caps.processes)} processes; "
                  f"extension: {'yes' if caps.extension else 'no'}; "
                  f"changes before a resume: {', '.join(caps.change_kinds) or 'none'}"
                  + (f" (releases: {', '.join(caps.releases)})" if caps.releases else ""), soft_wrap=True)


@app.command("hunt")
def hunt_command(
    target: str = typer.Option(DEFAULT_TARGET, "--target", "-t", help="Target to check (see 'targets')."),
    max_examples: int = typer.Option(DEFAULT_MAX_EXAMPLES, "--max-examples", "-n", min=1,
                                     help="Scenarios to try before shrinking."),
    seed: int | None = typer.Option(None, "--seed", help="Search seed (printed on every run)."),
    out_dir: Path | None = typer.Option(None, "--out", help="Write finding.json here when something is found."),
    workdir: Path | None = typer.Option(None, "--workdir", help="Where trial directories go (default: "
                                        "$RESUME_HARNESS_WORKDIR, else /dev/shm, else the system temp directory)."),
    dd_version: str | None = DD_VERSION,
    known_dir: Path | None = typer.Option(None, "--known", help="A findings directory: failures that the models "
                                             "of its open entries for this target and release reproduce exactly "
                                             "are counted, not reported."),
    sources: str | None = typer.Option(None, "--sources", help="Draw only these seed sources (comma-separated)."),
    samplings: str | None = typer.Option(None, "--samplings", help="Draw only these samplings (ordered,shuffle)."),
    faults: str | None = typer.Option(None, "--faults", help="Draw only these fault actions "
                                      "(raise,kill,tear,sigint,sigterm,outage,revoked)."),
    model_columns: bool = typer.Option(False, "--model-columns", help="Draw LLM text columns answered by the "
                                       "harness's model provider, with its faults, where the target makes that "
                                       "a choice (DataDesigner: an example then costs seconds); implied by "
                                       "--faults outage or revoked."),
    processes: str | None = typer.Option(None, "--processes", help="Resume only in these processes (fresh,same)."),
    no_extension: bool = typer.Option(False, "--no-extension", help="Resume with the same num_records only."),
    changes: str | None = typer.Option(None, "--changes", help="Draw only these changes between an interruption "
                                       "and its resume (see 'targets'; 'none' for no change)."),
    then: str | None = typer.Option(None, "--then", help="Cross-release chains (DataDesigner): the first resume "
                                    "runs on the first of these releases, the next on the second, and so on "
                                    "(comma-separated environment names), e.g. --dd-version 0.6.0 --then 0.6.1"),
    shrink_seconds: float = typer.Option(DEFAULT_SHRINK_SECONDS, "--shrink-seconds", min=0,
                                         help="Time budget for shrinking a finding; past it the smallest failing "
                                         "scenario so far is reported, said to be maybe not minimal."),
    shrink_on: str = typer.Option("model", "--shrink-on", help="Where a finding shrinks: 'model' (on the models of "
                                  "the release's known bugs where one shows the failure, each step milliseconds, the "
                                  "result confirmed on the target) or 'target' (every step on the target)."),
    stats: str = typer.Option("table", "--stats", help="What the search exercised: 'table' (printed after the "
                              "verdict), 'json' (one JSON line, last on stdout, and coverage.json in --out) or "
                              "'none'."),
) -> None:
    """Search for a scenario whose resumed run differs from the uninterrupted one."""
    if shrink_on not in ("model", "target"):
        raise HarnessUsageError(f"--shrink-on takes model or target, not {shrink_on!r}")
    if stats not in STATS_FORMATS:
        raise HarnessUsageError(f"--stats takes {', '.join(STATS_FORMATS)}, not {stats!r}")
    check_output_dir(out_dir, "--out")
    check_output_dir(workdir, "--workdir")
    if dd_version is not None:
        raise typer.Exit(environments.run_in_env(dd_version, _arguments_without_dd_version()))
    chosen = get_target(target)
    caps = narrowed(chosen, sources=sources, samplings=samplings, fault_actions=faults, processes=processes)
    if model_columns or faults is not None and any(KINDS[a].needs_provider for a in caps.fault_actions):
        caps = dataclasses.replace(caps, opt_in=tuple(d for d in caps.opt_in if d != "model columns"))
    if faults is not None:  # a fault kind asked for by name is drawn, opt-in or not
        caps = dataclasses.replace(caps, opt_in=tuple(d for d in caps.opt_in
                                                      if not (d.startswith("fault ") and d[6:] in caps.fault_actions)))
    if no_extension:
        caps = dataclasses.replace(caps, extension=False)
    if changes is not None and changes.strip() == "none":
        caps = dataclasses.replace(caps, change_kinds=())
    elif changes is not None:
        caps = narrowed(chosen, base=caps, change_kinds=changes)
    if then is not None:
        caps = release_chain_caps(chosen, caps, then)
    ledger = load_ledger(known_dir) if known_dir is not None else []

    known = KnownBugs(ledger, chosen)
    model = shrink_model(chosen, known if ledger else None, releases=caps.release_chain) \
        if shrink_on == "model" else None

    seed = new_seed() if seed is None else seed
    out.print(f"resume-harness {harness.__version__}: hunting on [bold]{chosen.describe()}[/] "
              f"with up to {max_examples} examples, seed {seed} (rerun: --seed {seed})")
    # Hypothesis keeps a cache in its home directory (.hypothesis/ in the current directory by
    # default): the harness gives it one of its own work directories, removed afterwards.
    with work_directory(workdir) as hypothesis_home, Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=err, transient=True) as progress:
        set_hypothesis_home_dir(hypothesis_home)
        task = progress.add_task("searching", total=max_examples)

        def tick(n: int) -> None:
            if n > max_examples:
                progress.update(task, description="shrinking", total=None, completed=n)
            else:
                progress.update(task, completed=n)

        try:
            result = hunt(chosen, max_examples=max_examples, seed=seed, on_example=tick, root=workdir,
                          capabilities=caps, known=known if ledger else None, shrink_seconds=shrink_seconds,
                          shrink_model=model)
        finally:
            set_hypothesis_home_dir(None)
    if result.stopped_by is not None:
        raise typer.Exit(_stopped(result, out_dir, chosen, seed))
    rate = result.examples / result.elapsed if result.elapsed else 0.0
    known_line = _known_summary(result, known_dir)
    if result.finding is None or result.verdict is None:
        share = result.target_seconds / result.elapsed if result.elapsed else 0.0
        agreed = (f"the other {result.examples - result.known_failures} agreed" if result.known_failures
                  else "resumed == straight == reference on every one")
        if result.straight_runs_stood_in:
            agreed += (f" (the reference's rows stood in for {result.straight_runs_stood_in} deterministic straight "
                       "runs: paid where a resumed run failed and on a sample)")
        out.print(f"[green]no {'new ' if result.known_failures else ''}finding[/]: {result.examples} examples in "
                  f"{result.elapsed:.1f}s ({rate:.{1 if rate < 10 else 0}f}/s, {share:.0%} of it inside the target); "
                  f"{known_line or agreed}{'; ' + agreed if known_line else ''}. seed {seed}")
        _print_coverage(result, caps, stats, out_dir)
        raise typer.Exit(0)
    if result.model_runs:
        confirmed = (f"confirmed in {result.confirm_runs} on the target" if result.confirm_runs else
                     "none smaller than the target's own failure")
        shrunk = f"shrunk in {result.model_runs} runs on the known bugs' models, {confirmed}, {result.elapsed:.1f}s"
    else:
        shrunk = f"shrunk in {result.examples} runs, {result.elapsed:.1f}s"
    out.print(f"[red bold]finding[/] after {result.examples_to_first_failure} examples ({shrunk}), seed {seed}")
    if known_line:
        out.print(f"besides it, {known_line}")
    if result.note:
        out.print(f"[yellow]note[/]: {result.note}", markup=True, highlight=False)
    render_verdict(out, result.verdict, result.finding)
    out.print("[bold]shrunk scenario[/]:")
    out.print(result.finding.to_json(), markup=False)
    if out_dir is not None:
        path = write_finding(out_dir, chosen, seed, result.finding, result.verdict.summary(), result.verdict.kinds)
        out.print(f"wrote {path}; replay: resume-harness replay {path}", markup=False)
        written = repro.write_for(out_dir, result.finding, chosen, result.verdict, say=err.print)
        out.print(f"reproducer: {written[0]}; issue text: {written[2]}; regression test: {written[1]}",
                  markup=False)
    _print_coverage(result, caps, stats, out_dir)
    raise typer.Exit(exits.FINDING)


STATS_FORMATS = ("table", "json", "none")


def _print_coverage(result: HuntResult, caps: Any, stats: str, out_dir: Path | None) -> None:
    """The coverage table (`harness.coverage`) after the verdict, or its JSON as the last line."""
    if stats == "table":
        for line in result.coverage.lines(caps):
            out.print(line, markup=False, highlight=False, soft_wrap=True)
    elif stats == "json":
        text = result.coverage.to_json(caps)
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            (out_dir / "coverage.json").write_text(text, encoding="utf-8")
        out.print(json.dumps(result.coverage.to_dict(caps), sort_keys=True), markup=False, highlight=False,
                  soft_wrap=True)


def _known_summary(result: HuntResult, known_dir: Path | None) -> str:
    """What the ledger explained, per entry: never hidden behind 'every one agreed'."""
    if not result.known:
        return ""
    entries = ", ".join(f"{entry} ({count})" for entry, count in sorted(result.known.items(), key=lambda kv: -kv[1]))
    return (f"{result.known_failures} of the {result.examples} examples failed as known findings in {known_dir} "
            f"explain: {entries}")


def _command_line() -> list[str]:
    """The command as the user typed it (from outside an environment, if run inside one)."""
    recorded = os.environ.get(environments.ARGV_VARIABLE)
    if recorded:
        return list(json.loads(recorded))
    return ["resume-harness", *sys.argv[1:]]


def _with_option(argv: list[str], option: str, value: str) -> list[str]:
    """`argv` with `option value` set (replacing any value it had)."""
    args, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == option:
            skip = True
        elif not arg.startswith(option + "="):
            args.append(arg)
    return [*args, option, value]


def _stopped(result: HuntResult, out_dir: Path | None, target: Any, seed: int) -> int:
    """One line for a search a signal stopped: what ran, what it found, how to go on."""
    again = shlex.join(_with_option(_command_line(), "--seed", str(seed)))
    line = (f"resume-harness: stopped by {result.stopped_by} after {result.examples} examples in "
            f"{result.elapsed:.1f}s, seed {seed}; ")
    if result.finding is not None and result.verdict is not None:
        line += f"a failure so far, maybe not shrunk: {result.verdict.summary()}; "
        if out_dir is not None:
            path = write_finding(out_dir, target, seed, result.finding, result.verdict.summary(),
                                 result.verdict.kinds)
            line += f"replay it: resume-harness replay {shlex.quote(str(path))}; "
        else:
            line += f"its scenario: {json.dumps(result.finding.to_dict(), sort_keys=True)}; "
    else:
        line += f"no finding so far{' (' + str(result.known_failures) + ' known)' if result.known else ''}; "
    err.print(line + f"run it again: {again}", soft_wrap=True, markup=False, highlight=False)
    return exits.SIGTERM_EXIT if result.stopped_by == "SIGTERM" else exits.SIGINT_EXIT


MAX_RECORDS = typer.Option(Limits.records, "--max-records", min=1,
                           help="Refuse scenarios that ask for more records than this.")
MAX_SEED_ROWS = typer.Option(Limits.seed_rows, "--max-seed-rows", min=1,
                             help="Refuse scenarios with more seed rows than this.")
MAX_STRING_LENGTH = typer.Option(Limits.string_length, "--max-string-length", min=1,
                                 help="Refuse scenarios with a longer seed string than this.")


@app.command()
def replay(
    files: list[Path] = typer.Argument(..., help="A scenario JSON file, or a finding.json written by hunt; several "
                                       "(a ledger: fixtures/findings/*.json) are replayed in turn, and the exit code "
                                       "is 1 when any of them fails."),
    target: str | None = typer.Option(None, "--target", "-t", help="Target to run it on (default: the one the "
                                      "finding records, and its release; else reference)."),
    workdir: Path | None = typer.Option(None, "--workdir", help="Where trial directories go."),
    dd_version: str | None = DD_VERSION,
    attempts: int | None = typer.Option(None, "--attempts", min=1, help="Tries of the scenario; the first failure "
                                           "counts, or for a finding the first that shows a kind it records "
                                           "(default 1, and 4 for SHUFFLE on a target whose shuffle is unseeded)."),
    straight: bool = typer.Option(False, "--straight", help="Run only the uninterrupted run (differential check)."),
    known_dir: Path | None = typer.Option(None, "--known", help="A findings directory: on a failure, say whether "
                                          "the models of its open entries for this target and release reproduce "
                                          "it exactly (known, and which entries) or not (new)."),
    out_dir: Path | None = typer.Option(None, "--out", help="On a failure, write the reproducer, issue text and "
                                           "regression test here (one file only)."),
    json_path: Path | None = typer.Option(None, "--json", help="Also write each file's verdict here, as JSON: "
                                          "file, target, release, exit (0 passes, 1 fails, null skipped: a target or "
                                          "engine this environment does not have), anomalies, known."),
    max_records: int = MAX_RECORDS,
    max_seed_rows: int = MAX_SEED_ROWS,
    max_string_length: int = MAX_STRING_LENGTH,
) -> None:
    """Run one scenario (or a finding) again, or several in turn, and print the verdicts."""
    check_output_dir(out_dir, "--out")
    check_output_dir(workdir, "--workdir")
    check_output_file(json_path, "--json")
    if out_dir is not None and len(files) > 1:
        raise HarnessUsageError(f"--out writes one finding's reproducer and {len(files)} files were given; "
                                "replay the one to reproduce with --out")
    if dd_version is not None:
        raise typer.Exit(environments.run_in_env(dd_version, _arguments_without_dd_version()))
    limits = Limits(max_records, max_seed_rows, max_string_length)
    inputs = [(file, read_input(file, limits)) for file in files]
    places = [replay_target(loaded, target) for _file, loaded in inputs]
    elsewhere = {release_env for _name, release_env in places}
    if elsewhere != {None}:
        if len(inputs) > 1 and len(elsewhere) > 1:
            raise HarnessUsageError("these files record DataDesigner releases that are not all installed in one "
                                    "environment; replay them in one with --dd-version RELEASE (or choose a "
                                    "target with --target)")
        (release_env,) = elsewhere
        name = places[0][0]
        out.print(f"replaying {' '.join(str(f) for f in files)} on {name} in environment {release_env} (the target "
                  "and release the file records; --target or --dd-version choose others)", markup=False)
        given = ["--target", name] if len(inputs) == 1 else []
        raise typer.Exit(environments.run_in_env(release_env, [*_arguments_without_dd_version(), *given]))
    ledger = load_ledger(known_dir) if known_dir is not None else None
    scenarios = [loaded.scenario.straight() if straight else loaded.scenario for _file, loaded in inputs]
    runnable = _replay_targets(scenarios, [name for name, _release_env in places])
    results = []
    for (file, loaded), scenario, (chosen, skipped) in zip(inputs, scenarios, runnable):
        exits.raise_pending_stop()
        if chosen is None:
            # of a ledger, the entries of a target or engine this environment does not have
            out.print(f"replaying {file}: skipped: {skipped}", markup=False)
            results.append({"file": str(file), "exit": None, "skipped": skipped})
            continue
        out.print(f"replaying {file} on [bold]{chosen.describe()}[/]{replay_notice(loaded, target, chosen)}")
        with hang_deadline(chosen, loaded):
            verdict = check_repeatedly(chosen, scenario, workdir, attempts=attempts, wanted=loaded.anomalies)
        render_verdict(out, verdict, scenario)
        entries = None
        if ledger is not None and not verdict.ok:
            entries = KnownBugs(ledger, chosen, workdir)(scenario, verdict)
            others = sorted({r for i in range(len(scenario.segments))
                             if (r := release_of(scenario, i)) is not None and r != chosen.version})
            also = f", and {', '.join(others)}'s for the segments run there" if others else ""
            out.print(f"known: {entries} (the models of {chosen.describe()}'s open entries{also} reproduce it exactly)"
                      if entries else f"new: no composition of the models of {chosen.describe()}'s open entries"
                      f"{also}, in {known_dir}, reproduces it", markup=False)
        if not verdict.ok and out_dir is not None:
            written = repro.write_for(out_dir, scenario, chosen, verdict, say=err.print, ident=loaded.ident,
                                      explanation=loaded.explanation, hang_seconds=loaded.hang_seconds)
            out.print(f"reproducer: {written[0]}; issue text: {written[2]}; regression test: {written[1]}",
                      markup=False)
        results.append({"file": str(file), "target": chosen.name, "release": chosen.version,
                        "exit": exits.OK if verdict.ok else exits.FINDING,
                        "anomalies": [{"kind": a.kind, "run": a.run} for a in verdict.anomalies],
                        "refusal": verdict.refusal or None, "known": entries or None})
    if json_path is not None:
        json_path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    if len(results) > 1:
        failed = [r["file"] for r in results if r["exit"] == exits.FINDING]
        passed_over = sum(1 for r in results if r["exit"] is None)
        out.print(f"{len(results) - passed_over} files replayed: {len(failed)} failed"
                  + (f" ({', '.join(failed)})" if failed else "")
                  + (f"; {passed_over} skipped (not runnable here)" if passed_over else ""), markup=False)
    raise typer.Exit(exits.FINDING if any(r["exit"] == exits.FINDING for r in results) else exits.OK)


def _replay_targets(scenarios: list[Scenario], names: list[str]) -> list[tuple[Any, str | None]]:
    """Each scenario's target, or why it cannot run here (a target or engine this environment
    does not have): for one scenario, or when none can run, a usage error."""
    targets: dict[str, Any] = {}
    found: list[tuple[Any, str | None]] = []
    for scenario, name in zip(scenarios, names):
        try:
            chosen = targets[name] if name in targets else targets.setdefault(name, get_target(name))
            check_supported(chosen, scenario)
            found.append((chosen, None))
        except HarnessUsageError as exc:
            if len(scenarios) == 1:
                raise
            found.append((None, str(exc)))
    if all(chosen is None for chosen, _ in found):
        raise HarnessUsageError(f"none of the {len(found)} files can run here: {found[0][1]}")
    return found


def replay_target(loaded: InputFile, target: str | None) -> tuple[str, str | None]:
    """The target to replay on, and the release environment to replay in (None: here).

    `--target` (or `--dd-version`) wins; otherwise the file's own target, and for a
    DataDesigner target the release it records: here if it is the one installed, else its
    environment, else a usage error that says how to build it."""
    if target is not None:
        return target, None
    if loaded.target is None:
        return DEFAULT_TARGET, None
    name = loaded.target
    if not name.startswith("data_designer") or not loaded.releases or os.environ.get(environments.IN_ENV_VARIABLE):
        return name, None
    installed = _installed_data_designer()
    if installed in loaded.releases:
        return name, None
    ready = {env for env, _version in environments.ready_envs()}
    for release in sorted(loaded.releases, key=_release_key, reverse=True):
        if release in ready:
            return name, release
    wanted = loaded.releases[-1]
    raise HarnessUsageError(f"the file records target {name} on DataDesigner {', '.join(loaded.releases)}, "
                            f"which is not installed here; create it with 'resume-harness env create {wanted}', "
                            "or choose a release with --dd-version or another target with --target")


def replay_notice(loaded: InputFile, target: str | None, chosen: Any) -> str:
    """Which target is used, and why, when the file has a say in it."""
    if loaded.target is None:
        return ""
    if target is None:
        return " (the target the file records)"
    if target != loaded.target:
        return f" (as asked; the file records {loaded.target})"
    if loaded.releases and chosen.version not in loaded.releases:
        return f" (the file records it on {', '.join(loaded.releases)})"
    return ""


def _installed_data_designer() -> str | None:
    import importlib.metadata

    try:
        return importlib.metadata.version("data-designer")
    except importlib.metadata.PackageNotFoundError:
        return None


def _release_key(text: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else -1 for part in text.split("."))


def check_output_file(path: Path | None, option: str) -> None:
    """A file option the harness will write: refuse it before any work if it names a
    directory or its directory does not exist or cannot be written."""
    if path is None:
        return
    probe = path.absolute()
    if probe.is_dir():
        raise HarnessUsageError(f"{option} {path} is a directory; name a file to write")
    if not probe.parent.is_dir():
        raise HarnessUsageError(f"{option} {path}: its directory {probe.parent} does not exist; create it first")
    if not os.access(probe.parent, os.W_OK | os.X_OK) or (probe.exists() and not os.access(probe, os.W_OK)):
        raise HarnessUsageError(f"{option} {path} cannot be written; name a file you can write")


def check_output_dir(path: Path | None, option: str) -> None:
    """A directory option the harness will create and write in: refuse it before any work
    if it is a file, lies under something that is not a directory, or cannot be written."""
    if path is None:
        return
    probe = path.absolute()
    if probe.exists():
        if not probe.is_dir():
            raise HarnessUsageError(f"{option} {path} is a file, not a directory; name a directory "
                                    "(it is created if it does not exist)")
    else:
        while not probe.exists():
            probe = probe.parent
        if not probe.is_dir():
            raise HarnessUsageError(f"{option} {path} cannot be created: {probe} is not a directory; "
                                    "name a path under a directory")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise HarnessUsageError(f"{option} {path} cannot be written ({probe} is not writable); "
                                "name a directory you can write to")


def release_chain_caps(target: Any, caps: Capabilities, then: str) -> Capabilities:
    """`--then R1,R2`: every chain's resumes run on R1, then R2, each release's own environment."""
    chain = tuple(part.strip() for part in then.split(",") if part.strip())
    engine = getattr(target, "engine", None)
    if not target.name.startswith("data_designer") or engine is None:
        raise HarnessUsageError(f"--then runs resumes on other DataDesigner releases; {target.name} has none "
                                "(use --target data_designer with --dd-version)")
    if not chain:
        raise HarnessUsageError("--then needs at least one release, e.g. --then 0.6.1")
    from harness.targets.data_designer import engines_for

    versions = dict(environments.ready_envs())
    for name in chain:
        environments.env_python(name)  # a usage error naming the command that creates it
        if engine not in engines_for(versions.get(name, name)):
            raise HarnessUsageError(f"DataDesigner {name} has no {engine} engine; a {engine} chain cannot resume "
                                    f"on it (use --target data_designer:async)")
    kinds = caps.change_kinds if "release" in caps.change_kinds else (*caps.change_kinds, "release")
    return dataclasses.replace(caps, release_chain=chain, releases=chain, change_kinds=kinds,
                               max_interruptions=max(caps.max_interruptions, len(chain)))


def narrowed(target: Any, base: Capabilities | None = None, **choices: str | None) -> Capabilities:
    """The target's capabilities (or `base`), narrowed by comma-separated choices on the
    command line."""
    caps = base or target.capabilities
    for field_name, text in choices.items():
        if text is None:
            continue
        wanted = tuple(part.strip() for part in text.split(",") if part.strip())
        supported = getattr(caps, field_name)
        unsupported = [w for w in wanted if w not in supported]
        if not wanted or unsupported:
            raise HarnessUsageError(f"{target.name} supports {field_name.replace('_', ' ')} "
                                    f"{', '.join(supported)}; got {text!r}")
        caps = dataclasses.replace(caps, **{field_name: wanted})
    return caps


@dataclasses.dataclass(frozen=True)
class InputFile:
    """A scenario file, or a finding (hunt's finding.json, a ledger entry) with what it records."""

    scenario: Scenario
    target: str | None = None
    #: the releases it was found on (a finding's target_version, a ledger entry's fails_on)
    releases: tuple[str, ...] = ()
    #: a ledger entry's id and explanation, for the reproducer
    ident: str | None = None
    explanation: str | None = None
    #: the anomaly kinds the finding records (a replay tries until one of them shows)
    anomalies: tuple[str, ...] = ()
    #: a ledger entry's deadline for a run that never ends (`Finding.hang_seconds`)
    hang_seconds: float | None = None


def read_input(file: Path, limits: Limits | None = None) -> InputFile:
    """Read a scenario or a finding; any way it can be bad is a usage error naming it."""
    try:
        size = file.stat().st_size
        if file.is_dir():
            raise HarnessUsageError(f"{file} is a directory; pass a scenario JSON file or a finding.json")
        if size > MAX_FILE_BYTES:
            raise HarnessUsageError(f"{file} is {size} bytes, more than any scenario needs "
                                    f"({MAX_FILE_BYTES} at most); pass a scenario or a finding.json")
        text = file.read_bytes().decode("utf-8")
    except OSError as exc:
        raise HarnessUsageError(f"cannot read scenario file {file}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise HarnessUsageError(f"{file} is not UTF-8 text (byte {exc.start}); pass a scenario JSON file "
                                "or a finding.json written by 'hunt --out'") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HarnessUsageError(f"{file} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); "
                                "pass a scenario or a finding.json written by 'hunt --out'") from None
    except RecursionError:
        raise HarnessUsageError(f"{file} nests JSON too deeply to be a scenario; pass a scenario or a "
                                "finding.json written by 'hunt --out'") from None
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise HarnessUsageError(f"{file} is not a usable JSON document ({exc}); pass a scenario or a "
                                "finding.json written by 'hunt --out'") from None
    record: dict[str, Any] = {}
    if isinstance(data, dict) and "scenario" in data and ("harness_version" in data or "fails_on" in data):
        record, data = data, data["scenario"]
    try:
        scenario = Scenario.from_dict(data)
        if limits is not None:
            limits.check(scenario)
        target = record.get("target")
        if target is not None and not isinstance(target, str):
            raise HarnessUsageError(f"field 'target' must be a target name, got {json.dumps(target)}")
        releases = record.get("fails_on") or ([record["target_version"]] if "target_version" in record else [])
        if not isinstance(releases, list) or not all(isinstance(r, str) for r in releases):
            raise HarnessUsageError("fields 'fails_on' / 'target_version' must name releases")
        ident = record.get("id")
        if ident is not None:
            ident = checked_name(ident, "finding id", "dd-ordered-resume-replays-seed-rows-sync")
        try:
            deadline = hang_seconds(record)
        except ValueError as exc:
            raise HarnessUsageError(f"field 'hang_seconds': {exc}") from None
    except RecursionError:
        raise HarnessUsageError(f"{file}: nested too deeply to be a scenario") from None
    except HarnessUsageError as exc:
        raise HarnessUsageError(f"{file}: {exc}") from None
    explanation = record.get("explanation") if isinstance(record.get("explanation"), str) else None
    kinds = record.get("anomalies")
    kinds = tuple(k for k in kinds if isinstance(k, str)) if isinstance(kinds, list) else ()
    return InputFile(scenario, target, tuple(releases), ident, explanation, kinds, deadline)


@contextlib.contextmanager
def hang_deadline(target: Any, loaded: InputFile) -> Iterator[None]:
    """`target`'s watchdog at the file's `hang_seconds` while it runs the file's scenario,
    unless the environment sets one (`RESUME_HARNESS_SEGMENT_TIMEOUT` wins)."""
    from harness.faults import TIMEOUT_VARIABLE

    if loaded.hang_seconds is None or TIMEOUT_VARIABLE in os.environ:
        yield
        return
    before = target.segment_timeout
    target.segment_timeout = loaded.hang_seconds
    try:
        yield
    finally:
        target.segment_timeout = before


def read_scenario(file: Path, limits: Limits | None = None) -> Scenario:
    return read_input(file, limits).scenario


def write_finding(out_dir: Path, target: Any, seed: int, scenario: Scenario, summary: str,
                  kinds: tuple[str, ...]) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "finding.json"
    payload = {
        "harness_version": harness.__version__,
        "target": target.name,
        "target_version": target.version,
        "seed": seed,
        "anomalies": list(kinds),
        "summary": summary,
        "scenario": scenario.to_dict(),
    }
    path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


@app.command("repro")
def repro_command(
    file: Path = typer.Argument(..., help="A finding.json (from hunt --out or fixtures/findings) or a scenario."),
    target: str | None = typer.Option(None, "--target", "-t", help="The target it fails on (default: the one "
                                      "the finding records, and its release; else reference)."),
    out_dir: Path = typer.Option(Path("repro"), "--out", help="Where the script, report and test go."),
    dd_version: str | None = DD_VERSION,
    max_records: int = MAX_RECORDS,
    max_seed_rows: int = MAX_SEED_ROWS,
    max_string_length: int = MAX_STRING_LENGTH,
) -> None:
    """Turn a finding into a standalone script, an issue text and a regression test."""
    check_output_dir(out_dir, "--out")
    if dd_version is not None:
        raise typer.Exit(environments.run_in_env(dd_version, _arguments_without_dd_version()))
    loaded = read_input(file, Limits(max_records, max_seed_rows, max_string_length))
    name, release_env = replay_target(loaded, target)
    if release_env is not None:
        out.print(f"reproducing {file} on {name} in environment {release_env} (the target and release the file "
                  "records)", markup=False)
        raise typer.Exit(environments.run_in_env(release_env, [*_arguments_without_dd_version(), "--target", name]))
    chosen = get_target(name)
    with hang_deadline(chosen, loaded):
        verdict = check_repeatedly(chosen, loaded.scenario, attempts=12, wanted=loaded.anomalies)
    if verdict.ok:
        out.print(f"{file} passes on {chosen.describe()}: nothing to reproduce there")
        raise typer.Exit(exits.OK)
    written = repro.write_for(out_dir, loaded.scenario, chosen, verdict, say=err.print, ident=loaded.ident,
                              explanation=loaded.explanation, hang_seconds=loaded.hang_seconds)
    out.print(f"wrote {', '.join(str(p) for p in written)}", markup=False)
    raise typer.Exit(exits.FINDING)


@app.command("models")
def models_command(
    target: str = typer.Option("data_designer", "--target", "-t", help="The release's target (see 'targets')."),
    examples: int = typer.Option(50, "--examples", "-n", min=1, help="Scenarios drawn within each entry's signature."),
    seed: int = typer.Option(0, "--seed", help="Draw seed."),
    known_dir: Path | None = typer.Option(None, "--known", help="The findings directory (default: the ledger "
                                          "shipped with resume-harness)."),
    workdir: Path | None = typer.Option(None, "--workdir", help="Where trial directories go."),
    dd_version: str | None = DD_VERSION,
    json_path: Path | None = typer.Option(None, "--json", help="Also write the agreements here, as JSON."),
    entries: str | None = typer.Option(None, "--entries", help="Hold only these open entries (comma-separated "
                                       "ids; the composition still has every open entry's model)."),
    then: str | None = typer.Option(None, "--then", help="Draw cross-release chains as 'hunt --then' does, and "
                                    "hold the entries whose signature needs one (a release change) too."),
) -> None:
    """Hold each open ledger entry's model to the installed release, on scenarios drawn within
    the entry's signature: how often the composition of the release's models gives its rows."""
    from harness.ledger import packaged_ledger
    from harness.model_check import check_models

    check_output_dir(workdir, "--workdir")
    check_output_file(json_path, "--json")
    if dd_version is not None:
        raise typer.Exit(environments.run_in_env(dd_version, _arguments_without_dd_version()))
    chosen = get_target(target)
    ledger = load_ledger(known_dir if known_dir is not None else packaged_ledger())
    caps = release_chain_caps(chosen, chosen.capabilities, then) if then is not None else None
    out.print(f"resume-harness {harness.__version__}: the models of {chosen.describe()}'s open ledger entries"
              + (f" (resumes on {then})" if then is not None else "") + ", "
              f"{examples} scenarios each within its signature, seed {seed}", markup=False)
    only = [e.strip() for e in entries.split(",") if e.strip()] if entries is not None else None
    unknown = sorted(set(only or ()) - {f.id for f in ledger})
    if unknown:
        raise HarnessUsageError(f"--entries: no ledger entry {', '.join(unknown)}; the ids are the file names in "
                                "fixtures/findings, without .json")
    results = check_models(ledger, chosen, examples, seed, workdir, only=only, caps=caps)
    if not results:
        out.print(f"no open ledger entry names {chosen.describe()}", markup=False)
    for agreement in results:
        out.print(f"{agreement.entry}: the model agreed on {agreement.agreed} of {agreement.drawn} "
                  f"({agreement.failed} failed on the release)", markup=False)
        for scenario, gave in list(zip(agreement.disagreements, agreement.release_gave))[:1]:
            out.print(f"  first disagreement: {' '.join(scenario.split())}", markup=False)
            out.print(f"  the release gave: {gave}", markup=False)
    if json_path is not None:
        json_path.write_text(json.dumps({"target": chosen.name, "release": chosen.version, "examples": examples,
                                         "seed": seed, "entries": [a.to_dict() for a in results]}, indent=2) + "\n",
                             encoding="utf-8")
    raise typer.Exit(exits.FINDING if any(a.agreed < a.drawn for a in results) else exits.OK)


def _one_line_usage(exc: ClickException) -> str:
    """An option parser's error as one line, with where to look for the options."""
    message = " ".join(exc.format_message().split())
    ctx = getattr(exc, "ctx", None)
    command = ctx.command_path if ctx is not None else "resume-harness"
    return f"{message}; see '{command} --help'"


def main(argv: list[str] | None = None) -> int:
    """The command line, under the exit-code contract of `harness.exits`."""
    with exits.sigterm_raises():
        try:
            code = app(args=argv, prog_name="resume-harness", standalone_mode=False)
        except HarnessUsageError as exc:
            error_line(str(exc))
            return exits.USAGE
        except ClickException as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # a bare command: its help, as a usage error
                err.print(exc.format_message(), markup=False, highlight=False)
            else:
                error_line(_one_line_usage(exc))
            return exits.USAGE
        except (KeyboardInterrupt, Abort, exits.Terminated) as exc:
            stopped = exc if not isinstance(exc, Abort) else KeyboardInterrupt()
            err.print(f"resume-harness: stopped by {exits.signal_name(stopped)}", markup=False)
            return exits.stop_code(stopped)
        except BrokenPipeError:  # the reader of our output went away (| head): the result went unseen
            return exits.HARNESS_FAILED
        except BaseException as exc:  # noqa: BLE001 - the harness's own failure, never "a finding"
            if isinstance(exc, SystemExit):
                return exc.code if isinstance(exc.code, int) else exits.HARNESS_FAILED
            stopped = exits.stop_requested()
            if stopped is not None:  # a library made the stop an error of its own: it was a stop
                err.print(f"resume-harness: stopped by {exits.signal_name(stopped)}", markup=False)
                return exits.stop_code(stopped)
            report = exits.crash_report(exc)
            error_line(f"internal error, not a finding: {type(exc).__name__}: "
                       f"{' '.join(str(exc).split())[:200]}; traceback in {report}")
            return exits.HARNESS_FAILED
    if code is None:
        return exits.OK
    return code if isinstance(code, int) else exits.HARNESS_FAILED


if __name__ == "__main__":
    sys.exit(main())
