"""A cap on the size of PDUs the DICOM listener will read.

pynetdicom reads whatever length a PDU header announces (up to 4 GiB) into
memory before decoding it. A peer announcing more than the cap is treated as
sending an invalid PDU (PS3.8 9.3.1: Evt19), so the association is aborted
before the body is read; other associations are not affected.
"""

from __future__ import annotations

import logging
import socket
import ssl
import struct

from pynetdicom import dul

log = logging.getLogger(__name__)
_original_read = dul.DULServiceProvider._read_pdu_data
_limit = 0


def _announced_length(raw: socket.socket) -> int | None:
    if isinstance(raw, ssl.SSLSocket):  # no peeking through TLS records
        return None
    try:
        header = raw.recv(6, socket.MSG_PEEK)
    except OSError:
        return None
    return struct.unpack(">BBL", header)[2] if len(header) == 6 else None


def _read_pdu_data_capped(self: dul.DULServiceProvider) -> None:
    raw = getattr(self.socket, "socket", None)
    length = _announced_length(raw) if raw is not None else None
    if length is not None and length > _limit:
        log.warning("DICOM peer announced a %d-byte PDU (limit %d): association aborted", length, _limit)
        self.event_queue.put("Evt19")
        return
    _original_read(self)


def install(limit: int) -> None:
    """Cap every PDU read by this process's DICOM listener at `limit` bytes."""
    global _limit
    _limit = limit
    dul.DULServiceProvider._read_pdu_data = _read_pdu_data_capped  # type: ignore[method-assign]  # the patch itself
