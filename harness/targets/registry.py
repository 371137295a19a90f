"""Target names -> targets.

`reference` is the resume-correct reference engine (the embedded default);
`mutant:<name>` is a bug-seeded mutant of it (see `harness.reference.mutants`).
"""

from __future__ import annotations

from harness.errors import UnknownTargetError
from harness.reference.mutants import MUTANTS, mutant_summary
from harness.targets.base import Target
from harness.targets.reference import ReferenceTarget

DEFAULT_TARGET = "reference"


DATA_DESIGNER_TARGETS = ("data_designer", "data_designer:sync", "data_designer:async")


def target_names() -> list[str]:
    return ["reference"] + [f"mutant:{name}" for name in MUTANTS] + list(DATA_DESIGNER_TARGETS)


def describe_target(name: str) -> str:
    if name == "reference":
        return "resume-correct reference engine (the embedded default)"
    if name in DATA_DESIGNER_TARGETS:
        engine = name.partition(":")[2] or "its default engine"
        return f"the installed DataDesigner release, {engine}"
    return f"bug-seeded mutant: {mutant_summary(name.split(':', 1)[1])}"


def get_target(name: str) -> Target:
    if name == "reference":
        return ReferenceTarget()
    if name.startswith("mutant:") and name.split(":", 1)[1] in MUTANTS:
        return ReferenceTarget(MUTANTS[name.split(":", 1)[1]], name=name)
    if name in DATA_DESIGNER_TARGETS:
        from harness.targets.data_designer import DataDesignerTarget

        return DataDesignerTarget(name.partition(":")[2] or None)
    raise UnknownTargetError(
        f"unknown target '{name}'; run 'resume-harness targets' to list them "
        f"(for example: {', '.join(target_names()[:3])})"
    )
