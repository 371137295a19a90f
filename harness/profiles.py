"""Hypothesis profiles and example budgets shared by this project's tests and the
pytest plugin: `dev` (quick), `ci` (derandomized, no database, no deadline), `thorough`."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

PROFILES = ("dev", "ci", "thorough")
#: examples per conformance test (each example is a straight run and a resumed chain)
SUITE_EXAMPLES = {"dev": 15, "ci": 30, "thorough": 300}


def register() -> None:
    quiet = [HealthCheck.too_slow]
    settings.register_profile("dev", max_examples=60, deadline=None, suppress_health_check=quiet)
    settings.register_profile("ci", max_examples=150, derandomize=True, database=None, deadline=None,
                              print_blob=True, suppress_health_check=quiet)
    settings.register_profile("thorough", max_examples=2000, deadline=None, suppress_health_check=quiet)
