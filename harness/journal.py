"""The trial journal: what happened during a run, one JSON object a line.

Targets append checkpoint and fault events as they happen; each line is flushed before the
call returns, so a SIGKILL right after an append loses nothing. The parent reads the
journal back to build the `Outcome`, whether the segment ran in process or in a child.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, event: dict[str, Any]) -> None:
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(event, sort_keys=True) + "\n")
            fh.flush()

    def events(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line]
