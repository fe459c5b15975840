"""The DICOM listener's sockets: accept, count, refuse, and hand each
connection to its own thread (worklist/association.py).

The accept thread waits in `select` on the listening socket and a wake-up
pipe: nothing runs while nothing arrives. Limits per peer address and in
total are applied at accept, before any byte is read: a connection over
them is answered A-ASSOCIATE-RJ (rejected-transient, local limit exceeded,
PS3.8 9.3.4) at once and closed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import selectors
import socket
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable

from worklist import upper_layer as ul
from worklist.association import Association, Peer, Services

log = logging.getLogger(__name__)

# PS3.8 9.3.4: rejected-transient, service provider (presentation related), local limit exceeded
REJECT_LIMIT = (0x02, 0x03, 0x02)


class Listener:
    """A bound DICOM port; `server_address`, `serve_forever` and `shutdown`
    as socketserver's servers have them."""

    def __init__(
        self,
        host: str,
        port: int,
        services: Services,
        limits: ul.Limits,
        ssl_context: ssl.SSLContext | None = None,
        on_shutdown: Callable[[], object] | None = None,
    ):
        self.on_shutdown = on_shutdown
        self.services = services
        self.limits = limits
        self.ssl_context = ssl_context
        self.socket = socket.create_server((host, port), backlog=128, reuse_port=False)
        self.server_address: tuple[str, int] = self.socket.getsockname()[:2]
        self._wake_r, self._wake_w = os.pipe()
        self._lock = threading.Lock()
        self._per_address: Counter[str] = Counter()
        self._open: set[socket.socket] = set()
        self._stopped = threading.Event()
        self._serving = threading.Event()

    @property
    def active(self) -> int:
        with self._lock:
            return len(self._open)

    def serve_forever(self) -> None:
        self._serving.set()
        with selectors.DefaultSelector() as selector:
            selector.register(self.socket, selectors.EVENT_READ)
            selector.register(self._wake_r, selectors.EVENT_READ)
            while not self._stopped.is_set():
                for key, _ in selector.select():
                    if key.fileobj is self.socket:
                        self._accept()
        self._serving.clear()

    def _accept(self) -> None:
        try:
            sock, address = self.socket.accept()
        except OSError as exc:  # out of file descriptors, among others: do not spin on it
            log.error("DICOM listener cannot accept: %s", exc)
            time.sleep(0.1)
            return
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        host, port = address[0], int(address[1])
        if not self._admit(sock, host):
            log.warning(
                "DICOM connection from %s refused: limit reached (%d per address, %d in all)",
                host,
                self.limits.max_per_address,
                self.limits.max_associations,
            )
            self._refuse(sock)
            return
        self._start(sock, host, port)

    def _start(self, sock: socket.socket, host: str, port: int) -> None:
        """The association of an admitted connection, on a thread of its own."""
        thread = threading.Thread(target=self._run, args=(sock, host, port), name=f"dicom-{host}:{port}", daemon=True)
        thread.start()  # the default stack: only the pages it touches are resident

    def _admit(self, sock: socket.socket, host: str) -> bool:
        with self._lock:
            if (
                len(self._open) >= self.limits.max_associations
                or self._per_address[host] >= self.limits.max_per_address
            ):
                return False
            self._open.add(sock)
            self._per_address[host] += 1
            return True

    def _refuse(self, sock: socket.socket) -> None:
        try:
            if self.ssl_context is None:  # under TLS a plain PDU means nothing: just close
                sock.setblocking(False)
                sock.send(ul.reject_pdu(*REJECT_LIMIT))
        except OSError:
            pass
        finally:
            sock.close()

    def _run(self, sock: socket.socket, host: str, port: int) -> None:
        try:
            serve_connection(sock, host, port, self.services, self.limits, self.ssl_context)
        finally:
            sock.close()
            self._release(sock, host)

    def _release(self, sock: socket.socket, host: str) -> None:
        with self._lock:
            self._open.discard(sock)
            self._per_address[host] -= 1
            if self._per_address[host] <= 0:
                del self._per_address[host]

    def shutdown(self) -> None:
        """Stop accepting and end every open association."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        os.write(self._wake_w, b"x")
        deadline = time.monotonic() + 5
        while self._serving.is_set() and time.monotonic() < deadline:
            time.sleep(0.01)
        self.socket.close()
        with self._lock:
            open_sockets = list(self._open)
        for sock in open_sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        if self.on_shutdown is not None:
            self.on_shutdown()

    def server_close(self) -> None:
        self.shutdown()


def serve_connection(
    sock: socket.socket,
    host: str,
    port: int,
    services: Services,
    limits: ul.Limits,
    ssl_context: ssl.SSLContext | None,
) -> None:
    """One admitted connection's association, to its end (TLS first, if configured)."""
    stream = _wrap(sock, limits, ssl_context)
    if stream is not None:
        Association(ul.Transport(stream, limits), Peer("", host, port), services).run()


def _wrap(sock: socket.socket, limits: ul.Limits, ssl_context: ssl.SSLContext | None) -> socket.socket | None:
    """TLS (PS3.15 B.1), its handshake within the ARTIM."""
    if ssl_context is None:
        return sock
    try:
        sock.settimeout(limits.artim)
        return ssl_context.wrap_socket(sock, server_side=True)
    except (OSError, ssl.SSLError) as exc:
        log.warning("DICOM TLS handshake failed: %s", exc)
        return None
