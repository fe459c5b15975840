"""One inbound HL7 message, from raw bytes to the ACK bytes.

Store raw -> read header -> answer a resend from the log -> parse -> apply in
one transaction -> ACK. AA only after the commit; every failure becomes an
AE/AR with ERR, never silence.
"""
from __future__ import annotations

import logging
import time

from django.db import DatabaseError, close_old_connections

from hl7 import errors
from hl7.ack import build_ack
from hl7.errors import HL7Error
from hl7.handlers import HANDLERS, handler_for
from hl7.parse import Header, parse, read_header
from ris import metrics
from ris.exceptions import DomainError
from ris.models import InboundMessage
from ris.services import messages

log = logging.getLogger(__name__)


def receive(raw: bytes, peer: str = "") -> bytes:
    """Handle one message; return the encoded ACK. Never raises."""
    started = time.perf_counter()
    header = _try_header(raw)
    ack = _receive(raw, peer, header)
    metrics.HL7_MESSAGES_IN.labels(_type_label(header), _ack_code(ack)).inc()
    metrics.HL7_ACK_SECONDS.observe(time.perf_counter() - started)
    return ack


def _type_label(header: Header | None) -> str:
    """Only handled types become labels: senders must not grow the metric."""
    if header is None:
        return "unreadable"
    key = (header.message_type.upper(), header.trigger_event.upper())
    return "^".join(key) if key in HANDLERS else "unsupported"


def _ack_code(ack: bytes) -> str:
    start = ack.find(b"MSA")
    return ack[start + 4:start + 6].decode("ascii", "replace") if start >= 0 else ""


def _receive(raw: bytes, peer: str, header: Header | None) -> bytes:
    close_old_connections()
    try:
        stored = messages.inbound_store(raw=raw, peer=peer)
    except DatabaseError as exc:
        log.error("HL7 from %s not stored, database unavailable: %s", peer, exc)
        return _encode(build_ack(header, "AR", _unavailable()), header)
    try:
        text = _process(stored, raw, header)
    except DatabaseError as exc:
        log.error("HL7 message %s from %s failed on the database: %s", stored.pk, peer, exc)
        text = build_ack(header, "AR", _unavailable())
    return _encode(text, header)


def _process(stored: InboundMessage, raw: bytes, header: Header | None) -> str:
    try:
        parsed = parse(raw)
    except HL7Error as error:
        return _refuse(stored, header, error)
    header = parsed.header
    messages.inbound_set_header(
        stored, sending_application=header.sending_application, sending_facility=header.sending_facility,
        control_id=header.control_id, message_type=f"{header.message_type}^{header.trigger_event}",
        version=header.version,
    )
    earlier = messages.inbound_find_applied(stored)
    if earlier is not None:
        return _answer_from_log(stored, earlier, header)
    try:
        handler = handler_for(parsed)
        messages.inbound_apply(message=stored, action=lambda: handler(parsed, stored))
    except HL7Error as error:
        return _refuse(stored, header, error)
    except DomainError as exc:
        return _refuse(stored, header, errors.from_domain(exc))
    except messages.AlreadyApplied:
        return _answer_from_log(stored, messages.inbound_find_applied(stored), header)
    ack = build_ack(header, "AA")
    messages.inbound_record_answer(stored, ack_code="AA", ack=ack)
    log.info("HL7 %s %s from %s applied", stored.message_type, header.control_id, header.sending_application)
    return ack


def _refuse(stored: InboundMessage, header: Header | None, error: HL7Error) -> str:
    ack = build_ack(header, error.ack_code, error)
    messages.inbound_record_answer(
        stored, ack_code=error.ack_code, ack=ack, error=f"{error.code} {error.text}",
        status=InboundMessage.Status.REJECTED,
    )
    log.warning("HL7 message %s refused %s %s: %s", stored.pk, error.ack_code, error.code, error.text)
    return ack


def _answer_from_log(stored: InboundMessage, earlier: InboundMessage | None, header: Header) -> str:
    """A resend of an applied message: acknowledge again, apply nothing."""
    ack = build_ack(header, "AA")
    note = f"resend of message {earlier.pk}" if earlier else "resend"
    messages.inbound_record_answer(
        stored, ack_code="AA", ack=ack, error=note, status=InboundMessage.Status.DUPLICATE
    )
    log.info("HL7 %s from %s is a resend, answered from the log", header.control_id, header.sending_application)
    return ack


def _try_header(raw: bytes) -> Header | None:
    try:
        return read_header(raw)
    except HL7Error:
        return None


def _unavailable() -> HL7Error:
    return HL7Error(errors.APPLICATION_INTERNAL_ERROR, "the RIS cannot store messages now; send again later")


def _encode(text: str, header: Header | None) -> bytes:
    codec = (header.codec if header else "") or "ascii"
    return text.encode(codec, errors="replace")
