"""`resume-harness`: hunt for resume bugs, list targets, replay a finding.

Exit codes: 0 nothing found (or the replayed scenario passes), 1 a finding (or the
replayed scenario fails), 2 a usage error (printed as one line naming the problem).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

import harness
from harness import environments, repro
from harness.checker import Verdict
from harness.errors import HarnessUsageError
from harness.ledger import load_ledger
from harness.property import DEFAULT_MAX_EXAMPLES, check_repeatedly, hunt, new_seed
from harness.render import render_verdict
from harness.scenario import Scenario
from harness.targets.base import Capabilities
from harness.targets.registry import DEFAULT_TARGET, describe_target, get_target, target_names

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, no_args_is_help=True,
                  help="Property-based checks that a resumed run equals an uninterrupted one, row for row.")
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)
F = TypeVar("F", bound=Callable[..., Any])


def usage_errors(func: F) -> F:
    """Turn a HarnessUsageError into one line on stderr and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except HarnessUsageError as exc:
            err.print(f"resume-harness: error: {exc}", soft_wrap=True, markup=False)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


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
@usage_errors
def env_create(
    name: str = typer.Argument(..., help="A DataDesigner release (0.6.0), or a name for a fork with --from."),
    sources: list[str] | None = typer.Option(None, "--from", help="pip specs to install instead of the release "
                                                 "(a fork's checkout path, a wheel); repeatable."),
    rebuild: bool = typer.Option(False, "--rebuild", help="Build it again even if it is ready."),
) -> None:
    """Build a virtual environment with DataDesigner NAME and this package."""
    environments.create_env(name, sources or None, say=lambda line: out.print(line, markup=False), rebuild=rebuild)


@env_app.command("list")
@usage_errors
def env_list() -> None:
    """List the ready environments."""
    found = environments.ready_envs()
    if not found:
        out.print(f"no environments in {environments.envs_root()}; create one with: resume-harness env create 0.6.0")
    for name, version in found:
        out.print(f"{name}: DataDesigner {version} ({environments.env_dir(name)})", markup=False)


@env_app.command("remove")
@usage_errors
def env_remove(name: str = typer.Argument(..., help="The environment's name.")) -> None:
    """Delete an environment."""
    environments.remove_env(name)
    out.print(f"removed {environments.env_dir(name)}", markup=False)


@app.command()
@usage_errors
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
                  f"{', '.join(caps.fault_points)}; resume: {', '.join(caps.resume_modes)}; "
                  f"extension: {'yes' if caps.extension else 'no'}", soft_wrap=True)


@app.command("hunt")
@usage_errors
def hunt_command(
    target: str = typer.Option(DEFAULT_TARGET, "--target", "-t", help="Target to check (see 'targets')."),
    max_examples: int = typer.Option(DEFAULT_MAX_EXAMPLES, "--max-examples", "-n", min=1,
                                     help="Scenarios to try before shrinking."),
    seed: int | None = typer.Option(None, "--seed", help="Search seed (printed on every run)."),
    out_dir: Path | None = typer.Option(None, "--out", help="Write finding.json here when something is found."),
    workdir: Path | None = typer.Option(None, "--workdir", help="Where trial directories go (default: "
                                        "$RESUME_HARNESS_WORKDIR, else /dev/shm, else the system temp directory)."),
    dd_version: str | None = DD_VERSION,
    known_dir: Path | None = typer.Option(None, "--known", help="A findings directory: failures its entries "
                                             "explain for this target and release are counted, not reported."),
    sources: str | None = typer.Option(None, "--sources", help="Draw only these seed sources (comma-separated)."),
    samplings: str | None = typer.Option(None, "--samplings", help="Draw only these samplings (ordered,shuffle)."),
    faults: str | None = typer.Option(None, "--faults", help="Draw only these fault actions (raise,kill,tear)."),
    no_extension: bool = typer.Option(False, "--no-extension", help="Resume with the same num_records only."),
) -> None:
    """Search for a scenario whose resumed run differs from the uninterrupted one."""
    if dd_version is not None:
        raise typer.Exit(environments.run_in_env(dd_version, _arguments_without_dd_version()))
    chosen = get_target(target)
    caps = narrowed(chosen, sources=sources, samplings=samplings, fault_actions=faults)
    if no_extension:
        caps = dataclasses.replace(caps, extension=False)
    ledger = load_ledger(known_dir) if known_dir is not None else []

    def known(scenario: Scenario, verdict: Verdict) -> bool:
        return any(f.explains(chosen.name, chosen.version, scenario, verdict) for f in ledger)

    seed = new_seed() if seed is None else seed
    out.print(f"resume-harness {harness.__version__}: hunting on [bold]{chosen.describe()}[/] "
              f"with up to {max_examples} examples, seed {seed} (rerun: --seed {seed})")
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True) as progress:
        task = progress.add_task("searching", total=max_examples)

        def tick(n: int) -> None:
            if n > max_examples:
                progress.update(task, description="shrinking", total=None, completed=n)
            else:
                progress.update(task, completed=n)

        result = hunt(chosen, max_examples=max_examples, seed=seed, on_example=tick, root=workdir,
                      capabilities=caps, known=known if ledger else None)
    rate = result.examples / result.elapsed if result.elapsed else 0.0
    if result.known_failures:
        out.print(f"{result.known_failures} failing examples matched known findings in {known_dir}")
    if result.finding is None or result.verdict is None:
        share = result.target_seconds / result.elapsed if result.elapsed else 0.0
        out.print(f"[green]no finding[/]: {result.examples} examples in {result.elapsed:.1f}s "
                  f"({rate:.{1 if rate < 10 else 0}f}/s, {share:.0%} of it inside the target); "
                  f"resumed == straight == reference on every one. seed {seed}")
        raise typer.Exit(0)
    out.print(f"[red bold]finding[/] after {result.examples_to_first_failure} examples "
              f"(shrunk in {result.examples} runs, {result.elapsed:.1f}s), seed {seed}")
    if result.note:
        out.print(f"[yellow]note[/]: {result.note}", markup=True, highlight=False)
    render_verdict(out, result.verdict, result.finding)
    out.print("[bold]shrunk scenario[/]:")
    out.print(result.finding.to_json(), markup=False)
    if out_dir is not None:
        path = write_finding(out_dir, chosen, seed, result.finding, result.verdict.summary(), result.verdict.kinds)
        written = repro.write_for(out_dir, result.finding, chosen, result.verdict, say=err.print)
        out.print(f"wrote {path}; replay: resume-harness replay {path} --target {target}", markup=False)
        out.print(f"reproducer: {written[0]}; issue text: {written[2]}; regression test: {written[1]}",
                  markup=False)
    raise typer.Exit(1)


@app.command()
@usage_errors
def replay(
    file: Path = typer.Argument(..., help="A scenario JSON file, or a finding.json written by hunt."),
    target: str = typer.Option(DEFAULT_TARGET, "--target", "-t", help="Target to run it on."),
    workdir: Path | None = typer.Option(None, "--workdir", help="Where trial directories go."),
    dd_version: str | None = DD_VERSION,
    attempts: int | None = typer.Option(None, "--attempts", min=1, help="Tries of a SHUFFLE scenario on a target "
                                           "whose shuffle is unseeded (default 4); the first failure counts."),
    straight: bool = typer.Option(False, "--straight", help="Run only the uninterrupted run (differential check)."),
    out_dir: Path | None = typer.Option(None, "--out", help="On a failure, write the reproducer, issue text and "
                                           "regression test here."),
) -> None:
    """Run one scenario (or a finding) again and print the verdict."""
    if dd_version is not None:
        raise typer.Exit(environments.run_in_env(dd_version, _arguments_without_dd_version()))
    scenario = read_scenario(file)
    if straight:
        scenario = scenario.straight()
    chosen = get_target(target)
    out.print(f"replaying {file} on [bold]{chosen.describe()}[/]")
    verdict = check_repeatedly(chosen, scenario, workdir, attempts=attempts)
    render_verdict(out, verdict, scenario)
    if not verdict.ok and out_dir is not None:
        written = repro.write_for(out_dir, scenario, chosen, verdict, say=err.print, **_ledger_fields(file))
        out.print(f"reproducer: {written[0]}; issue text: {written[2]}; regression test: {written[1]}", markup=False)
    raise typer.Exit(0 if verdict.ok else 1)


def narrowed(target: Any, **choices: str | None) -> Capabilities:
    """The target's capabilities, narrowed by comma-separated choices on the command line."""
    caps = target.capabilities
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


def read_scenario(file: Path) -> Scenario:
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise HarnessUsageError(f"cannot read scenario file {file}: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HarnessUsageError(f"{file} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); "
                                "pass a scenario or a finding.json written by 'hunt --out'") from None
    if isinstance(data, dict) and "scenario" in data and "harness_version" in data:
        data = data["scenario"]
    try:
        return Scenario.from_dict(data)
    except HarnessUsageError as exc:
        raise HarnessUsageError(f"{file}: {exc}") from None


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
@usage_errors
def repro_command(
    file: Path = typer.Argument(..., help="A finding.json (from hunt --out or fixtures/findings) or a scenario."),
    target: str = typer.Option(DEFAULT_TARGET, "--target", "-t", help="The target it fails on."),
    out_dir: Path = typer.Option(Path("repro"), "--out", help="Where the script, report and test go."),
    dd_version: str | None = DD_VERSION,
) -> None:
    """Turn a finding into a standalone script, an issue text and a regression test."""
    if dd_version is not None:
        raise typer.Exit(environments.run_in_env(dd_version, _arguments_without_dd_version()))
    scenario = read_scenario(file)
    chosen = get_target(target)
    verdict = check_repeatedly(chosen, scenario, attempts=12)
    if verdict.ok:
        out.print(f"{file} passes on {chosen.describe()}: nothing to reproduce there")
        raise typer.Exit(0)
    written = repro.write_for(out_dir, scenario, chosen, verdict, say=err.print, **_ledger_fields(file))
    out.print(f"wrote {', '.join(str(p) for p in written)}", markup=False)
    raise typer.Exit(1)


def _ledger_fields(file: Path) -> dict[str, Any]:
    """A ledger entry's id and explanation, when the file is one."""
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    if isinstance(data, dict) and "explanation" in data and "id" in data:
        return {"ident": data["id"], "explanation": data["explanation"]}
    return {}


def main() -> None:
    app()


if __name__ == "__main__":
    sys.exit(main())
