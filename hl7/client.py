"""The outbound MLLP client: send one message, read its ACK.

Registered as the outbox sender for HL7 destinations (hl7/apps.py).
"""

from __future__ import annotations

import socket

from hl7 import mllp
from hl7.er7 import Delimiters, Segment, split_segments
from ris.models import Destination, OutboundMessage
from ris.outbox import SendResult

_ACCEPTED = {"AA", "CA"}
_REFUSED = {"AE", "AR", "CE", "CR"}
MAX_ACK_BYTES = 1024 * 1024


def send_mllp(destination: Destination, message: OutboundMessage) -> SendResult:
    if destination.port is None:
        return SendResult(False, error=f"{destination.host}: no port configured")
    try:
        ack = exchange(
            destination.host, destination.port, message.payload.encode("utf-8"), timeout=destination.timeout_seconds
        )
    except (OSError, mllp.FrameTooLarge) as exc:
        return SendResult(False, error=f"{destination.host}:{destination.port}: {type(exc).__name__}: {exc}")
    text = ack.decode("utf-8", errors="replace")
    code, detail = read_ack(text)
    if code in _ACCEPTED:
        return SendResult(True, response=text)
    refused = code in _REFUSED  # answered: the link works, this message is what fails
    return SendResult(False, response=text, error=f"ACK {code or '(none)'}: {detail}".strip(), refused=refused)


def exchange(host: str, port: int, payload: bytes, *, timeout: float) -> bytes:
    """One framed message out, one framed answer back, on a fresh connection."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(mllp.frame(payload))
        decoder = mllp.FrameDecoder(MAX_ACK_BYTES)
        while True:
            data = sock.recv(65536)
            if not data:
                raise ConnectionError("connection closed before an ACK came")
            frames = decoder.feed(data)
            if frames:
                return frames[0]


def read_ack(text: str) -> tuple[str, str]:
    """(MSA-1, MSA-3 or ERR text) of an ACK; ('', reason) when it is none."""
    lines = split_segments(text)
    if not lines or not lines[0].startswith("MSH") or len(lines[0]) < 8:
        return "", "answer is not an HL7 message"
    d = Delimiters.from_msh(lines[0])
    segments = [Segment(line, d) for line in lines]
    msa = next((s for s in segments if s.name == "MSA"), None)
    if msa is None:
        return "", "answer has no MSA segment"
    err = next((s for s in segments if s.name == "ERR"), None)
    detail = msa.get(3) or (err.get(8) if err else "")
    return msa.get(1).upper(), detail
