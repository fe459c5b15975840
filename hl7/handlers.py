"""Per-message-type handlers: a parsed message in, one service call per item out.

Orders (ORM^O01, OMI^O23) by their order control code; ADT (HL7 2.5.1 ch. 3)
patient updates (A01, A04, A08) and merges (A40)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from hl7 import read_omi, read_orm
from hl7.errors import SEGMENT_SEQUENCE_ERROR, UNSUPPORTED_EVENT_CODE, UNSUPPORTED_MESSAGE_TYPE, HL7Error, Location
from hl7.log import message_actor
from hl7.models import InboundMessage
from hl7.read_message import ParsedMessage
from hl7.read_orm import OrderItem
from hl7.senders import SenderRules
from ris.models import ImagingOrder
from ris.records import Actor, OrderData, PatientData
from ris.services import orders as order_services
from ris.services.patients import patient_merge, patient_update

Handler = Callable[[ParsedMessage, InboundMessage, SenderRules], "ImagingOrder | None"]

# HL7 2.5.1 4.5.1.1 order control codes without order data, to their service
_STATUS_ACTIONS = {
    "CA": order_services.order_cancel,
    "DC": order_services.order_discontinue,
    "HD": order_services.order_hold,
    "RL": order_services.order_release,
}


def handle_orm_o01(message: ParsedMessage, source: InboundMessage, rules: SenderRules) -> ImagingOrder | None:
    """ORM^O01: every ORC/OBR group is applied; the message links to the first order."""
    return _apply_items(message, source, rules, read_orm.orders_from_orm(message))


def handle_omi_o23(message: ParsedMessage, source: InboundMessage, rules: SenderRules) -> ImagingOrder | None:
    """OMI^O23 (HL7 2.5.1 4.4.12, IHE RAD-4): ORC/TQ1/OBR/IPC groups."""
    return _apply_items(message, source, rules, read_omi.orders_from_omi(message))


def _apply_items(
    message: ParsedMessage, source: InboundMessage, rules: SenderRules, items: list[OrderItem]
) -> ImagingOrder | None:
    patient = None
    if any(item.control == "NW" for item in items):
        patient = read_orm.patient_from_pid(message, rules.mrn_authority)
    actor = message_actor(source)
    applied = [apply_order_item(item, patient, rules, actor) for item in items]
    return applied[0]


def apply_order_item(item: OrderItem, patient: PatientData | None, rules: SenderRules, actor: Actor) -> ImagingOrder:
    """One ORC group, by its order control code (ORC-1); new steps that name no
    station follow the sender's station rules, in a new order and an XO alike."""
    order = dataclasses.replace(item.order or OrderData(), station_rules=rules.station_rules)
    if item.control == "NW":
        if patient is None:  # _apply_items reads the PID for every message with an NW
            raise ValueError("a new order (NW) needs the message's patient")
        return order_services.order_place(patient=patient, order=order, actor=actor)
    if item.control == "XO":
        return order_services.order_change(key=item.key, order=order, actor=actor)
    if item.control == "SC":
        return order_services.order_status_change(key=item.key, status=item.status, actor=actor)
    return _STATUS_ACTIONS[item.control](key=item.key, actor=actor)


def handle_adt_patient_update(message: ParsedMessage, source: InboundMessage, rules: SenderRules) -> None:
    """A01 admit, A04 register, A08 update: PID creates or updates the patient."""
    patient_update(data=read_orm.patient_from_pid(message, rules.mrn_authority), actor=message_actor(source))


def handle_adt_a40(message: ParsedMessage, source: InboundMessage, rules: SenderRules) -> None:
    """A40 merge patient (HL7 2.5.1 3.3.40): PID is the survivor, MRG-1 the prior
    identifier; its orders follow the survivor. Only from a sender allowed
    to merge (hl7/models.py HL7Sender.may_merge_patients)."""
    if not rules.may_merge_patients:
        raise HL7Error(
            UNSUPPORTED_EVENT_CODE,
            "patient merges (ADT^A40) are not accepted from this sender: an administrator must allow"
            " them for it (HL7 senders, 'may merge patients')",
            Location("MSH", 1, 9, 2),
            ack_code="AR",
        )
    surviving = read_orm.patient_from_pid(message, rules.mrn_authority)
    mrg = message.first("MRG")
    if mrg is None:
        raise HL7Error(SEGMENT_SEQUENCE_ERROR, "MRG segment is missing", Location("MRG"))
    prior_id, prior_issuer = read_orm.patient_identifier(mrg, 1, rules.mrn_authority)
    patient_merge(
        surviving=surviving, prior_patient_id=prior_id, prior_issuer=prior_issuer, actor=message_actor(source)
    )


HANDLERS: dict[tuple[str, str], Handler] = {
    ("ORM", "O01"): handle_orm_o01,
    ("OMI", "O23"): handle_omi_o23,
    ("ADT", "A01"): handle_adt_patient_update,
    ("ADT", "A04"): handle_adt_patient_update,
    ("ADT", "A08"): handle_adt_patient_update,
    ("ADT", "A40"): handle_adt_a40,
}
SUPPORTED_TYPES = {message_type for message_type, _ in HANDLERS}


def handler_for(message: ParsedMessage) -> Handler:
    key = (message.header.message_type.upper(), message.header.trigger_event.upper())
    if key in HANDLERS:
        return HANDLERS[key]
    if key[0] in SUPPORTED_TYPES:
        raise HL7Error(UNSUPPORTED_EVENT_CODE, f"event {'^'.join(key)} is not supported", Location("MSH", 1, 9, 2))
    raise HL7Error(UNSUPPORTED_MESSAGE_TYPE, f"message type {key[0]!r} is not supported", Location("MSH", 1, 9, 1))
