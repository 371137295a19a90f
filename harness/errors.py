"""Errors a user can act on.

Every error here is a *usage* error: the command line prints its message as one line and
exits with code 2. Messages say what was wrong and what to do instead.
"""

from __future__ import annotations


class HarnessUsageError(Exception):
    """Bad input from the user: a scenario file, a target name, an option."""


class ScenarioError(HarnessUsageError):
    """A scenario is malformed or inconsistent. The message names the offending field."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"scenario field '{field}': {problem}")


class UnknownTargetError(HarnessUsageError):
    """No target of that name is registered."""
