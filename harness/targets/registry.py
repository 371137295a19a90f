"""Target names -> targets.

`reference` is the resume-correct reference engine (the embedded default);
`mutant:<name>` is a bug-seeded mutant of it (see `harness.reference.mutants`);
`data_designer[:sync|:async]` is the installed DataDesigner release. Other packages add
targets through the entry-point group `resume_harness.targets`: each entry point names a
`Target` subclass (or any callable returning a `Target`), and its name is the target's
name, e.g. in a fork's pyproject.toml:

    [project.entry-points."resume_harness.targets"]
    my_fork = "my_fork.resume:MyForkTarget"
"""

from __future__ import annotations

import importlib.metadata

from harness.errors import UnknownTargetError
from harness.reference.mutants import MUTANTS, mutant_summary
from harness.targets.base import Target
from harness.targets.reference import ReferenceTarget

DEFAULT_TARGET = "reference"


DATA_DESIGNER_TARGETS = ("data_designer", "data_designer:sync", "data_designer:async")


ENTRY_POINT_GROUP = "resume_harness.targets"


def _entry_points() -> dict[str, importlib.metadata.EntryPoint]:
    return {ep.name: ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}


def target_names() -> list[str]:
    builtin = ["reference"] + [f"mutant:{name}" for name in MUTANTS] + list(DATA_DESIGNER_TARGETS)
    return builtin + sorted(n for n in _entry_points() if n not in builtin)


def describe_target(name: str) -> str:
    if name == "reference":
        return "resume-correct reference engine (the embedded default)"
    if name in DATA_DESIGNER_TARGETS:
        engine = name.partition(":")[2] or "its default engine"
        return f"the installed DataDesigner release, {engine}"
    entry = _entry_points().get(name)
    if entry is not None:
        return f"registered by {entry.dist.name if entry.dist else 'a package'} ({entry.value})"
    return f"bug-seeded mutant: {mutant_summary(name.split(':', 1)[1])}"


def get_target(name: str) -> Target:
    if name == "reference":
        return ReferenceTarget()
    if name.startswith("mutant:") and name.split(":", 1)[1] in MUTANTS:
        return ReferenceTarget(MUTANTS[name.split(":", 1)[1]], name=name)
    if name in DATA_DESIGNER_TARGETS:
        from harness.targets.data_designer import DataDesignerTarget

        return DataDesignerTarget(name.partition(":")[2] or None)
    entry = _entry_points().get(name)
    if entry is not None:
        target = entry.load()()
        if not isinstance(target, Target):
            raise UnknownTargetError(f"entry point '{name}' ({entry.value}) did not give a resume_harness Target")
        return target
    raise UnknownTargetError(
        f"unknown target '{name}'; run 'resume-harness targets' to list them "
        f"(for example: {', '.join(target_names()[:3])})"
    )
