"""`serve`'s children: one process per door, watched and restarted.

Web, MLLP, DICOM and the Celery worker each run in their own child process,
so a slow query or a stuck thread in one door never holds the others, and a
child that dies is started again after a backoff (1 s doubling to 30 s,
from the first again once a child has run for a minute). The supervisor
writes what it sees to a status file (JSON, replaced atomically); the web
child's `/health/ready` and `/metrics` read it, so a dead child is reported
while it waits for its restart and its restarts are counted after.

Children die with the supervisor (Linux PR_SET_PDEATHSIG), so a killed
`serve` leaves no orphan holding a port. Each child leads a process group
of its own, and what is left of the group when the child ends goes with it:
the Celery worker's embedded beat is a process the worker forked, and a
worker killed outright used to leave it running, so that its restart made
a second beat, and every periodic task ran twice.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
BACKOFF_MAX_SECONDS = 30.0
HEALTHY_RUN_SECONDS = 60.0
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # runs in the child between fork and exec
    # Not Linux: the door children watch their parent instead (serve --child).
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restarts: int = 0
    failures_in_a_row: int = 0
    last_exit: int | None = None
    restart_at: float | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def status(self) -> dict[str, Any]:
        return {
            "pid": self.process.pid if self.running and self.process else None,
            "state": "running" if self.running else "restarting",
            "restarts": self.restarts,
            "last_exit": describe_exit(self.last_exit),
        }


def _end_group(leader: int) -> None:
    """Kill what remains of a child's process group once the child has ended."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(leader, signal.SIGKILL)


def describe_exit(code: int | None) -> str:
    if code is None:
        return ""
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


class Supervisor:
    def __init__(self, children: list[Child], status_file: Path, backoff_seconds: float = 1.0):
        self.children = children
        self.status_file = status_file
        self.backoff_seconds = backoff_seconds
        self.on_restart: list[Any] = []  # callables(child) run after a child was started again

    def start_all(self) -> None:
        for child in self.children:
            self._start(child)
        self.write_status()

    def _start(self, child: Child) -> None:
        child.process = subprocess.Popen(
            child.argv, env={**os.environ, **child.env}, preexec_fn=_die_with_parent, start_new_session=True
        )
        child.started_at = time.monotonic()
        child.restart_at = None
        log.info("serve: %s started (pid %d)", child.name, child.process.pid)

    def poll(self) -> None:
        """Notice children that died and start the ones whose backoff is over."""
        changed = False
        now = time.monotonic()
        for child in self.children:
            if child.restart_at is None and child.process is not None and child.process.poll() is not None:
                self._died(child, now)
                changed = True
            elif child.restart_at is not None and now >= child.restart_at:
                child.restarts += 1
                self._start(child)
                changed = True
                for hook in self.on_restart:
                    hook(child)
        if changed:
            self.write_status()

    def _died(self, child: Child, now: float) -> None:
        assert child.process is not None
        child.last_exit = child.process.returncode
        _end_group(child.process.pid)  # what it had started, before it starts again
        ran = now - child.started_at
        child.failures_in_a_row = 1 if ran >= HEALTHY_RUN_SECONDS else child.failures_in_a_row + 1
        delay = self.delay(child.failures_in_a_row)
        child.restart_at = now + delay
        log.error(
            "serve: %s (pid %d) died (%s) after %.0f s; restarting in %.0f s",
            child.name,
            child.process.pid,
            describe_exit(child.last_exit),
            ran,
            delay,
        )

    def delay(self, failures_in_a_row: int) -> float:
        """Seconds before a restart: the backoff doubling with each failure in a row, up to 30 s."""
        return float(min(self.backoff_seconds * 2 ** (failures_in_a_row - 1), BACKOFF_MAX_SECONDS))

    def stop_all(self, timeout: float = 20) -> None:
        for child in self.children:
            if child.running and child.process:
                child.process.terminate()
        deadline = time.monotonic() + timeout
        for child in self.children:
            if child.process is None:
                continue
            try:
                child.process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()
            _end_group(child.process.pid)
        self.status_file.unlink(missing_ok=True)

    def write_status(self) -> None:
        data = {"supervisor_pid": os.getpid(), "children": {c.name: c.status() for c in self.children}}
        partial = self.status_file.with_suffix(".tmp")
        partial.write_text(json.dumps(data))
        os.replace(partial, self.status_file)


def read_status(status_file: str) -> dict[str, dict[str, Any]] | None:
    """The children as the supervisor last wrote them; None when there is no
    supervisor (or it is gone: its pid no longer runs)."""
    try:
        data = json.loads(Path(status_file).read_text())
    except (OSError, ValueError):
        return None
    try:
        os.kill(int(data["supervisor_pid"]), 0)
    except (OSError, KeyError, ValueError, TypeError):
        return None
    children: dict[str, dict[str, Any]] = data.get("children", {})
    return children
