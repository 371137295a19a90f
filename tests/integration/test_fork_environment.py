"""A DataDesigner fork, checked the way the README tells a fork's maintainer to check one:
`resume-harness env create NAME --from ...` with the monorepo's three packages as source
trees, installed in dependency order, then the ledger replayed in that environment.

The source trees are the package registry's source distributions of the latest release,
unpacked: what `packages/data-designer-config`, `packages/data-designer-engine` and
`packages/data-designer` of a checkout of that release hold. A fork without changes must
behave exactly as the release does, finding for finding.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from test_data_designer import LATEST, LEDGER, REPLAY_ATTEMPTS

pytestmark = pytest.mark.datadesigner

PACKAGES = ("data-designer-config", "data-designer-engine", "data-designer")


def _source_trees(directory: Path) -> list[Path]:
    """The three packages of release LATEST as unpacked source trees, in install order."""
    downloads = directory / "downloads"
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-deps",
                    "--no-binary", ":all:", "-d", str(downloads), *(f"{p}=={LATEST}" for p in PACKAGES)],
                   check=True, capture_output=True, text=True, timeout=600)
    trees = []
    for package in PACKAGES:
        (archive,) = downloads.glob(f"{package.replace('-', '_')}-{LATEST}.tar.gz")
        with tarfile.open(archive) as tar:
            if hasattr(tarfile, "data_filter"):
                tar.extractall(directory / "checkout", filter="data")
            else:  # Python before 3.10.12 has no extraction filters
                tar.extractall(directory / "checkout")  # noqa: S202 - the registry's own archive
        trees.append(directory / "checkout" / archive.name.removesuffix(".tar.gz"))
    return trees


def test_a_fork_checkout_gets_an_environment_and_behaves_as_its_release_on_the_ledger(tmp_path):
    trees = _source_trees(tmp_path)
    env = {**os.environ, "RESUME_HARNESS_ENVS": str(tmp_path / "envs")}
    create = subprocess.run(
        [sys.executable, "-m", "harness.cli", "env", "create", "myfork", *(a for t in trees for a in ("--from", str(t)))],
        capture_output=True, text=True, env=env, timeout=900,
    )
    assert create.returncode == 0, create.stdout + create.stderr
    assert f"ready: DataDesigner {LATEST}" in " ".join(create.stdout.split())
    listed = subprocess.run([sys.executable, "-m", "harness.cli", "env", "list"], capture_output=True, text=True,
                            env=env)
    assert f"myfork: DataDesigner {LATEST}" in " ".join(listed.stdout.split())

    python = tmp_path / "envs" / "dd-myfork" / "bin" / "python"
    cases = [(f, LATEST in f.fails_on) for f in LEDGER if LATEST in f.fails_on or LATEST in f.passes_on]
    assert any(fails for _, fails in cases) and any(not fails for _, fails in cases), "need both outcomes"
    for finding, fails in cases:
        replay = subprocess.run([str(python), "-m", "harness.cli", "replay", str(finding.path), "--target",
                                 finding.target, "--attempts", REPLAY_ATTEMPTS],
                                capture_output=True, text=True, env=env, timeout=900)
        assert replay.returncode == (1 if fails else 0), (
            f"{finding.id} on the fork of {LATEST}: expected it to {'fail' if fails else 'pass'}\n{replay.stdout}"
        )
