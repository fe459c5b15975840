"""The DICOM upper layer's transport (PS3.8 9): PDUs off a blocking socket,
with every limit applied on the bytes really received.

A connection thread blocks in `recv` with a deadline: no poll loop, so an
idle association costs no CPU. Every PDU is read header first (six bytes,
however they are split on the wire), its announced length checked against
the cap before a byte of its body is kept, then its body read at no less
than a minimum rate. The PDUs' own encoding and decoding are pynetdicom's
(`pynetdicom.pdu`); P-DATA-TF, the one PDU on the hot path, is framed here.
"""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
import struct
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.conf import settings

# PS3.8 9.3.1 PDU types
A_ASSOCIATE_RQ, A_ASSOCIATE_AC, A_ASSOCIATE_RJ = 0x01, 0x02, 0x03
P_DATA_TF, A_RELEASE_RQ, A_RELEASE_RP, A_ABORT = 0x04, 0x05, 0x06, 0x07
PDU_TYPES = frozenset({A_ASSOCIATE_RQ, A_ASSOCIATE_AC, A_ASSOCIATE_RJ, P_DATA_TF, A_RELEASE_RQ, A_RELEASE_RP, A_ABORT})
# PS3.8 9.3.8 A-ABORT source 2 (service provider) reasons
ABORT_NOT_SPECIFIED, ABORT_UNRECOGNISED_PDU, ABORT_UNEXPECTED_PDU = 0x00, 0x01, 0x02
ABORT_INVALID_PARAMETER = 0x06
HEADER = struct.Struct(">BBL")
PDV_HEADER = struct.Struct(">LBB")  # item length, context ID, message control header (PS3.8 9.3.5.1, E.2)
PDU_HEADER_LENGTH = 6
PDV_OVERHEAD = 6  # the PDV item length (4), context ID (1) and control header (1)
CHUNK = 65536


@dataclass(frozen=True)
class Limits:
    """What one peer may cost the listener; defaults a real modality never meets."""

    artim: float  # PS3.8 9.1.5: to finish the A-ASSOCIATE-RQ, and to close after RJ, release or abort
    idle: float  # between two PDUs of an established association
    min_rate: int  # bytes per second once a PDU has begun
    max_pdu: int  # the largest PDU read (announced to the peer: `announced_pdu`)
    announced_pdu: int
    max_dataset: int  # the largest data set of one DIMSE message
    max_associations: int
    max_per_address: int

    @classmethod
    def from_settings(cls) -> Limits:
        announced = settings.RIS_DICOM_MAX_PDU
        return cls(
            artim=settings.RIS_DICOM_ARTIM_TIMEOUT,
            idle=settings.RIS_DICOM_IDLE_TIMEOUT,
            min_rate=settings.RIS_DICOM_MIN_RECEIVE_RATE,
            # A peer may exceed what we announce a little; an A-ASSOCIATE-RQ is not bound by it at all.
            max_pdu=max(announced, 1024 * 1024),
            announced_pdu=announced,
            max_dataset=settings.RIS_DICOM_MAX_DATASET,
            max_associations=settings.RIS_DICOM_MAX_ASSOCIATIONS,
            max_per_address=settings.RIS_DICOM_MAX_PER_ADDRESS,
        )

    def body_deadline(self, start: float, length: int) -> float:
        """A PDU's body arrives within the ARTIM, or at the minimum rate if that is longer."""
        return start + max(self.artim, length / self.min_rate)


class PeerGone(Exception):
    """The peer closed the connection, or the socket failed."""


class TimedOut(Exception):
    """A deadline passed: ARTIM, idle time or minimum rate."""


class PDUTooLarge(Exception):
    def __init__(self, length: int):
        super().__init__(f"PDU of {length} bytes announced")
        self.length = length


class Transport:
    """One peer's socket: whole PDUs in, bytes out in as few writes as possible."""

    def __init__(self, sock: socket.socket, limits: Limits):
        self.sock = sock
        self.limits = limits

    def read_pdu(self, deadline: float, body_deadline: float | None = None) -> tuple[int, bytes]:
        """(type, body). `deadline` for the header; the body by `body_deadline`
        or at the minimum rate. Raises PDUTooLarge before reading any body."""
        pdu_type, _, length = HEADER.unpack(self._read_exact(PDU_HEADER_LENGTH, deadline))
        if length > self.limits.max_pdu:
            raise PDUTooLarge(length)
        end = body_deadline if body_deadline is not None else self.limits.body_deadline(time.monotonic(), length)
        return pdu_type, self._read_exact(length, end)

    def _read_exact(self, size: int, deadline: float) -> bytes:
        # Chunks grow as bytes arrive: nothing is allocated for what is only announced.
        chunks, missing = [], size
        while missing:
            chunk = self._recv(min(missing, CHUNK), deadline)
            chunks.append(chunk)
            missing -= len(chunk)
        return b"".join(chunks)

    def _recv(self, size: int, deadline: float) -> bytes:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimedOut()
        try:
            self.sock.settimeout(remaining)
            chunk = self.sock.recv(size)
        except TimeoutError as exc:  # socket.timeout
            raise TimedOut() from exc
        except (OSError, ssl.SSLError) as exc:
            raise PeerGone(str(exc)) from exc
        if not chunk:
            raise PeerGone("closed by peer")
        return chunk

    def has_input(self) -> bool:
        """Whether a PDU has (begun to) arrive, without waiting."""
        if isinstance(self.sock, ssl.SSLSocket) and self.sock.pending():
            return True
        try:
            readable, _, _ = select.select([self.sock], [], [], 0)
        except (OSError, ValueError):
            return True  # let the read find out what is wrong
        return bool(readable)

    def send(self, data: bytes) -> None:
        try:
            self.sock.settimeout(max(self.limits.idle, 1.0))
            self.sock.sendall(data)
        except (OSError, ssl.SSLError) as exc:
            raise PeerGone(str(exc)) from exc

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


def pdu(pdu_type: int, body: bytes) -> bytes:
    return HEADER.pack(pdu_type, 0, len(body)) + body


def abort_pdu(reason: int = ABORT_NOT_SPECIFIED, source: int = 0x02) -> bytes:
    """PS3.8 9.3.8: source 0 for the service user, 2 for the service provider."""
    return pdu(A_ABORT, bytes((0, 0, source, reason)))


def reject_pdu(result: int, source: int, reason: int) -> bytes:
    """PS3.8 9.3.4 A-ASSOCIATE-RJ."""
    return pdu(A_ASSOCIATE_RJ, bytes((0, result, source, reason)))


RELEASE_RP = pdu(A_RELEASE_RP, b"\x00\x00\x00\x00")


def parse_pdvs(body: bytes) -> Iterator[tuple[int, int, memoryview]]:
    """P-DATA-TF (PS3.8 9.3.5): (context ID, control header, fragment) per PDV item."""
    view, offset = memoryview(body), 0
    while offset < len(body):
        if offset + PDV_HEADER.size > len(body):
            raise ValueError("truncated PDV item")
        length, context_id, control = PDV_HEADER.unpack_from(body, offset)
        end = offset + 4 + length
        if length < 2 or end > len(body):
            raise ValueError("PDV item length outside its PDU")
        yield context_id, control, view[offset + PDV_HEADER.size : end]
        offset = end


COMMAND, LAST = 0x01, 0x02  # PS3.8 E.2 message control header bits


def fragments(context_id: int, command: bytes, dataset: bytes | None, max_pdu: int) -> Iterator[tuple[bytes, int]]:
    """One DIMSE message as PDV items (header + fragment, its size), each
    fragment as large as a PDU of `max_pdu` allows (PS3.8 9.3.5, E.2)."""
    room = max_pdu - PDV_OVERHEAD
    yield from _split(context_id, command, COMMAND, room)
    if dataset is not None:
        yield from _split(context_id, dataset, 0, room)


def _split(context_id: int, data: bytes, kind: int, room: int) -> Iterator[tuple[bytes, int]]:
    view = memoryview(data)
    for start in range(0, max(len(data), 1), room):
        part = view[start : start + room]
        control = kind | (LAST if start + room >= len(data) else 0)
        yield PDV_HEADER.pack(len(part) + 2, context_id, control) + part, len(part) + PDV_OVERHEAD


def pack(items: Iterable[tuple[bytes, int]], max_pdu: int) -> bytes:
    """PDV items packed into as few P-DATA-TF PDUs as `max_pdu` allows
    (0: the peer set no limit)."""
    limit = max_pdu or 1 << 30
    out: list[bytes] = []
    pending: list[bytes] = []
    size = 0
    for item, length in items:
        if pending and size + length > limit:
            out.append(HEADER.pack(P_DATA_TF, 0, size))
            out.extend(pending)
            pending, size = [], 0
        pending.append(item)
        size += length
    if pending:
        out.append(HEADER.pack(P_DATA_TF, 0, size))
        out.extend(pending)
    return b"".join(out)
