"""The inbound message log: store first, apply once, answer duplicates from the log."""
from collections.abc import Callable

from django.db import transaction

from ris.models import ImagingOrder, InboundMessage


class AlreadyApplied(Exception):
    """Another message with the same sender and control ID was applied first."""


def inbound_store(*, raw: bytes, peer: str = "", protocol: str = "HL7") -> InboundMessage:
    """Keep the message as received, before anything can fail (autocommitted)."""
    return InboundMessage.objects.create(raw=raw, peer=peer[:64], protocol=protocol)


def inbound_set_header(
    message: InboundMessage, *, sending_application: str, sending_facility: str,
    control_id: str, message_type: str, version: str,
) -> None:
    message.sending_application = sending_application[:180]
    message.sending_facility = sending_facility[:180]
    message.control_id = control_id[:199]
    message.message_type = message_type[:32]
    message.version = version[:16]
    message.save(update_fields=["sending_application", "sending_facility", "control_id", "message_type", "version"])


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


def inbound_apply(*, message: InboundMessage, action: Callable[[], ImagingOrder | None]) -> ImagingOrder | None:
    """Run `action` and mark the message applied in one transaction.

    The partial unique index on applied messages makes a concurrent resend of
    the same control ID fail here instead of being applied twice.
    """
    previous_status = message.status
    try:
        with transaction.atomic():
            order = action()
            message.status = InboundMessage.Status.APPLIED
            message.order = order
            message.save(update_fields=["status", "order"])
    except Exception:
        # A concurrent copy may have won on any unique index (the applied-once
        # index, or the order's own numbers): then this one is a resend.
        message.status, message.order = previous_status, None
        if inbound_find_applied(message) is not None:
            raise AlreadyApplied(message.control_id) from None
        raise
    return order


def inbound_record_answer(
    message: InboundMessage, *, ack_code: str, ack: str, error: str = "", status: str | None = None,
    commit_ack: str = "",
) -> None:
    """Keep what was answered: the application ACK and, in enhanced mode, the commit ACK."""
    message.ack_code = ack_code
    message.ack = ack
    message.commit_ack = commit_ack
    message.error = error
    fields = ["ack_code", "ack", "commit_ack", "error"]
    if status:
        message.status = status
        fields.append("status")
    message.save(update_fields=fields)
