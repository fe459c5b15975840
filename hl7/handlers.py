"""Per-message-type handlers: a parsed message in, one service call out."""
from __future__ import annotations

from collections.abc import Callable

from hl7 import orders
from hl7.errors import TABLE_VALUE_NOT_FOUND, UNSUPPORTED_EVENT_CODE, UNSUPPORTED_MESSAGE_TYPE, HL7Error, Location
from hl7.parse import ParsedMessage
from ris.models import ImagingOrder, InboundMessage
from ris.services.orders import order_place

Handler = Callable[[ParsedMessage, InboundMessage], "ImagingOrder | None"]


def handle_orm_o01(message: ParsedMessage, source: InboundMessage) -> ImagingOrder | None:
    """ORM^O01: every ORC/OBR group is applied; the message links to the first order."""
    patient = orders.patient_from_pid(message)
    placed = []
    for index, (control, order) in enumerate(orders.orders_from_orm(message), start=1):
        if control != "NW":
            raise HL7Error(
                TABLE_VALUE_NOT_FOUND, f"order control {control!r} is not supported", Location("ORC", index, 1)
            )
        placed.append(order_place(patient=patient, order=order, source_message=source))
    return placed[0]


HANDLERS: dict[tuple[str, str], Handler] = {
    ("ORM", "O01"): handle_orm_o01,
}
SUPPORTED_TYPES = {message_type for message_type, _ in HANDLERS}


def handler_for(message: ParsedMessage) -> Handler:
    key = (message.header.message_type.upper(), message.header.trigger_event.upper())
    if key in HANDLERS:
        return HANDLERS[key]
    if key[0] in SUPPORTED_TYPES:
        raise HL7Error(UNSUPPORTED_EVENT_CODE, f"event {'^'.join(key)} is not supported", Location("MSH", 1, 9, 2))
    raise HL7Error(UNSUPPORTED_MESSAGE_TYPE, f"message type {key[0]!r} is not supported", Location("MSH", 1, 9, 1))
