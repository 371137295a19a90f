"""Small builders shared by the tests."""

from __future__ import annotations

from harness.scenario import Fault, IndexRange, Scenario, SeedRow, Segment

NAMES = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta")


def seeds(n: int) -> tuple[SeedRow, ...]:
    return tuple(SeedRow(i, NAMES[i]) for i in range(n))


def issue_709_scenario(engine: str = "sync") -> Scenario:
    """Issue #709's own repro: three ORDERED rows, buffer_size 1, interrupted after the
    first checkpoint, resumed with ResumeMode.ALWAYS."""
    return Scenario(
        seeds=seeds(3),
        selection=IndexRange(0, 2),
        buffer_size=1,
        engine=engine,
        segments=(Segment(3, fault=Fault("raise", "checkpoint", 1)), Segment(3, "always")),
    )


def names(rows: list[dict]) -> list[str]:
    return [r["name"] for r in rows]


def write_environment_variable(name: str, path: str) -> None:
    """Run in a child: record what the child sees of one environment variable."""
    import os
    from pathlib import Path

    Path(path).write_text(os.environ.get(name, "<unset>"))


def fail_in_child(message: str) -> None:
    raise ValueError(message)


def kill_parent_process(pid_path: str) -> None:
    """Run in a child: note this child's pid, then SIGKILL the process that forked it (the
    harness's fork server)."""
    import os
    import signal
    from pathlib import Path

    Path(pid_path).write_text(str(os.getpid()))
    os.kill(os.getppid(), signal.SIGKILL)


def write_whether_loaded(module: str, path: str) -> None:
    """Run in a child: record whether `module` was already imported when the child started."""
    import sys
    from pathlib import Path

    Path(path).write_text(str(module in sys.modules))


def write_modules_a_segment_imports(path: str) -> None:
    """In a child of the fork server: run one small DataDesigner segment and write the
    names of the modules it imported that the server had not."""
    import sys
    from pathlib import Path

    from harness.targets import data_designer_preload

    before = set(sys.modules)
    data_designer_preload._probe()
    Path(path).write_text("\n".join(sorted(m for m in sys.modules if m not in before)))


def leave_a_thread_writing(path: str) -> None:
    """Run in a child: return while a thread goes on appending to `path` (as an
    interrupted async engine's event loop goes on with its tasks)."""
    import threading
    import time

    def write() -> None:
        while True:
            with open(path, "a") as f:
                f.write("x")
            time.sleep(0.001)

    threading.Thread(target=write, daemon=True).start()
    time.sleep(0.05)
