"""The MLLP listener: one thread per connection, many messages per connection.

Each connection is isolated: an idle timeout, a frame size cap, and any
error in one message answered with an ACK instead of a dropped socket.
"""

from __future__ import annotations

import logging
import socket
import socketserver
import ssl
import threading
from typing import Any, Protocol

from django.conf import settings
from django.db import connection

from hl7 import mllp
from hl7.errors import HL7Error
from hl7.fast_intake import FastIntake
from hl7.intake import receive
from hl7.read_message import read_header
from hl7.write_ack import answers_for
from infra.db import HeldConnection, release_connection
from infra.tls import server_context

log = logging.getLogger(__name__)

QUIET_SECONDS = 0.2  # no byte for this long: the MLLP connection's pooled database connection is given back


class _Connection(socketserver.BaseRequestHandler):
    server: MllpServer

    def handle(self) -> None:
        peer = "{}:{}".format(*self.client_address[:2])
        sock = self._secure(self.request, peer)
        if sock is None:
            return
        sock.settimeout(self.server.idle_timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        decoder = mllp.FrameDecoder(self.server.max_message_bytes)
        log.info("MLLP connection from %s", peer)
        intake = self.server.intake_for(peer)
        try:
            self._serve(sock, decoder, peer, intake)
        finally:
            intake.close()
            connection.close()  # this thread's database connection
            log.info("MLLP connection from %s closed (%d stray bytes dropped)", peer, decoder.discarded)

    def _secure(self, sock: socket.socket, peer: str) -> socket.socket | None:
        """The TLS handshake, in this connection's thread and under its timeout."""
        if self.server.ssl_context is None:
            return sock
        sock.settimeout(self.server.idle_timeout)
        try:
            return self.server.ssl_context.wrap_socket(sock, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            log.warning("MLLP TLS handshake with %s failed: %s", peer, exc)
            return None

    def _serve(self, sock: socket.socket, decoder: mllp.FrameDecoder, peer: str, intake: Intake) -> None:
        while not self.server.stopping.is_set():
            try:
                data = self._receive(sock)
            except TimeoutError:
                log.info("MLLP connection from %s idle for %ss, closing", peer, self.server.idle_timeout)
                return
            except OSError:
                return
            if not data:
                return
            try:
                frames = decoder.feed(data)
            except mllp.FrameTooLarge as exc:
                self._refuse_too_large(sock, exc, peer)
                return
            for message in frames:
                for ack in intake.receive(message):
                    sock.sendall(mllp.frame(ack))  # one write per ACK

    def _receive(self, sock: socket.socket) -> bytes:
        """The next bytes. While the sender streams, this thread keeps its
        pooled database connection from one message to the next; once no
        byte came for `QUIET_SECONDS` it goes back to the pool
        (`release_connection`), as a connection open for hours must not
        hold one."""
        quiet = min(QUIET_SECONDS, self.server.idle_timeout)
        if sock.gettimeout() != quiet:  # set again only after a quiet spell
            sock.settimeout(quiet)
        try:
            return sock.recv(65536)
        except TimeoutError:
            release_connection()
        sock.settimeout(max(self.server.idle_timeout - QUIET_SECONDS, 0.001))
        return sock.recv(65536)

    def _refuse_too_large(self, sock: socket.socket, exc: mllp.FrameTooLarge, peer: str) -> None:
        limit = self.server.max_message_bytes
        log.warning("MLLP frame from %s over %d bytes refused; closing", peer, limit)
        try:
            header = read_header(exc.head)
        except HL7Error:
            header = None
        error = HL7Error(207, f"message larger than {limit} bytes refused", severity="E")
        for ack in answers_for(header, "AR", error, stored=False).texts:  # enhanced mode: CE
            sock.sendall(mllp.frame(ack.encode("ascii", errors="replace")))


class Intake(Protocol):
    def receive(self, raw: bytes) -> list[bytes]: ...
    def close(self) -> None: ...


class ReferenceIntake:
    """Every message through `hl7.intake.receive`: the services, in the ORM."""

    def __init__(self, peer: str):
        self.peer = peer

    def receive(self, raw: bytes) -> list[bytes]:
        return receive(raw, self.peer, release=False)  # released when the connection goes quiet

    def close(self) -> None:
        pass


WRITE_PATHS = {"fast": FastIntake, "reference": ReferenceIntake}


class MllpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(
        self,
        host: str,
        port: int,
        *,
        idle_timeout: float | None = None,
        max_message_bytes: int | None = None,
        ssl_context: ssl.SSLContext | None = None,
        write_path: str | None = None,
    ):
        self.idle_timeout = idle_timeout or settings.RIS_MLLP_IDLE_TIMEOUT
        self.ssl_context = ssl_context or server_context(
            settings.RIS_MLLP_TLS_CERT, settings.RIS_MLLP_TLS_KEY, settings.RIS_MLLP_TLS_CA
        )
        self.max_message_bytes = max_message_bytes or settings.RIS_MLLP_MAX_MESSAGE_BYTES
        self.write_path = write_path or settings.RIS_HL7_WRITE_PATH
        if self.write_path not in WRITE_PATHS:
            raise ValueError(f"HL7 write path {self.write_path!r} is not one of {sorted(WRITE_PATHS)}")
        self.stopping = threading.Event()
        super().__init__((host, port), _Connection)

    def intake_for(self, peer: str) -> Intake:
        """One connection's intake: the one-statement path needs PostgreSQL."""
        if self.write_path == "fast" and HeldConnection.available():
            return FastIntake(peer)
        return ReferenceIntake(peer)

    @property
    def port(self) -> int:
        return self.server_address[1]

    def stop(self) -> None:
        self.stopping.set()
        self.shutdown()
        self.server_close()


def start_in_thread(host: str, port: int, **options: Any) -> tuple[MllpServer, threading.Thread]:
    server = MllpServer(host, port, **options)
    # A short poll lets stop() return quickly (shutdown waits for one poll).
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="mllp", daemon=True)
    thread.start()
    return server, thread
