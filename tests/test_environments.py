"""How an environment's packages are installed: uv where it is, pip otherwise or after uv
failed, and `RESUME_HARNESS_INSTALLER=pip` declines uv."""

from __future__ import annotations

from pathlib import Path

from harness import environments


def test_pip_is_used_where_uv_is_declined(monkeypatch):
    monkeypatch.setenv(environments.INSTALLER_VARIABLE, "pip")
    assert environments.uv_binary() is None
    monkeypatch.setenv(environments.INSTALLER_VARIABLE, "uv")
    assert environments.uv_binary() is not None  # the test extra installs uv


def test_uv_first_and_pip_where_uv_fails(monkeypatch, tmp_path):
    ran = []
    monkeypatch.setattr(environments, "_run", lambda command, *args, **kwargs: ran.append(command))
    monkeypatch.setattr(environments, "uv_binary", lambda: "/bin/true")
    environments._install(tmp_path, ["data-designer==0.6.0"], "installing", "0.6.0")
    assert ran == []  # uv succeeded: pip is not run
    monkeypatch.setattr(environments, "uv_binary", lambda: "/bin/false")
    environments._install(tmp_path, ["data-designer==0.6.0"], "installing", "0.6.0")
    assert ran == [[str(Path(tmp_path, "bin", "python")), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    "data-designer==0.6.0"]]
