"""One inbound HL7 message, from raw bytes to the ACK bytes.

Store raw -> read header -> check the sender -> answer a resend from the log
-> parse -> apply in one transaction -> ACK. AA only after the commit; every
failure becomes an AE/AR with ERR, never silence (unless the sender's
enhanced-mode MSH-15/16 asked for none).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace

from django.db import DatabaseError, DataError, connection

from hl7 import errors, metrics
from hl7 import log as messages
from hl7.errors import HL7Error
from hl7.handlers import HANDLERS, handler_for
from hl7.models import InboundMessage
from hl7.read_message import Header, ParsedMessage, parse, read_header_for_answer
from hl7.senders import sender_rules
from hl7.validate import same_message
from hl7.write_ack import Answers, answers_for
from infra.db import release_connection
from ris.exceptions import DomainError
from ris.records import MessageHeader

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """What became of a message: its application ACK code and why."""

    ack_code: str
    status: str
    error: HL7Error | None = None
    note: str = ""
    header: Header | None = None
    recorded: Answers | None = None  # answers already stored with the change


def receive(raw: bytes, peer: str = "", *, release: bool = True) -> list[bytes]:
    """Handle one message; return the encoded ACKs to send, in order. Never
    raises. `release=False`: the caller gives the pooled database connection
    back itself (the MLLP listener does when its connection goes quiet)."""
    started = time.perf_counter()
    header = _try_header(raw)
    try:
        acks = _receive(raw, peer, header)
    finally:
        if release:
            release_connection()
    count(header, acks, started)
    return acks


def count(header: Header | None, acks: list[bytes], started: float) -> None:
    """The metrics of one message answered (whichever path applied it)."""
    metrics.HL7_MESSAGES_IN.labels(_type_label(header), _ack_code(acks)).inc()
    metrics.HL7_ACK_SECONDS.observe(time.perf_counter() - started)


def checked_message(raw: bytes) -> ParsedMessage:
    """The message read and checked as every way of applying it needs: what
    raises here is refused, whichever path (`_process` or the one-statement
    path of `hl7/fast_intake.py`) was going to apply it."""
    return parse(raw)


def _type_label(header: Header | None) -> str:
    """Only handled types become labels: senders must not grow the metric."""
    if header is None:
        return "unreadable"
    key = (header.message_type.upper(), header.trigger_event.upper())
    return "^".join(key) if key in HANDLERS else "unsupported"


def _ack_code(acks: list[bytes]) -> str:
    """MSA-1 of the last ACK sent (the application ACK), or 'none'."""
    if not acks:
        return "none"
    start = acks[-1].find(b"MSA")
    return acks[-1][start + 4 : start + 6].decode("ascii", "replace") if start >= 0 else ""


def _receive(raw: bytes, peer: str, header: Header | None) -> list[bytes]:
    _check_connection()
    try:
        stored = messages.inbound_store(raw=raw, peer=peer, header=message_header(header))
    except DatabaseError as exc:
        log.error("HL7 from %s not stored, database unavailable: %s", peer, exc)
        answers = answers_for(header, "AR", _unavailable(), stored=False)
        return [encode(text, header) for text in answers.texts]
    outcome = _process_safely(stored, raw, header)
    return [encode(text, outcome.header or header) for text in _answer(stored, outcome)]


def reprocess(message: InboundMessage) -> str:
    """Run a stored, refused message through intake again (after the
    configuration was fixed), or one a crash left unanswered (RECEIVED;
    hl7/recovery.py). A new ACK is stored; nothing applies twice."""
    if message.status not in (InboundMessage.Status.REJECTED, InboundMessage.Status.RECEIVED):
        raise ValueError(f"message {message.pk} is {message.status}, only a rejected message is reprocessed")
    if message.status == InboundMessage.Status.RECEIVED:
        note = "recovered: left unanswered by a crash, processed again"
    else:
        note = f"reprocessed (earlier answer: {message.ack_code} {message.error})"
    raw = bytes(message.raw)
    outcome = _process_safely(message, raw, _try_header(raw), note)
    _answer(message, outcome)
    return outcome.ack_code


def _process_safely(stored: InboundMessage, raw: bytes, header: Header | None, note: str = "") -> Outcome:
    try:
        outcome = _process(stored, raw, header, note)
    except DataError as exc:  # a value no column takes (the door's checks missed it): it will fail again
        log.error("HL7 message %s holds a value the database refuses: %s", stored.pk, type(exc).__name__)
        error = HL7Error(errors.DATA_TYPE_ERROR, "a value does not fit the RIS's records (length or characters)")
        outcome = Outcome("AE", InboundMessage.Status.REJECTED, error, f"{error.code} {error.text}", header)
    except DatabaseError as exc:
        log.error("HL7 message %s failed on the database: %s", stored.pk, _first_line(exc))
        outcome = Outcome("AR", InboundMessage.Status.REJECTED, _unavailable(), header=header)
    except Exception:  # a fault of ours: answered AR 207 and logged, the connection serves on
        log.exception("HL7 message %s failed", stored.pk)
        error = HL7Error(errors.APPLICATION_INTERNAL_ERROR, "internal error; the message is kept for reprocessing")
        outcome = Outcome("AR", InboundMessage.Status.REJECTED, error, f"{error.code} {error.text}", header)
    return replace(outcome, note=f"{outcome.note} {note}".strip()) if note and not outcome.recorded else outcome


def _process(stored: InboundMessage, raw: bytes, header: Header | None, note: str) -> Outcome:
    try:
        parsed = checked_message(raw)
    except HL7Error as error:
        return _refused(error, header)
    header = parsed.header
    try:
        rules = sender_rules(application=header.sending_application, facility=header.sending_facility)
        if (earlier := messages.inbound_find_applied(stored)) is not None:
            if not same_message(bytes(earlier.raw), raw):
                raise _control_id_reused()
            return _resend(earlier, header)
        handler = handler_for(parsed)
        answers = answers_for(header, "AA")  # stored with the change, sent after the commit
        messages.inbound_apply(
            message=stored,
            action=lambda: handler(parsed, stored, rules),
            ack=answers.application,
            commit_ack=answers.commit,
            note=" ".join(filter(None, (answers.note, note))),
        )
    except HL7Error as error:
        return _refused(error, header)
    except DomainError as exc:
        return _refused(errors.from_domain(exc), header)
    except messages.AlreadyApplied:
        return _resend(messages.inbound_find_applied(stored), header)
    log.info(
        "HL7 %s %s from %s applied%s",
        stored.message_type,
        header.control_id,
        header.sending_application,
        f", {answers.note}" if answers.note else ", answered AA",
    )
    return Outcome("AA", InboundMessage.Status.APPLIED, header=header, recorded=answers)


def _control_id_reused() -> HL7Error:
    """HL7 2.5.1 2.10.1: MSH-10 identifies one message; another under it is refused."""
    text = "MSH-10 control ID reused: a message with other content was applied under it"
    return HL7Error(errors.DUPLICATE_KEY_IDENTIFIER, text, errors.Location("MSH", 1, 10))


def _refused(error: HL7Error, header: Header | None) -> Outcome:
    log.warning("HL7 message refused %s %s: %s", error.ack_code, error.code, error.text)
    return Outcome(error.ack_code, InboundMessage.Status.REJECTED, error, f"{error.code} {error.text}", header)


def _resend(earlier: InboundMessage | None, header: Header) -> Outcome:
    """A resend of an applied message: acknowledge again, apply nothing."""
    log.info("HL7 %s from %s is a resend, answered from the log", header.control_id, header.sending_application)
    note = f"resend of message {earlier.pk}" if earlier else "resend"
    return Outcome("AA", InboundMessage.Status.DUPLICATE, note=note, header=header)


def _answer(stored: InboundMessage, outcome: Outcome) -> list[str]:
    """Build the ACKs the header asks for and record them in one write."""
    if outcome.recorded is not None:
        return outcome.recorded.texts
    answers = answers_for(outcome.header, outcome.ack_code, outcome.error)
    try:
        messages.inbound_record_answer(
            stored,
            ack_code=outcome.ack_code,
            ack=answers.application,
            commit_ack=answers.commit,
            error=" ".join(filter(None, (answers.note, outcome.note))),
            status=outcome.status,
        )
    except DatabaseError as exc:
        log.error("ACK of HL7 message %s not recorded: %s", stored.pk, _first_line(exc))
    return answers.texts


def _first_line(exc: Exception) -> str:
    """A database error without its DETAIL line, which quotes the values (patient data)."""
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


def _check_connection() -> None:
    """One database connection per MLLP connection thread, kept across its
    messages and replaced only when an error left it unusable. (Django's
    close_old_connections would close it after every message when
    CONN_MAX_AGE is 0: a new database connection per message.)"""
    if connection.connection is None:
        return
    if connection.get_autocommit() != connection.settings_dict["AUTOCOMMIT"]:
        connection.close()  # a transaction left open: do not take chances
    elif connection.errors_occurred and not connection.is_usable():
        connection.close()
    else:
        connection.errors_occurred = False


def message_header(header: Header | None) -> MessageHeader | None:
    if header is None:
        return None
    return MessageHeader(
        sending_application=header.sending_application,
        sending_facility=header.sending_facility,
        control_id=header.control_id,
        message_type=f"{header.message_type}^{header.trigger_event}",
        version=header.version,
    )


def _try_header(raw: bytes) -> Header | None:
    return read_header_for_answer(raw)


def _unavailable() -> HL7Error:
    return HL7Error(errors.APPLICATION_INTERNAL_ERROR, "the RIS cannot store messages now; send again later")


def encode(text: str, header: Header | None) -> bytes:
    codec = (header.codec if header else "") or "ascii"
    return text.encode(codec, errors="replace")
