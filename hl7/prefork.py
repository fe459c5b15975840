"""The MLLP listener as several processes on one port (`mllp --processes N`).

One Python process serves all its connections' threads under one
interpreter lock: four busy connections then wait for each other's Python
work. Here the listening socket is bound once, by this process, and N
children forked from it accept on it, each with its own interpreter,
threads and database connections; the kernel hands each new connection to
a child that waits in accept. A connection stays with the child that
accepted it for its whole life, so the order of one sender's messages is
kept as with one process.

This process only watches: a child that dies (killed, out of memory) is
forked again after a short pause, and logged; SIGTERM or SIGINT stops the
children, then this process.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Callable

from django.db import connections

from hl7.server import MllpServer

log = logging.getLogger(__name__)

RESTART_PAUSE_SECONDS = 1.0
ORPHAN_CHECK_SECONDS = 1.0


class Prefork:
    """N children serving one bound `MllpServer`; `run()` supervises them."""

    def __init__(self, server: MllpServer, processes: int, on_child_start: Callable[[int], None] | None = None):
        if processes < 1:
            raise ValueError("at least one process")
        self.server = server
        self.processes = processes
        self.on_child_start = on_child_start  # in the child, before it serves: its number
        self.children: dict[int, int] = {}  # pid: child number
        self.stopping = False

    def run(self) -> None:
        """Fork the children, keep them running until SIGTERM or SIGINT."""
        _close_database_connections()  # the children open their own
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._stop)
        for number in range(self.processes):
            self._fork(number)
        while self.children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            if pid not in self.children or self.stopping:
                self.children.pop(pid, None)
                continue
            number = self.children.pop(pid)
            log.error("MLLP child %d (pid %d) died (%s); starting it again", number, pid, _exit_reason(status))
            time.sleep(RESTART_PAUSE_SECONDS)
            if not self.stopping:
                self._fork(number)
        self.server.server_close()

    def _fork(self, number: int) -> None:
        parent = os.getpid()
        pid = os.fork()
        if pid:
            self.children[pid] = number
            return
        code = 0
        try:
            self._serve_as_child(number, parent)
        except KeyboardInterrupt:
            pass
        except BaseException:
            log.exception("MLLP child %d failed", number)
            code = 1
        finally:
            os._exit(code)  # never back into the parent's loop

    def _serve_as_child(self, number: int, parent: int) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        threading.Thread(target=self._stop_when_orphaned, args=(parent,), name="orphan-watch", daemon=True).start()
        if self.on_child_start is not None:
            self.on_child_start(number)
        log.info("MLLP child %d (pid %d) accepting on port %d", number, os.getpid(), self.server.port)
        self.server.serve_forever(poll_interval=0.5)

    def _stop_when_orphaned(self, parent: int) -> None:
        """A child whose parent was killed (SIGKILL: no chance to stop its
        children) stops accepting too, instead of serving unsupervised."""
        while os.getppid() == parent:
            time.sleep(ORPHAN_CHECK_SECONDS)
        log.error("MLLP child %d: its parent %d is gone; stopping", os.getpid(), parent)
        self.server.shutdown()

    def _stop(self, *_: object) -> None:
        self.stopping = True
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):  # it has just died
                os.kill(pid, signal.SIGTERM)


def _close_database_connections() -> None:
    """No connection, and no pool with its threads, may cross a fork."""
    for connection in connections.all(initialized_only=True):
        connection.close()
        close_pool = getattr(connection, "close_pool", None)
        if close_pool is not None:
            close_pool()


def _exit_reason(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit code {os.waitstatus_to_exitcode(status)}"
