"""`resume-harness`: hunt for resume bugs, list targets, replay a finding.

Exit codes: 0 nothing found (or the replayed scenario passes), 1 a finding (or the
replayed scenario fails), 2 a usage error (printed as one line naming the problem).
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Any, Callable, Optional, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

import harness
from harness.errors import HarnessUsageError
from harness.property import DEFAULT_MAX_EXAMPLES, check_scenario, hunt, new_seed
from harness.render import render_verdict
from harness.scenario import Scenario
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


@app.command()
@usage_errors
def targets() -> None:
    """List the targets and what each supports."""
    for name in target_names():
        target = get_target(name)
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
    seed: Optional[int] = typer.Option(None, "--seed", help="Search seed (printed on every run)."),
    out_dir: Optional[Path] = typer.Option(None, "--out", help="Write finding.json here when something is found."),
    workdir: Optional[Path] = typer.Option(None, "--workdir", help="Where trial directories go (default: system temp)."),
) -> None:
    """Search for a scenario whose resumed run differs from the uninterrupted one."""
    chosen = get_target(target)
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

        result = hunt(chosen, max_examples=max_examples, seed=seed, on_example=tick, root=workdir)
    rate = result.examples / result.elapsed if result.elapsed else 0.0
    if result.finding is None or result.verdict is None:
        out.print(f"[green]no finding[/]: {result.examples} examples in {result.elapsed:.1f}s "
                  f"({rate:.0f}/s); resumed == straight == reference on every one. seed {seed}")
        raise typer.Exit(0)
    out.print(f"[red bold]finding[/] after {result.examples_to_first_failure} examples "
              f"(shrunk in {result.examples} runs, {result.elapsed:.1f}s), seed {seed}")
    render_verdict(out, result.verdict, result.finding)
    out.print("[bold]shrunk scenario[/]:")
    out.print(result.finding.to_json(), markup=False)
    if out_dir is not None:
        path = write_finding(out_dir, chosen, seed, result.finding, result.verdict.summary(), result.verdict.kinds)
        out.print(f"wrote {path}; replay: resume-harness replay {path} --target {target}")
    raise typer.Exit(1)


@app.command()
@usage_errors
def replay(
    file: Path = typer.Argument(..., help="A scenario JSON file, or a finding.json written by hunt."),
    target: str = typer.Option(DEFAULT_TARGET, "--target", "-t", help="Target to run it on."),
    workdir: Optional[Path] = typer.Option(None, "--workdir", help="Where trial directories go."),
) -> None:
    """Run one scenario (or a finding) again and print the verdict."""
    scenario = read_scenario(file)
    chosen = get_target(target)
    out.print(f"replaying {file} on [bold]{chosen.describe()}[/]")
    verdict = check_scenario(chosen, scenario, workdir)
    render_verdict(out, verdict, scenario)
    raise typer.Exit(0 if verdict.ok else 1)


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


def main() -> None:
    app()


if __name__ == "__main__":
    sys.exit(main())
