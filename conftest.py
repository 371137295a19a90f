"""Hypothesis profiles for the whole suite.

- `dev` (default on a workstation): quick, randomised, remembers failures locally.
- `ci` (default when the CI variable is set): derandomised, no example database,
  no deadline, so a CI run is reproducible from the commit alone.
- `thorough`: many examples, for a long local run.
Choose with HYPOTHESIS_PROFILE=dev|ci|thorough.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", max_examples=150, derandomize=True, database=None, deadline=None,
                          print_blob=True, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=2000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
