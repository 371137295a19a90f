"""docs/ci/resume-harness.yml, the workflow a DataDesigner fork copies into its CI, runs the
commands the README documents, and what it uploads is where the plugin writes findings."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / "docs" / "ci" / "resume-harness.yml"
README_SUITE = "pytest --pyargs harness.suite -n auto"


def _runs() -> list[str]:
    """The shell commands of the workflow's `run:` steps, one per line."""
    commands, block = [], False
    for line in WORKFLOW.read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("run: |"):
            block = True
            continue
        if stripped.startswith("run: "):
            commands.append(stripped[len("run: "):])
            block = False
        elif block and stripped and not re.match(r"^- |^\w[\w-]*:", stripped):
            commands.append(stripped)
        else:
            block = False
    return commands


def _suite_commands() -> list[list[str]]:
    return [shlex.split(c) for c in _runs() if c.startswith("pytest ")]


def test_the_readme_points_forks_at_the_workflow_and_documents_its_commands():
    readme = (ROOT / "README.md").read_text()
    assert "docs/ci/resume-harness.yml" in readme
    assert README_SUITE in readme
    assert "pip install /path/to/resume-harness" in readme


def test_every_suite_run_is_the_readmes_command_with_documented_options():
    commands = _suite_commands()
    assert len(commands) == 2, _runs()  # every push, and the nightly thorough run
    help_text = subprocess.run([sys.executable, "-m", "pytest", "--help", "-p", "no:cacheprovider"],
                               capture_output=True, text=True, timeout=120, cwd=ROOT).stdout
    profiles = set()
    for command in commands:
        assert shlex.join(command).startswith(README_SUITE), command
        options = [a.split("=")[0] for a in command if a.startswith("--")]
        for option in options:
            assert option in help_text, option
        profiles.add(command[command.index("--resume-profile") + 1])
        assert "--junit-xml" in options
    assert profiles == {"ci", "thorough"}


def test_the_harness_is_installed_from_its_checkout_never_from_a_registry_name():
    installs = [c for c in _runs() if "pip install" in c]
    assert any(c.endswith("./resume-harness") for c in installs), installs
    assert not any(re.search(r"\bresume[-_]harness[=<>~]", c) for c in installs), installs


def test_what_the_workflow_uploads_is_where_a_failing_run_writes_its_reproducers(tmp_path):
    command = _suite_commands()[0]
    artifacts = command[command.index("--resume-artifacts") + 1]
    assert f"path: {artifacts}/" in WORKFLOW.read_text()
    # The same command, on a bug-seeded target, in an empty directory standing for the fork.
    args = [a.replace("auto", "2") for a in command[1:]]
    # one capability is enough to see where its reproducers go, with a mutant every resume
    # shows at once (`seed_restart` on 30 examples of one capability passed once in CI)
    result = subprocess.run([sys.executable, "-m", "pytest", *args, "--resume-target", "mutant:start_over",
                             "-p", "no:cacheprovider", "-q", "-k", "sampling-ordered"], capture_output=True, text=True,
                            timeout=600,
                            cwd=tmp_path)
    assert result.returncode == 1, result.stdout[-2000:]
    assert (tmp_path / "resume-harness.xml").is_file()
    written = list((tmp_path / artifacts).rglob("*"))
    assert any(p.name == "finding.json" for p in written)
    assert any(p.name.startswith("repro_") for p in written)
