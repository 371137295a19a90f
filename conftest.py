"""Hypothesis profiles for this project's own tests (see harness/profiles.py):
`dev` by default on a workstation, `ci` when the CI variable is set, or
HYPOTHESIS_PROFILE=dev|ci|thorough."""

import os

from hypothesis import settings

from harness import profiles

profiles.register()
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

pytest_plugins = ["pytester"]
