"""The inbound message log: store first, apply once, answer duplicates from the log."""

from collections.abc import Callable
from typing import Any

from django.db import transaction

from hl7.models import InboundMessage
from ris.models import AuditEvent, ImagingOrder
from ris.records import Actor, MessageHeader


class AlreadyApplied(Exception):
    """Another message with the same sender and control ID was applied first."""


def inbound_store(
    *, raw: bytes, peer: str = "", protocol: str = "HL7", header: MessageHeader | None = None
) -> InboundMessage:
    """Keep the message as received, before anything can fail (autocommitted),
    with its header when it could be read."""
    message = inbound_row(raw=raw, peer=peer, protocol=protocol, header=header)
    message.save(force_insert=True)
    return message


def inbound_row(
    *, raw: bytes, peer: str = "", protocol: str = "HL7", header: MessageHeader | None = None
) -> InboundMessage:
    """The log's row for a message, not yet saved."""
    return InboundMessage(**inbound_values(raw=raw, peer=peer, protocol=protocol, header=header))


def inbound_values(
    *, raw: bytes, peer: str = "", protocol: str = "HL7", header: MessageHeader | None = None
) -> dict[str, Any]:
    """The values of the log's row for a message: its header values fitted to the columns."""
    header = header or MessageHeader()
    return {
        "raw": raw,
        "peer": peer[:64],
        "protocol": protocol,
        "sending_application": _text(header.sending_application, 180),
        "sending_facility": _text(header.sending_facility, 180),
        "control_id": _text(header.control_id, 199),
        "message_type": _text(header.message_type, 32),
        "version": _text(header.version, 16),
    }


def _text(value: str, size: int | None = None) -> str:
    """Header values are kept as read from bytes that may be anything; text
    columns take no NUL (PostgreSQL refuses it), so it is shown as U+FFFD."""
    return value.replace("\x00", "\ufffd")[:size]


def inbound_find_applied(message: InboundMessage) -> InboundMessage | None:
    """The earlier message from the same sender with the same control ID, if applied."""
    if not message.control_id:
        return None
    return (
        InboundMessage.objects.filter(
            sending_application=message.sending_application,
            sending_facility=message.sending_facility,
            control_id=message.control_id,
            status=InboundMessage.Status.APPLIED,
        )
        .exclude(pk=message.pk)
        .first()
    )


def inbound_apply(
    *,
    message: InboundMessage,
    action: Callable[[], ImagingOrder | None],
    ack: str = "",
    commit_ack: str = "",
    note: str = "",
) -> ImagingOrder | None:
    """Run `action` and mark the message applied, with the AA it will be
    answered with, in one transaction (the ACK is sent only after the commit).

    The partial unique index on applied messages makes a concurrent resend of
    the same control ID fail here instead of being applied twice.
    """
    previous_status = message.status
    try:
        with transaction.atomic():
            order = action()
            message.status, message.order = InboundMessage.Status.APPLIED, order
            message.ack_code, message.ack, message.commit_ack, message.error = "AA", ack, commit_ack, note
            message.save(update_fields=["status", "order", "ack_code", "ack", "commit_ack", "error"])
    except Exception:
        # A concurrent copy may have won on any unique index (the applied-once
        # index, or the order's own numbers): then this one is a resend.
        message.status, message.order = previous_status, None
        if inbound_find_applied(message) is not None:
            raise AlreadyApplied(message.control_id) from None
        raise
    return order


def message_actor(message: InboundMessage) -> Actor:
    """The sender of a message as the services' actor: its sending
    application, its peer address, and the message that carried the change."""
    return sender_actor(
        application=message.sending_application,
        peer=message.peer,
        message_type=message.message_type,
        control_id=message.control_id,
    )


def sender_actor(*, application: str, peer: str, message_type: str, control_id: str) -> Actor:
    """`message_actor` of a log row's values (`inbound_values`)."""
    return Actor(door=AuditEvent.Door.HL7, name=application, address=peer, via=f"{message_type} {control_id}")


def inbound_record_answer(
    message: InboundMessage,
    *,
    ack_code: str,
    ack: str,
    error: str = "",
    status: str | None = None,
    commit_ack: str = "",
) -> None:
    """Keep what was answered: the application ACK and, in enhanced mode, the commit ACK."""
    message.ack_code = ack_code
    message.ack = _text(ack)
    message.commit_ack = _text(commit_ack)
    message.error = _text(error)
    fields = ["ack_code", "ack", "commit_ack", "error"]
    if status:
        message.status = status
        fields.append("status")
    message.save(update_fields=fields)
