"""Orders: placing one, changing it in place, and moving its status.

The HL7 order-control codes (HL7 2.5.1 table 0119) map one to one:
NW `order_place`, XO `order_change`, CA `order_cancel`, DC `order_discontinue`,
HD `order_hold`, RL `order_release`, SC `order_status_change`.
"""

import dataclasses
from typing import TypeVar

from django.db import IntegrityError, transaction
from django.db.models import Model
from django.utils import timezone

from ris.exceptions import DuplicateOrder, IllegalTransition, InvalidInput, UnknownOrder
from ris.models import AuditEvent, ImagingOrder, Patient, RequestedProcedure, ScheduledProcedureStep, Station
from ris.records import CLEAR, Actor, OrderData, OrderKey, PatientData, ProcedureData, StationRule, StepData, plain
from ris.services.appointments import appointment_follow_step
from ris.services.audit import audit_record
from ris.services.catalogue_defaults import step_defaults
from ris.services.patients import demographics_source, patient_register, patient_survivor, patient_upsert
from ris.services.procedures import SCHEDULED, UPDATED, procedure_notify, procedure_notify_status
from ris.services.safety import safety_record
from ris.services.vetting import initial_vetting, order_vet_again
from ris.states import ORDER_MACHINE, STEP_MACHINE, OrderStatus, StepStatus
from ris.uids import new_uid

_ORDER_FIELDS = ("ordering_physician", "referring_physician", "reason", "priority", "admission_id")
_PROCEDURE_FIELDS = ("code_value", "code_scheme", "code_meaning", "description")
_STEP_FIELDS = (
    "modality",
    "station_ae_title",
    "station_name",
    "location",
    "performing_physician",
    "description",
    "protocol_code_value",
    "protocol_code_scheme",
    "protocol_code_meaning",
)
_Row = TypeVar("_Row", RequestedProcedure, ScheduledProcedureStep)


@transaction.atomic
def order_place(
    *, patient: PatientData | Patient, order: OrderData, actor: Actor, register: bool = False
) -> ImagingOrder:
    """Create an order with its procedures and steps (HL7 ORC-1 NW, manual entry).

    An HL7 sender's patient data creates or updates its patient. A person
    names an existing `Patient` as it is (merged: its survivor), or, with
    `register`, a new patient that must not exist yet (ris.services.patients).
    An order of a procedure that needs vetting waits for it (ris.services.vetting);
    the safety values it carries are recorded (ris.services.safety)."""
    order = plain(order)
    patient_row = _patient_for(patient, register, actor)
    row = _create_order(patient_row, order)
    for procedure in order.procedures or [ProcedureData()]:
        _create_procedure(row, procedure, order.station_rules)
    _audit(actor, AuditEvent.Action.CREATE, row, f"order {row.accession_number}")
    if order.safety:
        safety_record(order=row, values=order.safety, actor=actor)
    procedure_notify(order=row, control=SCHEDULED)
    return row


def _patient_for(patient: PatientData | Patient, register: bool, actor: Actor) -> Patient:
    if isinstance(patient, Patient):
        return patient_survivor(patient)
    if register:
        return patient_register(data=patient, actor=actor)
    return patient_upsert(data=patient, source=demographics_source(actor))


def _audit(actor: Actor, action: str, row: ImagingOrder, detail: str) -> None:
    audit_record(actor=actor, action=action, patient=row.patient, obj=row, detail=detail)


def order_find(*, key: OrderKey, lock: bool = False) -> ImagingOrder:
    """The order a sender names: placer number within its placer system, else filler number."""
    orders = ImagingOrder.objects.select_for_update() if lock else ImagingOrder.objects.all()
    found = None
    if key.placer_number:
        found = orders.filter(placer_system=key.placer_system, placer_number=key.placer_number).first()
    if found is None and key.filler_number:
        found = orders.filter(filler_number=key.filler_number).first()
    if found is None:
        raise UnknownOrder(f"no order with placer number {key.placer_number!r} or filler number {key.filler_number!r}")
    return found


@transaction.atomic
def order_change(*, key: OrderKey, order: OrderData, actor: Actor) -> ImagingOrder:
    """Change an order in place (HL7 ORC-1 XO). Empty values keep what is
    stored, CLEAR erases it. Identifiers (accession, requested procedure ID,
    SPS ID, Study Instance UID) never change."""
    row = order_find(key=key, lock=True)
    if row.status not in (OrderStatus.SCHEDULED, OrderStatus.ON_HOLD):
        raise_illegal(row, "changed")
    if order.priority == CLEAR:  # priority is never empty: erased means the default
        order = dataclasses.replace(order, priority="ROUTINE")
    _update(row, order, _ORDER_FIELDS)
    procedures = list(row.procedures.order_by("pk"))
    for position, data in enumerate(order.procedures):
        procedure = _match(procedures, position, "requested_procedure_id", data.requested_procedure_id)
        if procedure is None:
            _create_procedure(row, plain(data), order.station_rules)
        else:
            _change_procedure(procedure, data, order.station_rules, actor)
    _audit(actor, AuditEvent.Action.CHANGE, row, f"order {row.accession_number} changed")
    if order.safety:
        safety_record(order=row, values=order.safety, actor=actor)
    order_vet_again(order=row, actor=actor)  # returned for information: the change may bring it
    procedure_notify(order=row, control=UPDATED)
    return row


def raise_illegal(row: ImagingOrder, verb: str) -> None:
    raise IllegalTransition(f"imaging order {row.accession_number} is {row.status} and cannot be {verb}")


@transaction.atomic
def order_cancel(*, key: OrderKey, actor: Actor) -> ImagingOrder:
    """HL7 ORC-1 CA: the order and its open steps are canceled (before any is performed)."""
    return _move(actor, order_find(key=key, lock=True), OrderStatus.CANCELED, StepStatus.CANCELED)


@transaction.atomic
def order_discontinue(*, key: OrderKey, actor: Actor) -> ImagingOrder:
    """HL7 ORC-1 DC: the order stops; steps not yet final are discontinued."""
    return _move(actor, order_find(key=key, lock=True), OrderStatus.DISCONTINUED, StepStatus.DISCONTINUED)


@transaction.atomic
def order_hold(*, key: OrderKey, actor: Actor) -> ImagingOrder:
    """HL7 ORC-1 HD: the order waits; its steps keep their status."""
    return _move(actor, order_find(key=key, lock=True), OrderStatus.ON_HOLD)


@transaction.atomic
def order_release(*, key: OrderKey, actor: Actor) -> ImagingOrder:
    """HL7 ORC-1 RL: a held order is scheduled again."""
    row = order_find(key=key, lock=True)
    if row.status != OrderStatus.ON_HOLD:
        raise_illegal(row, "released (it is not on hold)")
    return _move(actor, row, OrderStatus.SCHEDULED)


@transaction.atomic
def order_status_change(*, key: OrderKey, status: str, actor: Actor) -> ImagingOrder:
    """HL7 ORC-1 SC with ORC-5: the sender's view of the order's status."""
    row = order_find(key=key, lock=True)
    if row.status == status:
        return row  # told what we know already
    step_status: dict[str, str] = {
        OrderStatus.CANCELED: StepStatus.CANCELED,
        OrderStatus.DISCONTINUED: StepStatus.DISCONTINUED,
    }
    return _move(actor, row, status, step_status.get(status))


def _move(actor: Actor, row: ImagingOrder, status: str, step_status: str | None = None) -> ImagingOrder:
    ORDER_MACHINE.check(row.status, status)
    row.status = status
    row.save(update_fields=["status", "updated_at"])
    if step_status:
        for step in ScheduledProcedureStep.objects.filter(requested_procedure__order=row).exclude(
            status__in=StepStatus.ENDED
        ):
            STEP_MACHINE.check(step.status, step_status)
            step.status = step_status
            step.save(update_fields=["status"])
    _audit(actor, AuditEvent.Action.CHANGE, row, f"order {row.accession_number} {status}")
    procedure_notify_status(order=row)
    return row


def _create_order(patient: Patient, order: OrderData) -> ImagingOrder:
    """The unique indexes refuse a used placer or accession number (AE 205),
    also against a concurrent NW, without a query first."""
    fields = {
        "patient": patient,
        "placer_system": order.placer_system,
        "placer_number": order.placer_number,
        "filler_number": order.filler_number or order.accession_number,  # the accession when absent
        "accession_number": order.accession_number or None,
        "ordering_physician": order.ordering_physician,
        "referring_physician": order.referring_physician,
        "reason": order.reason,
        "priority": order.priority or "ROUTINE",
        "admission_id": order.admission_id,
        "vetting_status": initial_vetting(order.procedures),
    }
    try:
        row = ImagingOrder.objects.create(**fields)
    except IntegrityError as exc:
        raise _duplicate(order, exc) from exc
    _number_order(row)
    return row


def _duplicate(order: OrderData, exc: IntegrityError) -> DuplicateOrder:
    if "accession_number" in str(exc):
        return DuplicateOrder(f"accession number {order.accession_number} already exists", field="accession_number")
    return DuplicateOrder(f"placer order number {order.placer_number} already exists", field="placer_number")


def _number_order(row: ImagingOrder) -> None:
    """The accession number the RIS assigns (and filler number) when the order has none."""
    changed = []
    if not row.accession_number:
        row.accession_number = f"A{row.pk:07d}"
        changed.append("accession_number")
    if not row.filler_number:
        row.filler_number = row.accession_number
        changed.append("filler_number")
    if changed:
        row.save(update_fields=changed)


def _create_procedure(
    order: ImagingOrder, data: ProcedureData, rules: tuple[StationRule, ...] = ()
) -> RequestedProcedure:
    try:
        procedure = RequestedProcedure.objects.create(
            order=order,
            requested_procedure_id=data.requested_procedure_id or "",
            code_value=data.code_value,
            code_scheme=data.code_scheme,
            code_meaning=data.code_meaning,
            description=data.description or data.code_meaning,
            study_instance_uid=data.study_instance_uid or new_uid(),
        )
    except IntegrityError as exc:
        raise DuplicateOrder(
            f"Study Instance UID {data.study_instance_uid} already exists", field="study_instance_uid"
        ) from exc
    if not procedure.requested_procedure_id:
        procedure.requested_procedure_id = f"RP{procedure.pk}"
        procedure.save(update_fields=["requested_procedure_id"])
    for step in data.steps or [StepData()]:
        _create_step(procedure, step, rules)
    return procedure


def _create_step(
    procedure: RequestedProcedure, data: StepData, rules: tuple[StationRule, ...] = ()
) -> ScheduledProcedureStep:
    defaults = step_defaults(
        code_value=procedure.code_value,
        code_scheme=procedure.code_scheme,
        modality=data.modality,
        rules=rules,
        needs_station=not data.station_ae_title,
    )
    if not defaults.modality:
        raise InvalidInput("modality is missing and the procedure code is not in the catalogue", field="modality")
    step = ScheduledProcedureStep.objects.create(
        requested_procedure=procedure,
        sps_id=data.sps_id,
        modality=defaults.modality,
        start=data.start or timezone.now(),
        requested_start=data.start,
        expected_duration_minutes=data.expected_duration_minutes or defaults.duration_minutes,
        performing_physician=data.performing_physician,
        description=(data.description or procedure.description)[:64],
        protocol_code_value=data.protocol_code_value,
        protocol_code_scheme=data.protocol_code_scheme,
        protocol_code_meaning=data.protocol_code_meaning,
        **_station_fields(data, defaults.station),
    )
    if not step.sps_id:
        step.sps_id = f"SPS{step.pk}"
        step.save(update_fields=["sps_id"])
    return step


def _station_fields(data: StepData, station: Station | None) -> dict[str, str]:
    """The order's own station; the default station only when it names none."""
    station = station if not data.station_ae_title else None
    return {
        "station_ae_title": data.station_ae_title or (station.ae_title if station else ""),
        "station_name": (data.station_name or (station.station_name if station else ""))[:16],
        "location": (data.location or (station.location if station else ""))[:16],
    }


def _change_procedure(
    procedure: RequestedProcedure, data: ProcedureData, rules: tuple[StationRule, ...], actor: Actor
) -> None:
    _update(procedure, data, _PROCEDURE_FIELDS)
    steps = list(procedure.steps.order_by("pk"))
    for position, step_data in enumerate(data.steps):
        step = _match(steps, position, "sps_id", step_data.sps_id)
        if step is None:
            _create_step(procedure, plain(step_data), rules)
        else:
            _change_step(step, step_data, actor)


def _change_step(step: ScheduledProcedureStep, data: StepData, actor: Actor) -> None:
    if step.status in StepStatus.ENDED:
        return  # a performed or stopped step is history; XO leaves it alone
    if data.modality == CLEAR:
        raise InvalidInput("the modality of a step cannot be erased", field="modality")
    changed = _update(step, data, _STEP_FIELDS, save=False)
    # A start the order already asked for is no change: the booking may have moved it since.
    if data.start is not None and data.start != (step.requested_start or step.start):
        step.start = step.requested_start = data.start
        changed += ["start", "requested_start"]
    if data.expected_duration_minutes is not None and data.expected_duration_minutes != step.expected_duration_minutes:
        step.expected_duration_minutes = data.expected_duration_minutes
        changed.append("expected_duration_minutes")
    if changed:
        step.save(update_fields=changed)
    if {"start", "expected_duration_minutes"} & set(changed):
        appointment_follow_step(step=step, actor=actor)  # the booking moves with it, or is flagged


def _match(rows: list[_Row], position: int, id_field: str, wanted: str) -> _Row | None:
    """The row a changed item means: by its identifier, else by its position."""
    if wanted and wanted != CLEAR:
        return next((row for row in rows if getattr(row, id_field) == wanted), None)
    return rows[position] if position < len(rows) else None


def _update(row: Model, data: object, names: tuple[str, ...], save: bool = True) -> list[str]:
    """Copy given values ('' keeps, CLEAR erases) onto the row; returns what changed."""
    changed = []
    for name in names:
        value = getattr(data, name)
        if value == "":
            continue
        value = "" if value == CLEAR else value
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed.append(name)
    if changed and save:
        if hasattr(row, "updated_at"):
            changed.append("updated_at")
        row.save(update_fields=changed)
    return changed
