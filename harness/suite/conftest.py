"""Parametrizes the conformance tests from the target's declared capabilities."""

from __future__ import annotations

import pytest

from harness.pytest_plugin import target_name
from harness.suite.cases import capability_cases


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "capability" not in metafunc.fixturenames:
        return
    from harness.errors import HarnessUsageError
    from harness.targets.registry import get_target

    try:
        target = get_target(target_name(metafunc.config))
    except HarnessUsageError as exc:
        raise pytest.UsageError(str(exc)) from None
    cases = capability_cases(target.capabilities)
    metafunc.parametrize("capability", cases, ids=[case.id for case in cases])
