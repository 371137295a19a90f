"""The trial journal: what happened during a run, one JSON object a line.

Targets append checkpoint and fault events as they happen; each line is one `write` to a
file opened for appending, done before the call returns, so a SIGKILL right after an append
loses nothing. The parent reads the
journal back to build the `Outcome`, whether the segment ran in process or in a child.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, event: dict[str, Any]) -> None:
        """Append `event`, stamped with the monotonic time `t` (comparable across the
        processes of one machine) and the `pid` of the process that recorded it."""
        event = {**event, "t": time.monotonic(), "pid": os.getpid()}
        line = (json.dumps(event, sort_keys=True) + "\n").encode("utf-8")
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)

    def events(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line]
