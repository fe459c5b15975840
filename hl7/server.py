"""The MLLP listener: one event loop per process serves all its connections.

The loop (one thread) accepts, does the TLS handshake step by step, reads
and frames, makes each message's statement on the one-statement path
(`FastIntake.begin`) and sends it on its database connection, the lane:
at once when the lane is free, else with the other statements made while
it was busy, as one transaction (`hl7.group_commit`). It waits for the
lane's answers among the connections' bytes, and writes the ACKs after
the commit. What has to wait runs on a worker thread (`_Workers`): a
message applied the reference way (the services, in the ORM), the first
message of a sender whose rules are still to be read, the lane's
connecting. That connection's next message waits for it; the others go
on. One connection's messages are applied one at a time, in the order they
came, as ever.

Why a loop and not a thread per connection: four busy connections' threads
in one interpreter handed its lock to each other on every read and every
answer, and that cost a fifth of the listener's CPU per message, and a
tenth of the throughput (docs/benchmarks.md, "One loop for all
connections").

Each connection is isolated: an idle timeout, a frame size cap, its ACKs
buffered (a peer that does not read them is not read from either, and holds
nothing else up), and any error in one message answered with an ACK instead
of a dropped socket.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import logging
import queue
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import psycopg
from django.conf import settings
from django.db import DatabaseError, connection

from hl7 import group_commit, mllp
from hl7.errors import HL7Error
from hl7.fast_intake import FastIntake, InFlight
from hl7.intake import receive
from hl7.read_message import read_header
from hl7.write_ack import answers_for
from infra.db import HeldConnection, release_connection
from infra.tls import server_context

log = logging.getLogger(__name__)

QUIET_SECONDS = 0.2  # a worker without work this long gives its pooled database connection back
WORKERS = 16  # threads for what must wait, at most, per process
READ_BYTES = 65536
SWEEP_SECONDS = 0.1  # idle connections are looked for this often
QUEUED_FRAMES = 64  # a connection's messages read ahead of the one being applied, at most
QUEUED_BYTES = 1 << 20  # a connection's ACKs not yet written, before it is read from again


class Intake(Protocol):
    def begin(self, raw: bytes) -> InFlight | None: ...
    def receive(self, raw: bytes) -> list[bytes]: ...
    def reference(self, raw: bytes) -> list[bytes]: ...
    def close(self) -> None: ...


class ReferenceIntake:
    """Every message through `hl7.intake.receive`: the services, in the ORM."""

    def __init__(self, peer: str):
        self.peer = peer

    def begin(self, raw: bytes) -> InFlight | None:
        return None  # always waits: a worker receives it

    def receive(self, raw: bytes) -> list[bytes]:
        return receive(raw, self.peer, release=False)  # released when the worker goes quiet

    reference = receive

    def close(self) -> None:
        pass


WRITE_PATHS = {"fast": FastIntake, "reference": ReferenceIntake}


_READ, _WRITE = select.EPOLLIN, select.EPOLLOUT
_READABLE = select.EPOLLIN | select.EPOLLHUP | select.EPOLLERR  # a hang-up or an error: the read tells
_WRITABLE = select.EPOLLOUT | select.EPOLLHUP | select.EPOLLERR


class _Poller:
    """epoll, and what each descriptor registered stands for: the loop's
    bookkeeping, lighter than the `selectors` module's, which cost several
    microseconds per message (docs/benchmarks.md, "One loop for all connections")."""

    def __init__(self) -> None:
        self._epoll = select.epoll()
        self._data: dict[int, Any] = {}

    def register(self, fd: int, events: int, data: Any) -> None:
        self._epoll.register(fd, events)
        self._data[fd] = data

    def modify(self, fd: int, events: int, data: Any) -> None:
        self._epoll.modify(fd, events)
        self._data[fd] = data

    def unregister(self, fd: int) -> None:
        if self._data.pop(fd, None) is not None:
            with contextlib.suppress(OSError):  # closed already: epoll let it go with its descriptor
                self._epoll.unregister(fd)

    def poll(self, timeout: float) -> list[tuple[Any, int]]:
        data = self._data
        return [(data[fd], events) for fd, events in self._epoll.poll(timeout) if fd in data]

    def close(self) -> None:
        self._epoll.close()


class _Peer:
    """One MLLP connection, as the loop keeps it."""

    def __init__(self, sock: socket.socket, name: str, decoder: mllp.FrameDecoder, intake: Intake):
        self.sock, self.name, self.decoder, self.intake = sock, name, decoder, intake
        self.frames: collections.deque[bytes] = collections.deque()
        self.out = bytearray()  # ACKs not yet written
        self.raw = b""  # the message being applied
        self.flight: InFlight | None = None  # its statement, waiting to be sent or sent (`hl7.group_commit`)
        self.working = False  # a worker has it
        self.closing = False  # closed once its ACKs are written
        self.closed = False
        self.handshaking = isinstance(sock, ssl.SSLSocket)  # TLS: until its handshake is done
        self.handshake_wants = _READ
        self.fd = sock.fileno()
        self.events = 0  # registered with the poller
        self.active = time.monotonic()  # the last byte read or written

    @property
    def busy(self) -> bool:
        return self.flight is not None or self.working


class MllpServer:
    """The listening socket, bound at once; `serve_forever` runs the loop
    (in a `hl7.prefork` child, after the fork)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        idle_timeout: float | None = None,
        max_message_bytes: int | None = None,
        ssl_context: ssl.SSLContext | None = None,
        write_path: str | None = None,
        workers: int = WORKERS,
    ):
        self.idle_timeout = idle_timeout or settings.RIS_MLLP_IDLE_TIMEOUT
        self.ssl_context = ssl_context or server_context(
            settings.RIS_MLLP_TLS_CERT, settings.RIS_MLLP_TLS_KEY, settings.RIS_MLLP_TLS_CA
        )
        self.max_message_bytes = max_message_bytes or settings.RIS_MLLP_MAX_MESSAGE_BYTES
        self.write_path = write_path or settings.RIS_HL7_WRITE_PATH
        if self.write_path not in WRITE_PATHS:
            raise ValueError(f"HL7 write path {self.write_path!r} is not one of {sorted(WRITE_PATHS)}")
        self.workers = workers
        self.socket = socket.create_server((host, port), backlog=64)
        self.socket.setblocking(False)  # the processes of `mllp --processes N` accept on it together
        self.server_address = self.socket.getsockname()
        self.stopping = threading.Event()
        self._stopped = threading.Event()
        self._stopped.set()
        self._loop: _Loop | None = None

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def intake_for(self, peer: str) -> Intake:
        """One connection's intake: the one-statement path needs PostgreSQL."""
        if self.write_path == "fast" and HeldConnection.available():
            return FastIntake(peer)
        return ReferenceIntake(peer)

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        self._stopped.clear()
        try:
            self._loop = _Loop(self, poll_interval)
            self._loop.run()
        finally:
            self._loop = None
            connection.close()  # the loop thread's, if a first statement's catalogue lookup opened one
            self._stopped.set()

    def shutdown(self) -> None:
        """Stop the loop (from another thread) and wait until it has."""
        self.stopping.set()
        loop = self._loop
        if loop is not None:
            loop.wake()
        self._stopped.wait(timeout=10)

    def server_close(self) -> None:
        self.socket.close()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _Loop:
    """One process's connections, served from one thread."""

    ACCEPT = "accept"
    WAKE = "wake"

    def __init__(self, server: MllpServer, poll_interval: float):
        self.server = server
        self.poll_interval = poll_interval
        self.poller = _Poller()
        self.peers: set[_Peer] = set()
        self._done: collections.deque[Callable[[], None]] = collections.deque()  # from the workers
        self._wake_read, self._wake_write = socket.socketpair()
        self._wake_read.setblocking(False)
        self._wake_write.setblocking(False)
        self.workers = _Workers(server.workers, self._finished)
        self._swept = time.monotonic()
        self.waiting = group_commit.Waiting()  # statements made, for the next lane free
        fast = server.write_path == "fast" and HeldConnection.available()
        self.lanes = [group_commit.Lane() for _ in range(group_commit.LANES)] if fast else []

    def run(self) -> None:
        self.poller.register(self.server.socket.fileno(), _READ, self.ACCEPT)
        self.poller.register(self._wake_read.fileno(), _READ, self.WAKE)
        try:
            while not self.server.stopping.is_set():
                timeout = SWEEP_SECONDS if self.peers else self.poll_interval
                for data, events in self.poller.poll(timeout):
                    self._event(data, events)
                while self._done:
                    self._done.popleft()()
                if self.waiting:  # all that this turn made, together
                    self._dispatch()
                if time.monotonic() - self._swept >= SWEEP_SECONDS:
                    self._sweep()
        finally:
            self._close_all()

    def wake(self) -> None:
        with contextlib.suppress(OSError):  # a wake is pending already, or the loop has ended
            self._wake_write.send(b"\0")

    def _event(self, data: Any, events: int) -> None:
        if data == self.ACCEPT:
            self._accept()
        elif data == self.WAKE:
            with contextlib.suppress(BlockingIOError):
                while self._wake_read.recv(4096):
                    pass
        elif isinstance(data, _Peer):
            self._isolated(data, self._socket_event, data, events)
        else:
            self._lane_event(data, events)

    def _isolated(self, peer: _Peer, handle: Callable[..., None], *args: Any) -> None:
        """A fault of ours in one connection's handling ends that connection,
        never the loop that serves the others."""
        try:
            handle(*args)
        except Exception:
            log.exception("MLLP connection from %s failed; closing it", peer.name)
            self._close(peer)

    def _socket_event(self, peer: _Peer, events: int) -> None:
        if peer.handshaking:
            self._handshake(peer)
            return
        if events & _WRITABLE and peer.out:
            self._write(peer)
        if events & _READABLE and peer.events & _READ and not peer.closed:
            self._read(peer)

    # --- connections

    def _accept(self) -> None:
        for _ in range(16):  # a few at a time; the rest on the next turn
            try:
                sock, address = self.server.socket.accept()
            except (BlockingIOError, InterruptedError):
                return  # another process took it
            except OSError as exc:  # out of descriptors, say: the listener lives on
                log.warning("MLLP accept failed: %s", exc)
                return
            name = "{}:{}".format(*address[:2])
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            log.info("MLLP connection from %s", name)
            sock.setblocking(False)
            context = self.server.ssl_context
            if context is not None:  # the handshake is done in the loop too, step by step
                try:
                    sock = context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
                except (ssl.SSLError, OSError) as exc:  # gone already
                    log.warning("MLLP TLS with %s failed: %s", name, exc)
                    sock.close()
                    continue
            peer = _Peer(sock, name, mllp.FrameDecoder(self.server.max_message_bytes), self.server.intake_for(name))
            self.peers.add(peer)
            self._interest(peer)

    def _handshake(self, peer: _Peer) -> None:
        """The next step of the TLS handshake; a stalled one ends with the idle timeout."""
        assert isinstance(peer.sock, ssl.SSLSocket)
        try:
            peer.sock.do_handshake()
        except ssl.SSLWantReadError:
            peer.handshake_wants = _READ
        except ssl.SSLWantWriteError:
            peer.handshake_wants = _WRITE
        except (ssl.SSLError, OSError) as exc:
            log.warning("MLLP TLS handshake with %s failed: %s", peer.name, exc)
            self._close(peer)
            return
        else:
            peer.handshaking = False
            peer.active = time.monotonic()
            self._interest(peer)
            self._read(peer)  # what came with the handshake's last record may be decrypted already
            return
        self._interest(peer)

    def _close(self, peer: _Peer) -> None:
        if peer.closed:
            return
        peer.closed = True
        self.peers.discard(peer)
        if peer.events:
            self.poller.unregister(peer.fd)
        if peer.flight is not None:  # not sent, or sent: either way not answered
            self.waiting.drop(peer)
            peer.flight = None
        peer.sock.close()
        if not peer.working:  # else the worker's end closes it
            peer.intake.close()
        log.info("MLLP connection from %s closed (%d stray bytes dropped)", peer.name, peer.decoder.discarded)

    def _close_all(self) -> None:
        self.workers.stop()
        for peer in list(self.peers):
            peer.working = False
            self._close(peer)
        for lane in self.lanes:
            lane.close()
        self.poller.close()
        self._wake_read.close()
        self._wake_write.close()

    def _sweep(self) -> None:
        """Close the connections idle for longer than the timeout."""
        now = self._swept = time.monotonic()
        for peer in list(self.peers):
            if not peer.busy and now - peer.active > self.server.idle_timeout:
                log.info("MLLP connection from %s idle for %ss, closing", peer.name, self.server.idle_timeout)
                self._close(peer)

    # --- bytes in and out

    def _read(self, peer: _Peer) -> None:
        try:
            data = peer.sock.recv(READ_BYTES)
            if isinstance(peer.sock, ssl.SSLSocket):
                while data and peer.sock.pending():  # decrypted already: the poller will not say
                    data += peer.sock.recv(peer.sock.pending())
        except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return
        except OSError:
            self._close(peer)
            return
        if not data:  # the peer is done sending: its message in hand is still answered
            peer.closing = True
            self._interest(peer)
            return
        peer.active = time.monotonic()
        try:
            peer.frames.extend(peer.decoder.feed(data))
        except mllp.FrameTooLarge as exc:
            peer.frames.clear()
            self._refuse_too_large(peer, exc)
        self._advance(peer)

    def _write(self, peer: _Peer) -> None:
        try:
            sent = peer.sock.send(peer.out)
        except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
            sent = 0
        except OSError:
            self._close(peer)
            return
        if sent:
            del peer.out[:sent]
            peer.active = time.monotonic()
        self._interest(peer)

    def _answer(self, peer: _Peer, acks: list[bytes]) -> None:
        for ack in acks:
            peer.out += mllp.frame(ack)
        if not peer.closed:
            self._write(peer)

    def _interest(self, peer: _Peer) -> None:
        """Read while few of the connection's messages wait (a sender that
        streams without reading its ACKs is not read from until they are
        written); write while ACKs wait; close a closing connection once
        they are out."""
        if peer.closed:
            return
        if peer.closing and not peer.out and not peer.busy and not peer.frames:
            self._close(peer)
            return
        events = 0
        if peer.handshaking:
            events = peer.handshake_wants
        elif not peer.closing and len(peer.frames) < QUEUED_FRAMES and len(peer.out) < QUEUED_BYTES:
            events |= _READ
        if peer.out:
            events |= _WRITE
        if events == peer.events:
            return
        if not peer.events:
            self.poller.register(peer.fd, events, peer)
        elif not events:
            self.poller.unregister(peer.fd)
        else:
            self.poller.modify(peer.fd, events, peer)
        peer.events = events

    def _refuse_too_large(self, peer: _Peer, exc: mllp.FrameTooLarge) -> None:
        limit = self.server.max_message_bytes
        log.warning("MLLP frame from %s over %d bytes refused; closing", peer.name, limit)
        try:
            header = read_header(exc.head)
        except HL7Error:
            header = None
        error = HL7Error(207, f"message larger than {limit} bytes refused", severity="E")
        for ack in answers_for(header, "AR", error, stored=False).texts:  # enhanced mode: CE
            peer.out += mllp.frame(ack.encode("ascii", errors="replace"))
        peer.closing = True

    # --- messages

    def _advance(self, peer: _Peer) -> None:
        """The connection's next message, if it is free for one: its
        statement to the lanes when it could be made, else to a worker."""
        if peer.frames and not peer.busy and not peer.closed:
            peer.raw = peer.frames.popleft()
            flight = peer.intake.begin(peer.raw)
            if flight is not None and self.lanes:
                peer.flight = flight
                self.waiting.add(peer, flight)
                self._dispatch()  # at once on a free lane; while none is, statements gather to go together
            else:
                self._work(peer, peer.intake.receive)
        self._interest(peer)

    def _committed(self, peer: _Peer, flight: InFlight, outcome: list[tuple[Any, ...]] | Exception) -> None:
        if peer.closed or peer.flight is not flight:
            return
        peer.flight = None
        acks = flight.finish(outcome)
        if acks is None:  # nothing of it written: the reference way, on a worker
            self._work(peer, peer.intake.reference)
        else:
            self._answer(peer, acks)
        self._advance(peer)

    # --- the lanes (hl7.group_commit)

    def _dispatch(self) -> None:
        """What waits, sent together on each free lane; another lane
        connected (on a worker) when none is free."""
        for lane in self.lanes:
            if not self.waiting:
                return
            if not lane.idle:
                continue
            batch = self.waiting.batch()
            try:
                lane.send(batch)
            except Exception as exc:  # the lane is closed: each message the reference way
                self._lane_failed(lane, batch, exc)
                continue
            self._lane_interest(lane)
        if not self.waiting:
            return
        now = time.monotonic()
        closed = [lane for lane in self.lanes if not lane.batch and not lane.opening]
        for lane in closed:
            if lane.retry_at <= now:
                self._connect(lane)
                return
        if len(closed) == len(self.lanes):  # none can take them soon
            self._without_lanes()

    def _connect(self, lane: group_commit.Lane) -> None:
        """Opened, or checked after a long idle, on a worker: what the server
        sends meanwhile is the worker's to read, so the loop lets go of the
        socket until the worker is done."""
        lane.opening = True
        self._lane_interest(lane)
        self.workers.submit(functools.partial(_connected, lane), functools.partial(self._lane_ready, lane))

    def _lane_ready(self, lane: group_commit.Lane, connected: bool | None) -> None:
        lane.opening = False
        self._lane_interest(lane)
        if not connected:  # tried again after a while; what waits goes the reference way now
            lane.retry_at = time.monotonic() + group_commit.RETRY_SECONDS
            self._without_lanes()

    def _without_lanes(self) -> None:
        error = DatabaseError("no database connection for the statements sent together")
        self._outcomes([(peer, flight, error) for peer, flight in self.waiting.take_all()])

    def _lane_event(self, lane: group_commit.Lane, events: int) -> None:
        try:
            if events & _WRITABLE and lane.unsent:
                lane.flush()
            if not lane.batch:  # a notice, or the server ended the connection
                lane.database.drain()
                outcomes = None
            else:
                outcomes = lane.gather()
        except Exception as exc:  # a fault of ours: the lane closed, never the loop
            self._lane_failed(lane, lane.batch, exc)
            return
        self._lane_interest(lane)
        if outcomes is not None:
            self.waiting.again(
                [
                    (peer, flight, outcome)
                    for peer, flight, outcome in outcomes
                    if isinstance(outcome, group_commit.Again) and not peer.closed
                ]
            )
            self._outcomes([item for item in outcomes if not isinstance(item[2], group_commit.Again)])

    def _lane_failed(self, lane: group_commit.Lane, batch: list[tuple[Any, InFlight]], exc: Exception) -> None:
        """The lane closed; each message of its batch the reference way, which
        finds it in the log if its commit was done after all."""
        if not isinstance(exc, psycopg.Error):
            log.exception("MLLP statements sent together failed; their messages go the reference way")
        lane.close()
        self._lane_interest(lane)
        self._outcomes([(peer, flight, exc) for peer, flight in batch])

    def _outcomes(self, outcomes: list[tuple[Any, InFlight, Any]]) -> None:
        for peer, flight, outcome in outcomes:
            self._isolated(peer, self._committed, peer, flight, outcome)

    def _lane_interest(self, lane: group_commit.Lane) -> None:
        """The lane's socket watched while it is open and the loop's: for its
        answers, and for room to send the rest of a batch the socket did not
        take at once. Let go as soon as it is closed (its number may go to
        another socket), and while a worker has it."""
        channel = None if lane.opening else lane.database.channel()
        if lane.registered is not None and lane.registered != channel:
            self.poller.unregister(lane.registered[0])
            lane.registered, lane.events = None, 0
        if channel is None:
            return
        events = _READ | (_WRITE if lane.unsent else 0)
        if lane.registered is None:
            self.poller.register(channel[0], events, lane)
        elif events != lane.events:
            self.poller.modify(channel[0], events, lane)
        lane.registered, lane.events = channel, events

    def _work(self, peer: _Peer, apply: Callable[[bytes], list[bytes]]) -> None:
        peer.working = True
        raw = peer.raw
        self.workers.submit(lambda: apply(raw), lambda acks: self._isolated(peer, self._worked, peer, acks))

    def _worked(self, peer: _Peer, acks: list[bytes] | None) -> None:
        peer.working = False
        if peer.closed:  # it went while the worker had it
            peer.intake.close()
            return
        if acks is None:  # the intake failed to answer: as a thread that died, the connection ends
            self._close(peer)
            return
        self._answer(peer, acks)
        self._advance(peer)

    def _finished(self, then: Callable[[], None]) -> None:
        """From a worker: `then` runs on the loop."""
        self._done.append(then)
        self.wake()


class _Workers:
    """Threads for what must wait, started as needed up to `size`; jobs run
    in the order given. A worker that had no work for `QUIET_SECONDS` gives
    its pooled database connection back (a streaming sender's messages keep
    it from one to the next), and closes it when the loop stops."""

    def __init__(self, size: int, finished: Callable[[Callable[[], None]], None]):
        self.size = size
        self._finished = finished
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], Callable[[Any], None]] | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._idle = 0  # threads waiting for a job
        self._queued = 0  # jobs given and not yet taken
        self._lock = threading.Lock()

    def submit(self, job: Callable[[], Any], then: Callable[[Any], None]) -> None:
        """Run `job` on a worker, then `then(its result)` on the loop."""
        with self._lock:
            self._queued += 1
            if self._queued > self._idle and len(self._threads) < self.size:  # no thread free for it
                thread = threading.Thread(target=self._run, name=f"mllp-worker-{len(self._threads)}", daemon=True)
                self._threads.append(thread)
                self._idle += 1
                thread.start()
            self._jobs.put((job, then))

    def stop(self) -> None:
        for _ in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            thread.join(timeout=10)

    def _run(self) -> None:
        holding = False  # a database connection, since the last quiet spell
        while True:
            try:
                item = self._jobs.get(timeout=QUIET_SECONDS if holding else None)
            except queue.Empty:
                release_connection()
                holding = False
                continue
            with self._lock:
                self._idle -= 1
                self._queued -= item is not None
            if item is None:
                break
            job, then = item
            try:
                result = job()
            except Exception:  # the jobs answer for themselves; this one did not
                log.exception("MLLP worker job failed")
                result = None
            holding = True
            with self._lock:
                self._idle += 1  # before the loop hears of it: its next job finds this thread free
            self._finished(functools.partial(then, result))
        connection.close()  # this thread's database connection


def _connected(lane: group_commit.Lane) -> bool:
    """On a worker: the lane's database connection opened, or checked after a long idle."""
    try:
        lane.database.connect()
    except psycopg.Error as exc:
        log.warning("MLLP statements: no database connection (%s); the reference way meanwhile", exc)
        return False
    return True


def start_in_thread(host: str, port: int, **options: Any) -> tuple[MllpServer, threading.Thread]:
    server = MllpServer(host, port, **options)
    # A short poll lets stop() return quickly.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="mllp", daemon=True)
    thread.start()
    return server, thread
