"""pytest plugin: the resume check inside any test run, and `pytest --pyargs harness.suite`.

Loaded through the `pytest11` entry point; disable with `-p no:resume_harness`. It imports
nothing heavy until a fixture or the suite asks for a target. Options (one group):
`--resume-target NAME` (default: `data_designer` when DataDesigner is importable, else
`reference`), `--resume-profile dev|ci|thorough`, `--resume-examples N` (per conformance
test, instead of the profile's), `--resume-seed N|last`,
`--resume-artifacts DIR` (where findings and reproducers go; default `.resume-harness/`).

The seed is chosen once, on the xdist controller, and handed to the workers; the header
prints the target, its release and engine, the profile and the seed. Findings from every
worker come back to the controller and are printed in one summary section, each with its
anomaly, the command that replays it, and its reproducer's path.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import random
import re
from pathlib import Path
from typing import Any

import pytest

SEED = pytest.StashKey[int]()
FINDINGS = pytest.StashKey[list]()
#: the conformance suite's coverage (`harness.coverage`), as dicts, one per search
COVERAGE = pytest.StashKey[list]()
CACHE_KEY = "resume_harness/seed"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("resume-harness", "resume correctness checks (resume-harness)")
    group.addoption("--resume-target", default=None, metavar="NAME",
                    help="target to check (default: data_designer if importable, else reference)")
    group.addoption("--resume-profile", default="ci", choices=("dev", "ci", "thorough"),
                    help="how hard to search: dev, ci (default) or thorough")
    group.addoption("--resume-seed", default=None, metavar="N|last",
                    help="search seed; 'last' reuses the previous run's (default: a new one, printed)")
    group.addoption("--resume-artifacts", default=None, metavar="DIR",
                    help="where findings and reproducers go (default: .resume-harness/ under the rootdir)")
    group.addoption("--resume-examples", default=None, type=_positive, metavar="N",
                    help="examples each conformance test draws (default: the profile's: dev 15, ci 30, thorough 300)")
    group.addoption("--resume-shrink-seconds", default=None, type=float, metavar="S",
                    help="time budget for shrinking each finding (default: none); past it the smallest "
                         "failing scenario so far is reported, said to be maybe not minimal")


def default_target() -> str:
    return "data_designer" if importlib.util.find_spec("data_designer") is not None else "reference"


def target_name(config: pytest.Config) -> str:
    return config.getoption("--resume-target") or default_target()


def artifacts_dir(config: pytest.Config) -> Path:
    chosen = config.getoption("--resume-artifacts")
    return Path(chosen) if chosen else config.rootpath / ".resume-harness"


def _choose_seed(config: pytest.Config) -> int:
    option = config.getoption("--resume-seed")
    if option == "last":
        cache = getattr(config, "cache", None)
        last = cache.get(CACHE_KEY, None) if cache is not None else None
        if last is None:
            raise pytest.UsageError("--resume-seed last: no previous seed is recorded; pass --resume-seed N")
        return int(last)
    if option is not None:
        try:
            return int(option)
        except ValueError:
            raise pytest.UsageError(f"--resume-seed takes a whole number or 'last', not {option!r}") from None
    return random.SystemRandom().randrange(2**32)


@pytest.hookimpl(trylast=True)  # after the cache provider has set up config.cache
def pytest_configure(config: pytest.Config) -> None:
    workerinput = getattr(config, "workerinput", None)
    seed = workerinput["resume_seed"] if workerinput is not None else _choose_seed(config)
    config.stash[SEED] = seed
    config.stash[FINDINGS] = []
    config.stash[COVERAGE] = []
    cache = getattr(config, "cache", None)  # absent under -p no:cacheprovider
    if workerinput is None and cache is not None:
        cache.set(CACHE_KEY, seed)
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_XdistHooks(), "resume-harness-xdist")


class _XdistHooks:
    """Hooks that exist only with pytest-xdist: the seed goes out, findings come back."""

    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput["resume_seed"] = node.config.stash[SEED]

    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        found = getattr(node, "workeroutput", {}).get("resume_findings")
        if found:
            node.config.stash[FINDINGS].extend(json.loads(found))
        covered = getattr(node, "workeroutput", {}).get("resume_coverage")
        if covered:
            node.config.stash[COVERAGE].extend(json.loads(covered))


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["resume_findings"] = json.dumps(session.config.stash[FINDINGS])
        workeroutput["resume_coverage"] = json.dumps(session.config.stash[COVERAGE])


def _release(name: str) -> str:
    try:
        if name.startswith("data_designer"):
            return importlib.metadata.version("data-designer")
        return importlib.metadata.version("resume-harness")
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(f"{text} is not a positive number of examples")
    return value


def examples_per_test(config: pytest.Config) -> int:
    """Examples each conformance test draws: `--resume-examples`, else the profile's."""
    from harness.profiles import SUITE_EXAMPLES

    chosen = config.getoption("--resume-examples")
    return chosen if chosen is not None else SUITE_EXAMPLES[config.getoption("--resume-profile")]


def pytest_report_header(config: pytest.Config) -> str:
    name = target_name(config)
    engine = name.partition(":")[2] or "default engine"
    return (f"resume-harness {_release('resume-harness')}: target {name} {_release(name)} ({engine}), "
            f"profile {config.getoption('--resume-profile')}, seed {config.stash[SEED]} "
            f"(reproduce with --resume-seed {config.stash[SEED]})")


def record_coverage(config: pytest.Config, target: Any, coverage: Any) -> None:
    """Add one search's coverage to the session's (the summary prints them merged)."""
    config.stash[COVERAGE].append({"target": target.name, "coverage": coverage.to_dict()})


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    covered = config.stash[COVERAGE]
    if covered:
        from harness.coverage import Coverage
        from harness.errors import HarnessUsageError
        from harness.targets.registry import get_target

        merged = Coverage()
        for item in covered:
            merged.merge(Coverage.from_dict(item["coverage"]))
        try:
            caps = get_target(covered[0]["target"]).capabilities
        except HarnessUsageError:
            caps = None
        terminalreporter.section("resume-harness coverage")
        for line in merged.lines(caps):
            terminalreporter.write_line(line)
    found = config.stash[FINDINGS]
    if not found:
        return
    terminalreporter.section("resume-harness findings")
    for item in sorted(found, key=lambda f: f["test"]):
        terminalreporter.write_line(f"{item['test']}: {item['summary']}")
        terminalreporter.write_line(f"    replay:     {item['replay']}")
        terminalreporter.write_line(f"    reproducer: {item['reproducer']}")


# ----- fixtures for hand-written tests -------------------------------------------------------------
@pytest.fixture(scope="session")
def resume_target(pytestconfig: pytest.Config) -> Any:
    """The target named by --resume-target."""
    from harness.errors import HarnessUsageError
    from harness.targets.registry import get_target

    try:
        return get_target(target_name(pytestconfig))
    except HarnessUsageError as exc:
        raise pytest.UsageError(str(exc)) from None


@pytest.fixture(scope="session")
def resume_scenario(resume_target: Any) -> Any:
    """A Hypothesis strategy of scenarios the target supports: `@given(data=st.data())`,
    then `data.draw(resume_scenario)`; or narrow it with `scenarios(caps)` yourself."""
    from harness.strategies import scenarios

    return scenarios(resume_target.capabilities)


@pytest.fixture
def check_resume(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """`check_resume(target, scenario)`: run the scenario interrupted and straight; on a
    difference, write the finding and its reproducer and fail with a readable message."""
    from harness.property import check_repeatedly

    workdir = tmp_path_factory.mktemp("resume-trials")

    def check(target: Any, scenario: Any) -> Any:
        verdict = check_repeatedly(target, scenario, workdir)
        if not verdict.ok:
            report_finding(request, target, scenario, verdict)
        return verdict

    return check


def report_finding(request: pytest.FixtureRequest, target: Any, scenario: Any, verdict: Any,
                   seed: int | None = None) -> None:
    """Write finding.json and the reproducer, record the finding for the summary, fail."""
    from harness import repro

    config = request.config
    out = artifacts_dir(config) / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)[-120:]
    out.mkdir(parents=True, exist_ok=True)
    finding = out / "finding.json"
    finding.write_text(json.dumps({
        "harness_version": _release("resume-harness"), "target": target.name, "target_version": target.version,
        "seed": seed if seed is not None else config.stash[SEED], "anomalies": list(verdict.kinds),
        "summary": verdict.summary(), "scenario": scenario.to_dict(),
    }, indent=2, sort_keys=True) + "\n")
    try:
        written = repro.write_for(out, scenario, target, verdict, say=lambda _line: None, all_environments=False)
        reproducer = str(written[0])
    except Exception as exc:  # noqa: BLE001 - the finding stands without its reproducer
        reproducer = f"(not written: {exc})"
    replay = f"resume-harness replay {finding} --target {target.name}"
    config.stash[FINDINGS].append({"test": request.node.nodeid, "summary": verdict.summary(), "replay": replay,
                                   "reproducer": reproducer})
    anomalies = "\n".join("  " + a.line() for a in verdict.anomalies)
    pytest.fail(
        f"resume differs from the uninterrupted run on {target.name} {target.version}\n{anomalies}\n"
        f"scenario: {scenario.describe()}\n{scenario.to_json()}"
        f"replay: {replay}\nreproducer: {reproducer}",
        pytrace=False,
    )
