"""What the harness hands to someone else never depends on a name this project has not
published on the package registry: a mutant's reproducer runs, as its header says, in a
fresh environment that has only what the registry serves, and an environment built from a
harness installed outside a checkout gets that very harness, not a registry pin.

Both build virtual environments from the registry (uv where it is installed, else pip; their
caches make a second run fast)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import issue_709_scenario

import harness
from harness import repro
from harness.environments import install_command
from harness.property import check_scenario
from harness.targets.registry import get_target

pytestmark = pytest.mark.slow
tomllib = pytest.importorskip("tomllib")  # Python 3.11 and later
ROOT = Path(__file__).resolve().parent.parent


def _venv(path: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, timeout=300)
    return path / "bin" / "python"


def _pip(python: Path, *args: str) -> None:
    """`pip install ARGS` into `python`'s environment, as the harness installs (uv where it is
    installed, as `uv run` installs a script's header; else pip)."""
    tmp = python.parent.parent.parent / "install-tmp"  # uv leaves lock files in its temporary directory
    tmp.mkdir(exist_ok=True)
    result = subprocess.run([*install_command(str(python)), *args], capture_output=True, text=True, timeout=900,
                            env={**os.environ, "TMPDIR": str(tmp)})
    assert result.returncode == 0, result.stdout + result.stderr


def _header_dependencies(script: str) -> list[str]:
    block = re.search(r"^# /// script\n((?:#.*\n)*?)# ///$", script, re.MULTILINE)
    assert block is not None
    return tomllib.loads("\n".join(line[2:] for line in block.group(1).splitlines()))["dependencies"]


def test_a_mutant_reproducer_runs_where_only_the_registry_has_been_installed(tmp_path):
    scenario = issue_709_scenario()
    target = get_target("mutant:seed_restart")
    reproducer = repro.build(scenario, target.name, target.version, check_scenario(target, scenario))
    dependencies = _header_dependencies(reproducer.script)
    assert not any(re.match(r"resume[-_]harness\b", d) for d in dependencies), dependencies
    python = _venv(tmp_path / "venv")
    _pip(python, *dependencies)  # what `uv run` installs from the header
    # the bytecode is there before any import: a machine that forbids writing it at import
    # (PYTHONDONTWRITEBYTECODE) would otherwise compile pandas in every process
    assert list((python.parent.parent / "lib").glob("python*/site-packages/pandas/__pycache__/*.pyc"))
    assert subprocess.run([str(python), "-m", "pip", "show", "resume-harness"], capture_output=True).returncode == 1
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    script = elsewhere / f"repro_{reproducer.id}.py"
    script.write_text(reproducer.script)
    result = subprocess.run([str(python), str(script)], capture_output=True, text=True, timeout=300, cwd=elsewhere)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "resumed:  ['alpha', 'alpha', 'beta']" in result.stdout


def test_an_environment_built_outside_a_checkout_installs_this_harness_not_a_registry_pin(tmp_path):
    installed = _venv(tmp_path / "installed")
    _pip(installed, str(ROOT))  # not editable: the harness lives in site-packages, no checkout around it
    tree = tmp_path / "tree"
    probe = ("import sys; from pathlib import Path; from harness import environments\n"
             "assert environments.project_root() is None, environments.project_root()\n"
             "with environments.harness_source() as spec:\n"
             "    print(spec)\n"
             f"environments.rebuild_source_tree(Path({str(tree)!r}))\n")
    result = subprocess.run([str(installed), "-c", probe], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "resume-harness==" not in result.stdout
    project = tomllib.loads((tree / "pyproject.toml").read_text())["project"]
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["dependencies"] == declared["dependencies"]
    assert project["entry-points"]["pytest11"] == declared["entry-points"]["pytest11"]
    fresh = _venv(tmp_path / "fresh")
    _pip(fresh, "--no-deps", str(tree))
    check = subprocess.run([str(fresh), "-c", "import json, importlib.metadata as m, harness; print(json.dumps("
                            "[harness.__file__, m.version('resume-harness'), "
                            "sorted(e.name for e in m.entry_points(group='pytest11'))]))"],
                           capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert check.returncode == 0, check.stderr
    path, version, plugins = json.loads(check.stdout)
    assert str(tmp_path / "fresh") in path
    assert version == harness.__version__
    assert plugins == ["resume_harness"]
    assert (tmp_path / "fresh" / "bin" / "resume-harness").exists()
    assert (Path(path).parent / "findings").is_dir()
