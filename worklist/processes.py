"""Several DICOM listener processes on one port (`dicomscp --processes N`).

One process runs all its Python under one interpreter lock; on a machine
with several cores a busy DICOM door wants several. The parent process
accepts every connection itself and applies the limits per peer address and
in total there, exactly as one listener does (worklist/listener.py), then
hands the connection's descriptor to the worker holding the fewest
associations, over a Unix socket pair (SCM_RIGHTS). Each worker is a
`dicomscp --worker-fd` process of its own: its own database connections,
held query connections, registry cache (worklist/registry.py: another
process's change is seen within RIS_DICOM_REGISTRY_TTL) and query-log
writer. It runs each association on a thread, as a single listener does,
and tells the parent when one has ended.

The parent watches its workers as `serve` watches its children: one that
dies is started again after a backoff (1 s doubling to 30 s, from 1 s again
once it has run a minute) and its associations are counted as ended; while
no worker runs, a connection is refused A-ASSOCIATE-RJ (transient). A
worker whose parent has gone (its end of the pair closed) stops.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import selectors
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

from worklist import upper_layer as ul
from worklist.association import Services
from worklist.listener import Listener, serve_connection

log = logging.getLogger(__name__)
BACKOFF_MAX_SECONDS = 30.0
HEALTHY_RUN_SECONDS = 60.0
WATCH_SECONDS = 0.5
READY_WITHIN_SECONDS = 120.0
READY = b"ready"  # a worker's first word: it is set up and takes connections

# Starts worker `index` with the child's end of its socket pair (a descriptor it must inherit).
Spawn = Callable[[int, int], "subprocess.Popen[bytes]"]


@dataclass
class WorkerProcess:
    index: int
    process: subprocess.Popen[bytes] | None = None
    channel: socket.socket | None = None
    started_at: float = 0.0
    failures_in_a_row: int = 0
    restart_at: float | None = None
    ready: bool = False  # it has said so: set up, waiting for connections
    # connection id -> (the parent's closed copy of the socket, peer host): what the limits count
    open: dict[int, tuple[socket.socket, str]] = field(default_factory=dict)

    @property
    def running(self) -> bool:
        return self.ready and self.channel is not None and self.process is not None and self.process.poll() is None


class Dispatcher(Listener):
    """The parent: accepts, counts, refuses, and hands connections to workers."""

    def __init__(
        self,
        host: str,
        port: int,
        processes: int,
        spawn: Spawn,
        limits: ul.Limits,
        backoff_seconds: float = 1.0,
    ):
        self.spawn = spawn
        self.backoff_seconds = backoff_seconds
        self.workers = [WorkerProcess(index) for index in range(processes)]
        self._ids = itertools.count(1)
        self._selector: selectors.BaseSelector | None = None
        # The workers first, the port after: no connection waits for a worker still starting.
        for worker in self.workers:
            self._spawn(worker)
        self._await_ready(time.monotonic() + READY_WITHIN_SECONDS)
        # The parent runs no association itself: its workers have the services.
        super().__init__(host, port, cast(Services, None), limits)

    def _await_ready(self, deadline: float) -> None:
        for worker in self.workers:
            channel = worker.channel
            if channel is None:
                continue
            try:
                channel.settimeout(max(deadline - time.monotonic(), 0.01))
                worker.ready = channel.recv(64) == READY
            except OSError:
                pass  # not ready yet: its word is heard later, or _watch sees it die
            finally:
                channel.setblocking(False)

    def serve_forever(self) -> None:
        self._serving.set()
        with selectors.DefaultSelector() as selector:
            self._selector = selector
            selector.register(self._wake_r, selectors.EVENT_READ)
            for worker in self.workers:
                if worker.channel is not None:
                    selector.register(worker.channel, selectors.EVENT_READ, worker)
            accepting = False  # until a worker is ready, connections wait in the backlog
            while not self._stopped.is_set():
                if not accepting and any(w.running for w in self.workers):
                    selector.register(self.socket, selectors.EVENT_READ)
                    accepting = True
                for key, _ in selector.select(WATCH_SECONDS):
                    if key.fileobj is self.socket:
                        self._accept()
                    elif isinstance(key.data, WorkerProcess):
                        self._hear(key.data)
                self._watch()
            self._selector = None
        self._serving.clear()

    # Handing over
    def _start(self, sock: socket.socket, host: str, port: int) -> None:
        running = [worker for worker in self.workers if worker.running]
        worker = min(running, key=lambda w: len(w.open), default=None)
        connection_id = next(self._ids)
        try:
            if worker is None or worker.channel is None:
                raise OSError("no DICOM worker process running")
            socket.send_fds(worker.channel, [f"{connection_id} {host} {port}".encode()], [sock.fileno()])
        except OSError as exc:
            log.error("DICOM connection from %s refused: %s", host, exc)
            self._refuse_transient(sock)
            self._release(sock, host)
            return
        worker.open[connection_id] = (sock, host)
        sock.close()  # the worker holds its own descriptor of the connection now

    def _refuse_transient(self, sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            sock.setblocking(False)
            sock.send(ul.reject_pdu(0x02, 0x02, 0x01))  # rejected-transient, provider (ACSE), no reason
        sock.close()

    def _hear(self, worker: WorkerProcess) -> None:
        """What a worker says: the ids of associations that have ended."""
        while worker.channel is not None:
            try:
                message = worker.channel.recv(64)
            except BlockingIOError:
                return
            except OSError:
                message = b""
            if not message:  # the worker has gone: _watch restarts it
                self._close_channel(worker)
                return
            if message == READY:
                worker.ready = True
                continue
            with contextlib.suppress(ValueError):
                self._ended(worker, int(message))

    def _ended(self, worker: WorkerProcess, connection_id: int) -> None:
        held = worker.open.pop(connection_id, None)
        if held is not None:
            self._release(*held)

    # Watching
    def _spawn(self, worker: WorkerProcess) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            worker.process = self.spawn(worker.index, theirs.fileno())
        except OSError as exc:
            log.error("DICOM worker %d could not be started: %s", worker.index, exc)
            ours.close()
            worker.restart_at = time.monotonic() + self._delay(worker)
            return
        finally:
            theirs.close()
        ours.setblocking(False)
        worker.channel, worker.started_at, worker.restart_at, worker.ready = ours, time.monotonic(), None, False
        if self._selector is not None:
            self._selector.register(ours, selectors.EVENT_READ, worker)
        log.info("DICOM worker %d started (pid %d)", worker.index, worker.process.pid)

    def _watch(self) -> None:
        now = time.monotonic()
        for worker in self.workers:
            if worker.restart_at is None and worker.process is not None and worker.process.poll() is not None:
                self._died(worker, now)
            elif worker.restart_at is not None and now >= worker.restart_at and not self._stopped.is_set():
                self._spawn(worker)

    def _died(self, worker: WorkerProcess, now: float) -> None:
        assert worker.process is not None
        ran = now - worker.started_at
        worker.failures_in_a_row = 1 if ran >= HEALTHY_RUN_SECONDS else worker.failures_in_a_row + 1
        delay = self._delay(worker)
        log.error(
            "DICOM worker %d (pid %d) died (exit %s) after %.0f s with %d associations; restarting in %.0f s",
            worker.index,
            worker.process.pid,
            worker.process.returncode,
            ran,
            len(worker.open),
            delay,
        )
        self._close_channel(worker)
        for connection_id in list(worker.open):
            self._ended(worker, connection_id)
        worker.restart_at = now + delay

    def _delay(self, worker: WorkerProcess) -> float:
        return float(min(self.backoff_seconds * 2 ** max(worker.failures_in_a_row - 1, 0), BACKOFF_MAX_SECONDS))

    def _close_channel(self, worker: WorkerProcess) -> None:
        if worker.channel is None:
            return
        if self._selector is not None:
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(worker.channel)
        worker.channel.close()
        worker.channel = None

    def shutdown(self) -> None:
        """Stop accepting, then stop the workers (each ends its associations)."""
        if self._stopped.is_set():
            return
        super().shutdown()
        for worker in self.workers:
            if worker.process is not None and worker.process.poll() is None:
                worker.process.terminate()
        deadline = time.monotonic() + 10
        for worker in self.workers:
            if worker.process is None:
                continue
            try:
                worker.process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                worker.process.kill()
                worker.process.wait()
            if worker.channel is not None:
                worker.channel.close()
                worker.channel = None


class Worker:
    """A worker process: connections from its parent, one thread each."""

    def __init__(
        self,
        channel: socket.socket,
        services: Services,
        limits: ul.Limits,
        ssl_context: ssl.SSLContext | None = None,
        on_shutdown: Callable[[], object] | None = None,
    ):
        self.channel = channel
        self.services = services
        self.limits = limits
        self.ssl_context = ssl_context
        self.on_shutdown = on_shutdown
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._stopped = threading.Event()

    def serve_forever(self) -> None:
        with contextlib.suppress(OSError):
            self.channel.send(READY)
        while not self._stopped.is_set():
            try:
                message, fds, _, _ = socket.recv_fds(self.channel, 256, 1)
            except OSError:
                break
            if not message and not fds:  # the parent has gone
                break
            self._take(message, fds)
        self.shutdown()

    def _take(self, message: bytes, fds: list[int]) -> None:
        try:
            connection_id, host, port = message.decode().split()
            sock = socket.socket(fileno=fds[0])
        except (ValueError, IndexError, OSError) as exc:
            log.error("DICOM worker: unreadable hand-over %r: %s", message, exc)
            for fd in fds:
                with contextlib.suppress(OSError):
                    socket.socket(fileno=fd).close()
            return
        for fd in fds[1:]:
            with contextlib.suppress(OSError):
                socket.socket(fileno=fd).close()
        with self._lock:
            self._open.add(sock)
        threading.Thread(
            target=self._run, args=(sock, connection_id, host, int(port)), name=f"dicom-{host}:{port}", daemon=True
        ).start()

    def _run(self, sock: socket.socket, connection_id: str, host: str, port: int) -> None:
        try:
            serve_connection(sock, host, port, self.services, self.limits, self.ssl_context)
        finally:
            sock.close()
            with self._lock:
                self._open.discard(sock)
            with contextlib.suppress(OSError):
                self.channel.send(connection_id.encode())

    @property
    def active(self) -> int:
        with self._lock:
            return len(self._open)

    def shutdown(self) -> None:
        if self._stopped.is_set():
            return
        self._stopped.set()
        with self._lock:
            open_sockets = list(self._open)
        for sock in open_sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self.channel.close()
        if self.on_shutdown is not None:
            self.on_shutdown()
