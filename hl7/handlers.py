"""Per-message-type handlers: a parsed message in, one service call per item out.

Orders (ORM^O01, OMI^O23, OMG^O19) by their order control code; ADT (HL7
2.5.1 ch. 3; IHE RAD-1, RAD-12) patient updates (A01, A04, A05, A08, A28,
A31, and the cancellations A11, A12, A13), the patient's arrival (A10), and
the identity changes (A40 merge, A47 identifier change), these only from a
sender allowed them."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from hl7 import read_omg, read_omi, read_orm
from hl7.errors import (
    SEGMENT_SEQUENCE_ERROR,
    TABLE_VALUE_NOT_FOUND,
    UNSUPPORTED_EVENT_CODE,
    UNSUPPORTED_MESSAGE_TYPE,
    HL7Error,
    Location,
)
from hl7.log import message_actor
from hl7.models import InboundMessage
from hl7.read_message import ParsedMessage
from hl7.read_orm import OrderItem
from hl7.senders import SenderRules
from ris.models import ImagingOrder
from ris.records import Actor, OrderData, PatientData
from ris.services import orders as order_services
from ris.services.catalogue_defaults import catalogue_entry
from ris.services.patients import patient_change_identifier, patient_merge, patient_update
from ris.services.steps import patient_arrived

# ADT events whose PID creates or updates the patient (HL7 2.5.1 ch. 3)
PATIENT_UPDATES = ("A01", "A04", "A05", "A08", "A11", "A12", "A13", "A28", "A31")

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


def handle_omg_o19(message: ParsedMessage, source: InboundMessage, rules: SenderRules) -> ImagingOrder | None:
    """OMG^O19 (HL7 2.5.1 4.4.1), a general clinical order: taken when each
    of its OBRs is an imaging procedure (hl7/read_omg.py), refused AR otherwise."""
    items = read_omg.orders_from_omg(message)
    for index, item in enumerate(items, start=1):
        _check_imaging(item, index)
    return _apply_items(message, source, rules, items)


def _check_imaging(item: OrderItem, index: int) -> None:
    """An OBR whose section names no modality is imaging when the catalogue knows its procedure."""
    for procedure in item.order.procedures if item.order else []:
        if any(not step.modality for step in procedure.steps) and not catalogue_entry(
            code_value=procedure.code_value, code_scheme=procedure.code_scheme
        ):
            raise HL7Error(
                TABLE_VALUE_NOT_FOUND,
                f"OBR {index}: procedure {procedure.code_value[:16]!r} is not in the imaging catalogue and OBR-24"
                " names no imaging section; the RIS takes imaging orders only",
                Location("OBR", index, 4),
                ack_code="AR",
            )


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
    """A01 admit, A04 register, A05 pre-admit, A08 update, A28 add and A31
    update person (IHE RAD-1/RAD-12), A11/A12/A13: PID creates or updates the patient."""
    patient_update(data=read_orm.patient_from_pid(message, rules.mrn_authority), actor=message_actor(source))


def handle_adt_a10(message: ParsedMessage, source: InboundMessage, rules: SenderRules) -> None:
    """A10 patient arriving (HL7 2.5.1 3.3.10): the patient's exams of the day
    are ARRIVED (ris/services/steps.py patient_arrived)."""
    patient_arrived(data=read_orm.patient_from_pid(message, rules.mrn_authority), actor=message_actor(source))


def handle_adt_a40(message: ParsedMessage, source: InboundMessage, rules: SenderRules) -> None:
    """A40 merge patient (HL7 2.5.1 3.3.40): PID is the survivor, MRG-1 the prior
    identifier; its orders follow the survivor. Only from a sender allowed
    to merge (hl7/models.py HL7Sender.may_merge_patients)."""
    _check_may_change_identity(rules, "patient merges (ADT^A40)")
    surviving = read_orm.patient_from_pid(message, rules.mrn_authority)
    prior_id, prior_issuer = _prior_identifier(message, rules)
    patient_merge(
        surviving=surviving, prior_patient_id=prior_id, prior_issuer=prior_issuer, actor=message_actor(source)
    )


def handle_adt_a47(message: ParsedMessage, source: InboundMessage, rules: SenderRules) -> None:
    """A47 change patient identifier list (HL7 2.5.1 3.3.47): the patient of
    MRG-1 is known by PID-3 from now on; the worklist shows the new one. From
    a sender allowed to merge only: it changes a patient's key as a merge does."""
    _check_may_change_identity(rules, "patient identifier changes (ADT^A47)")
    patient = read_orm.patient_from_pid(message, rules.mrn_authority)
    prior_id, prior_issuer = _prior_identifier(message, rules)
    patient_change_identifier(
        data=patient, prior_patient_id=prior_id, prior_issuer=prior_issuer, actor=message_actor(source)
    )


def _check_may_change_identity(rules: SenderRules, what: str) -> None:
    if not rules.may_merge_patients:
        raise HL7Error(
            UNSUPPORTED_EVENT_CODE,
            f"{what} are not accepted from this sender: an administrator must allow"
            " them for it (HL7 senders, 'may merge patients')",
            Location("MSH", 1, 9, 2),
            ack_code="AR",
        )


def _prior_identifier(message: ParsedMessage, rules: SenderRules) -> tuple[str, str]:
    """MRG-1, the prior patient identifier list, read as PID-3 is."""
    mrg = message.first("MRG")
    if mrg is None:
        raise HL7Error(SEGMENT_SEQUENCE_ERROR, "MRG segment is missing", Location("MRG"))
    return read_orm.patient_identifier(mrg, 1, rules.mrn_authority)


HANDLERS: dict[tuple[str, str], Handler] = {
    ("ORM", "O01"): handle_orm_o01,
    ("OMI", "O23"): handle_omi_o23,
    ("OMG", "O19"): handle_omg_o19,
    # A11 cancel admit, A12 cancel transfer, A13 cancel discharge: the RIS
    # keeps no visit, location or patient class, so they update the patient.
    **{("ADT", event): handle_adt_patient_update for event in PATIENT_UPDATES},
    ("ADT", "A10"): handle_adt_a10,
    ("ADT", "A40"): handle_adt_a40,
    ("ADT", "A47"): handle_adt_a47,
}
SUPPORTED_TYPES = {message_type for message_type, _ in HANDLERS}


def handler_for(message: ParsedMessage) -> Handler:
    key = (message.header.message_type.upper(), message.header.trigger_event.upper())
    if key in HANDLERS:
        return HANDLERS[key]
    if key[0] in SUPPORTED_TYPES:
        raise HL7Error(UNSUPPORTED_EVENT_CODE, f"event {'^'.join(key)} is not supported", Location("MSH", 1, 9, 2))
    raise HL7Error(UNSUPPORTED_MESSAGE_TYPE, f"message type {key[0]!r} is not supported", Location("MSH", 1, 9, 1))
