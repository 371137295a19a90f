"""Virtual environments with one DataDesigner release each, and this package inside.

`resume-harness env create 0.6.0` builds `<root>/dd-0.6.0` with `data-designer==0.6.0`
from the package registry and this package installed next to it (editable when running
from a checkout, so the environment always runs the harness you are editing). A fork is
an environment too: `env create myfork --from /path/to/checkout` installs whatever pip
specs `--from` names instead of a release.

`<root>` is `RESUME_HARNESS_ENVS` if set, else `.envs/` in the checkout, else
`~/.cache/resume-harness/envs`. An environment is used only once its ready marker is
written, so a failed or interrupted build is rebuilt, never half-used.

Installing: with uv installed (`pip install uv`; the test extra has it) the packages go in
through `uv pip install --compile-bytecode`, in about 27 s a release on a 2-core machine
(30 s of CPU), against about 60 s of pip; both resolve the same versions. The bytecode is
compiled at install, as pip does, because an environment may forbid writing it at import
(`PYTHONDONTWRITEBYTECODE`, set on this machine): without it every process that imports
DataDesigner would compile pandas again. uv does not read pip's configuration
(`pip.conf`, `PIP_INDEX_URL`): where packages come from a private index, set `UV_INDEX_URL`,
or `RESUME_HARNESS_INSTALLER=pip` to use pip. Where uv fails, pip is tried, and its error is
the one reported.
"""

from __future__ import annotations

import fcntl
import importlib.metadata
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import harness
from harness.errors import HarnessUsageError
from harness.exits import STOPS, Terminated
from harness.names import checked_name
from harness.workdirs import work_directory

READY = ".resume-harness-ready"
_VERSION = re.compile(r"\d+(\.\d+)*([a-z]+\d*)?")
#: set in a command run inside an environment: its name (so it never dispatches again)
IN_ENV_VARIABLE = "RESUME_HARNESS_IN_ENV"
#: the command line as the user typed it, for the lines a command prints to run it again
ARGV_VARIABLE = "RESUME_HARNESS_ARGV"
#: seconds a command inside an environment has to stop after the signal that stopped ours
STOP_GRACE = 30.0


def project_root() -> Path | None:
    """The checkout this package runs from, if it runs from one."""
    root = Path(harness.__file__).resolve().parent.parent
    pyproject = root / "pyproject.toml"
    if pyproject.is_file() and 'name = "resume-harness"' in pyproject.read_text(encoding="utf-8"):
        return root
    return None


def envs_root() -> Path:
    configured = os.environ.get("RESUME_HARNESS_ENVS")
    if configured:
        return Path(configured)
    root = project_root()
    if root is not None:
        return root / ".envs"
    return Path.home() / ".cache" / "resume-harness" / "envs"


def env_dir(name: str) -> Path:
    return envs_root() / f"dd-{checked_name(name, 'environment name', 'a release such as 0.6.0')}"


def env_python(name: str) -> Path:
    """The Python of a ready environment, or a usage error that says how to create it."""
    path = env_dir(name)
    if not (path / READY).is_file():
        raise HarnessUsageError(
            f"no DataDesigner environment '{name}' at {path}; create it with: resume-harness env create {name}"
        )
    return path / "bin" / "python"


def ready_envs() -> list[tuple[str, str]]:
    """(name, installed DataDesigner version) of every ready environment."""
    root = envs_root()
    if not root.is_dir():
        return []
    found = []
    for path in sorted(root.glob("dd-*")):
        marker = path / READY
        if marker.is_file():
            found.append((path.name[3:], marker.read_text(encoding="utf-8").strip()))
    return found


@contextmanager
def _locked(name: str) -> Iterator[None]:
    """One builder per environment at a time (pytest-xdist workers share them)."""
    root = envs_root()
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f".lock-{name}", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def create_env(name: str, sources: list[str] | None = None, say: Callable[[str], None] = print,
               rebuild: bool = False) -> Path:
    """Build (or reuse) the environment `name`; returns its directory."""
    path = env_dir(name)
    if not sources and not _VERSION.fullmatch(name):
        raise HarnessUsageError(
            f"'{name}' is not a DataDesigner release number; pass a release such as 0.6.0, "
            "or --from PATH to build an environment for a fork"
        )
    with _locked(name):
        if (path / READY).is_file() and not rebuild:
            say(f"environment {path} is ready (DataDesigner {(path / READY).read_text().strip()})")
            return path
        if path.exists():
            shutil.rmtree(path)
        say(f"creating {path}")
        _run([sys.executable, "-m", "venv", str(path)], path, "creating the virtual environment")
        specs = list(sources) if sources else [f"data-designer=={name}"]
        say(f"installing {' '.join(specs)} and resume-harness into it")
        with harness_source() as harness_spec:
            _install(path, [*specs, *harness_spec], f"installing {' '.join(specs)}", None if sources else name)
        version = subprocess.run(
            [str(path / "bin" / "python"), "-c",
             "import importlib.metadata as m; print(m.version('data-designer'))"],
            capture_output=True, text=True,
        )
        if version.returncode != 0:
            raise HarnessUsageError(f"{' '.join(specs)} installed no 'data-designer' package into {path}")
        (path / READY).write_text(version.stdout.strip() + "\n", encoding="utf-8")
        say(f"ready: DataDesigner {version.stdout.strip()} in {path}")
        return path


def remove_env(name: str) -> None:
    path = env_dir(name)
    if not path.exists():
        raise HarnessUsageError(f"no environment '{name}' at {path}")
    shutil.rmtree(path)


#: `pip` or `uv` (default: uv where it is installed, else pip)
INSTALLER_VARIABLE = "RESUME_HARNESS_INSTALLER"


def uv_binary() -> str | None:
    """uv's executable, where uv is installed (its Python package, or on PATH) and not
    declined (`RESUME_HARNESS_INSTALLER=pip`)."""
    if os.environ.get(INSTALLER_VARIABLE, "").strip().lower() == "pip":
        return None
    try:
        from uv import find_uv_bin

        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        return shutil.which("uv")


def pip_command(python: str) -> list[str]:
    return [python, "-m", "pip", "install", "-q", "--disable-pip-version-check"]


def uv_command(uv: str, python: str) -> list[str]:
    """uv's install into `python`'s environment, the bytecode compiled as pip compiles it (an
    environment that may not write it at import would compile every module in every process)."""
    return [uv, "pip", "install", "--quiet", "--compile-bytecode", "--python", python]


def install_command(python: str) -> list[str]:
    """The command (before its specs) that installs into `python`'s environment: uv's where
    uv is installed and not declined, else pip's."""
    uv = uv_binary()
    return uv_command(uv, python) if uv is not None else pip_command(python)


def _install(path: Path, specs: list[str], what: str, release: str | None) -> None:
    """Install `specs` into the environment at `path`: uv where it is, else (or where uv
    failed: an index only pip's configuration names) pip."""
    python = str(path / "bin" / "python")
    uv = uv_binary()
    if uv is not None:
        # uv leaves lock files (uv-setuptools-*.lock) in its temporary directory: ours, removed after
        with work_directory() as tmp:
            done = subprocess.run([*uv_command(uv, python), *specs], capture_output=True,
                                  env={**os.environ, "TMPDIR": str(tmp)}).returncode == 0
        if done:
            return
    _run([*pip_command(python), *specs], path, what, release)


def _run(command: list[str], path: Path, what: str, release: str | None = None) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode == 0:
        return
    log = path.parent / f"{path.name}-install.log"
    log.write_text(result.stdout + result.stderr, encoding="utf-8")
    shutil.rmtree(path, ignore_errors=True)
    text = result.stdout + result.stderr
    if release is not None and re.search(r"No matching distribution found for data-designer", text):
        raise HarnessUsageError(
            f"DataDesigner {release} is not on the package registry; "
            "'pip index versions data-designer' lists the releases there"
        )
    errors = [line for line in text.splitlines() if line.startswith("ERROR")] or text.strip().splitlines()[-1:]
    raise HarnessUsageError(f"{what} failed: {errors[-1] if errors else 'no output'} (full log: {log})")


@contextmanager
def harness_source() -> Iterator[list[str]]:
    """pip arguments that install this very harness, never a registry name it was not
    published under: the checkout, editable, when running from one; otherwise a source tree
    rebuilt from the installed package (its files, version, dependencies and entry points)."""
    root = project_root()
    if root is not None:
        yield ["-e", str(root)]
        return
    with work_directory() as tree:
        rebuild_source_tree(tree)
        yield [str(tree)]


def rebuild_source_tree(tree: Path) -> None:
    """Write an installable source tree of the installed harness into `tree`."""
    package = Path(harness.__file__).resolve().parent
    shutil.copytree(package, tree / "harness", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    try:
        dist = importlib.metadata.distribution("resume-harness")
        requires = [r for r in dist.requires or [] if "extra ==" not in r]
        points = [(ep.group, ep.name, ep.value) for ep in dist.entry_points]
    except importlib.metadata.PackageNotFoundError:  # imported from a bare copy: what pyproject declares
        requires = ["hypothesis>=6.100", "pytest>=7.4", "pytest-xdist>=3.5", "pandas>=2.0", "pyarrow>=15",
                    "rich>=13.0", "typer>=0.12"]
        points = [("console_scripts", "resume-harness", "harness.cli:main"),
                  ("pytest11", "resume_harness", "harness.pytest_plugin")]
    groups: dict[str, list[str]] = {}
    for group, name, value in points:
        groups.setdefault(group, []).append(f"{json.dumps(name)} = {json.dumps(value)}")
    tables = "".join(f"\n[project.entry-points.{json.dumps(group)}]\n" + "\n".join(lines) + "\n"
                     for group, lines in groups.items())
    (tree / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=64"]\nbuild-backend = "setuptools.build_meta"\n\n'
        f'[project]\nname = "resume-harness"\nversion = "{harness.__version__}"\n'
        f'requires-python = ">=3.10"\ndependencies = {json.dumps(requires)}\n{tables}\n'
        '[tool.setuptools.packages.find]\ninclude = ["harness*"]\n\n'
        '[tool.setuptools.package-data]\nharness = ["findings/*.json", "findings/reports/*/*"]\n',
        encoding="utf-8")


def run_in_env(name: str, arguments: list[str]) -> int:
    """Run `resume-harness ARGUMENTS` with the environment's Python; its exit code.

    A SIGINT or SIGTERM that stops this process is passed on to the command (a terminal's
    Ctrl-C reaches both; `timeout` or a scheduler signals only this one), which then has
    STOP_GRACE seconds to clean up and say where it stopped before it is killed."""
    python = env_python(name)
    environ = {**os.environ, IN_ENV_VARIABLE: name}
    environ.setdefault(ARGV_VARIABLE, json.dumps(["resume-harness", *sys.argv[1:]]))
    child = subprocess.Popen([str(python), "-m", "harness.cli", *arguments], env=environ)
    try:
        return child.wait()
    except tuple(STOPS) as exc:
        child.send_signal(signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT)
        try:
            child.wait(timeout=STOP_GRACE)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        raise
