"""Modality Performed Procedure Steps: what the modality says it performed.

PS3.4 F.7: an MPPS is created IN PROGRESS and ends COMPLETED or DISCONTINUED;
both are final. Each MPPS is linked to the scheduled steps its Scheduled Step
Attributes items name; one that names none we know is kept, flagged
unscheduled, for a person to reconcile. The linked steps, and their orders,
follow the MPPS status.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q

from ris.exceptions import (
    DuplicatePerformedStep,
    FieldsMissing,
    FieldsNotModifiable,
    InvalidInput,
    InvalidStatus,
    PerformedStepFinal,
    PerformedStepNotYours,
    UnknownPerformedStep,
)
from ris.models import (
    AuditEvent,
    ImagingOrder,
    Patient,
    PerformedProcedureStep,
    QuarantinedMpps,
    RequestedProcedure,
    ScheduledProcedureStep,
)
from ris.records import (
    CLEAR,
    Actor,
    CodedValue,
    DoseData,
    OrderData,
    PatientData,
    PerformedStepChange,
    PerformedStepData,
    PerformedStepSender,
    ProcedureData,
    ScheduledStepRef,
    StepData,
)
from ris.services.audit import audit_record
from ris.services.discrepancies import Kind, discrepancy_open
from ris.services.orders import order_place
from ris.services.outbox import outbox_enqueue
from ris.services.safety import safety_alert_raise
from ris.services.steps import order_follow_steps, step_walk
from ris.states import PERFORMED_STEP_MACHINE, PerformedStepStatus, StepStatus

log = logging.getLogger(__name__)
_P, _S = PerformedStepStatus, StepStatus
# DICOM CID 9300: the modality performed the wrong worklist entry; the
# scheduled step is still to be done and must be selectable again.
WRONG_WORKLIST_ENTRY = "110514"
FORWARD_CREATE, FORWARD_SET = "N-CREATE", "N-SET"


@transaction.atomic
def mpps_create(*, data: PerformedStepData, actor: Actor) -> PerformedProcedureStep:
    """N-CREATE (PS3.4 F.7.2.1): only IN PROGRESS; linked steps start."""
    if data.status != _P.IN_PROGRESS:
        raise InvalidStatus(f"an MPPS is created IN PROGRESS, not {data.status!r}")
    if PerformedProcedureStep.objects.filter(sop_instance_uid=data.sop_instance_uid).exists():
        raise DuplicatePerformedStep("an MPPS with this SOP Instance UID exists")
    steps = matching_steps(data.scheduled_steps, modality=data.modality)
    pps = _create_row(data, unscheduled=not steps)
    pps.steps.set(steps)
    _apply_to_steps(pps)
    for step in steps:  # the exam is happening: a broken safety rule is flagged, never refused
        safety_alert_raise(step=step, actor=actor)
    _note_mismatch(pps, actor)
    _forward(FORWARD_CREATE, pps.sop_instance_uid, data.dataset)
    _audit(pps, AuditEvent.Action.CREATE, actor=actor)
    log.info(
        "MPPS %s created from %s, %s",
        pps.sop_instance_uid,
        data.sender,
        f"linked to {len(steps)} step(s)" if steps else "unscheduled",
    )
    return pps


def _create_row(data: PerformedStepData, *, unscheduled: bool) -> PerformedProcedureStep:
    fields = {
        f.name: getattr(data, f.name)
        for f in dataclasses.fields(data)
        if f.name not in ("scheduled_steps", "dose", "discontinuation_reason")
    }
    row = PerformedProcedureStep(
        **fields,
        unscheduled=unscheduled,
        scheduled_step_refs=[dataclasses.asdict(ref) for ref in data.scheduled_steps],
    )
    _set_dose(row, data.dose)
    _set_reason(row, data.discontinuation_reason)
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError as exc:  # a concurrent N-CREATE of the same instance won
        raise DuplicatePerformedStep("an MPPS with this SOP Instance UID exists") from exc
    return row


def matching_steps(refs: list[ScheduledStepRef], *, modality: str) -> list[ScheduledProcedureStep]:
    """The steps the Scheduled Step Attributes items name (PS3.4 F.7.2.1.1)."""
    condition = Q(pk__in=[])
    for ref in refs:
        condition |= _ref_condition(ref, modality)
    return list(ScheduledProcedureStep.objects.filter(condition).select_for_update(of=("self",)).order_by("pk"))


def _ref_condition(ref: ScheduledStepRef, modality: str) -> Q:
    rp = "requested_procedure"
    keys = {
        f"{rp}__study_instance_uid": ref.study_instance_uid,
        f"{rp}__order__accession_number": ref.accession_number,
        f"{rp}__requested_procedure_id": ref.requested_procedure_id,
        "sps_id": ref.sps_id,
    }
    given = {column: value for column, value in keys.items() if value}
    if not given:
        return Q(pk__in=[])  # an item with no value names no step
    if not ref.sps_id:  # an item without SPS ID names the procedure's steps on this modality
        given["modality"] = modality
    return Q(**given)


@transaction.atomic
def mpps_update(
    *,
    sop_instance_uid: str,
    change: PerformedStepChange,
    actor: Actor,
    sender: PerformedStepSender | None = None,
) -> PerformedProcedureStep:
    """N-SET (PS3.4 F.7.2.2): only while IN PROGRESS; a final status moves the steps.

    `sender`: the AE sending the change; it may change only what it created
    (or what the registry lets it, see PerformedStepSender). None: not checked."""
    pps = _locked(sop_instance_uid)
    if sender is not None and not sender.may_change(created_by=pps.sender, station_ae_title=pps.station_ae_title):
        raise PerformedStepNotYours(
            f"MPPS created by {pps.sender or 'another AE'}; {sender.ae_title} may not change it"
        )
    if pps.is_final:
        raise PerformedStepFinal(f"MPPS is {pps.status} and can no longer change")
    new_status = change.status or pps.status
    if new_status not in _P.values:
        raise InvalidStatus(f"unknown MPPS status {new_status!r}")
    PERFORMED_STEP_MACHINE.check(pps.status, new_status)
    _refuse_changes_to_fixed(pps, change.fixed)
    _apply_change(pps, change)
    if new_status != _P.IN_PROGRESS:
        _require_final_values(pps)
    pps.status = new_status
    pps.save()
    if pps.is_final:
        _apply_to_steps(pps)
        _note_wrong_entry(pps, actor)
    _forward(FORWARD_SET, sop_instance_uid, change.dataset)
    _audit(pps, AuditEvent.Action.CHANGE, actor=actor)
    return pps


def _note_mismatch(pps: PerformedProcedureStep, actor: Actor) -> None:
    """Into the reconciliation queue: an MPPS that names no step we know, or
    one that names another patient than the steps it is linked to."""
    if pps.unscheduled:
        refs = ", ".join(
            ref.get("study_instance_uid") or ref.get("accession_number") or "" for ref in pps.scheduled_step_refs
        )
        summary = (
            f"MPPS {pps.pps_id} {pps.modality} from {pps.station_ae_title} names no scheduled step ({refs or 'none'})"
        )
        discrepancy_open(kind=Kind.UNSCHEDULED_MPPS, summary=summary, actor=actor, performed_step=pps)
        return
    if not pps.patient_id:
        return
    for patient in _patients(pps):
        if patient is not None and patient.patient_id != pps.patient_id:
            summary = f"MPPS {pps.pps_id} names patient {pps.patient_id}; its step is patient {patient.patient_id}'s"
            discrepancy_open(
                kind=Kind.PATIENT_CONFLICT, summary=summary, actor=actor, performed_step=pps, patient=patient
            )


def _note_wrong_entry(pps: PerformedProcedureStep, actor: Actor) -> None:
    """CID 9300 110514: the images made so far belong to another exam."""
    if pps.status != _P.DISCONTINUED or pps.discontinuation_reason_value != WRONG_WORKLIST_ENTRY:
        return
    patient = next(iter(_patients(pps)), None)
    summary = f"MPPS {pps.pps_id} {pps.modality} was performed on the wrong worklist entry"
    discrepancy_open(kind=Kind.WRONG_WORKLIST_ENTRY, summary=summary, actor=actor, performed_step=pps, patient=patient)


def _patients(pps: PerformedProcedureStep) -> set[Patient | None]:
    return {
        step.requested_procedure.order.patient
        for step in pps.steps.select_related("requested_procedure__order__patient")
    }


def _audit(pps: PerformedProcedureStep, action: str, *, actor: Actor, detail: str = "") -> None:
    """The actor changed the exam of each patient the MPPS covers."""
    patients: set[Patient | None] = {
        step.requested_procedure.order.patient
        for step in pps.steps.select_related("requested_procedure__order__patient")
    }
    for patient in patients or {None}:
        audit_record(actor=actor, action=action, patient=patient, obj=pps, detail=detail or f"MPPS {pps.status}")


def _locked(sop_instance_uid: str) -> PerformedProcedureStep:
    pps = PerformedProcedureStep.objects.select_for_update().filter(sop_instance_uid=sop_instance_uid).first()
    if pps is None:
        raise UnknownPerformedStep("no MPPS with this SOP Instance UID")
    return pps


def _refuse_changes_to_fixed(pps: PerformedProcedureStep, fixed: dict[str, Any]) -> None:
    """PS3.4 F.7.2.2: attributes fixed at N-CREATE may be repeated, not changed."""
    changed = sorted(name for name, value in fixed.items() if value != _stored(pps, name))
    if changed:
        raise FieldsNotModifiable(f"may not change after N-CREATE: {', '.join(changed)}", fields=changed)


def _stored(pps: PerformedProcedureStep, name: str) -> Any:
    if name == "scheduled_steps":
        return [ScheduledStepRef(**ref) for ref in pps.scheduled_step_refs]
    return getattr(pps, name)


def _apply_change(pps: PerformedProcedureStep, change: PerformedStepChange) -> None:
    """Sent values replace the stored ones; a sequence is replaced whole."""
    if change.end is not None:
        pps.end = None if change.end == CLEAR else change.end
    if change.description is not None:
        pps.description = change.description
    if change.performed_series is not None:
        pps.performed_series = change.performed_series
    _set_dose(pps, change.dose)
    reason = change.discontinuation_reason
    if reason is not None:
        _set_reason(pps, reason if isinstance(reason, CodedValue) else None)  # anything else is CLEAR
    pps.dataset = {**pps.dataset, **change.dataset}


def _require_final_values(pps: PerformedProcedureStep) -> None:
    """PS3.4 F.7.2.2 final state: end date and time, and at least one performed series."""
    missing = [name for name, value in (("end", pps.end), ("performed_series", pps.performed_series)) if not value]
    if missing:
        raise FieldsMissing(f"required to end the MPPS: {', '.join(missing)}", fields=missing)


def _set_dose(pps: PerformedProcedureStep, dose: DoseData) -> None:
    for name, value in dataclasses.asdict(dose).items():
        if value is not None:
            setattr(pps, name, value)


def _set_reason(pps: PerformedProcedureStep, reason: CodedValue | None) -> None:
    reason = reason or CodedValue("")
    pps.discontinuation_reason_value = reason.value
    pps.discontinuation_reason_scheme = reason.scheme
    pps.discontinuation_reason_meaning = reason.meaning


def _apply_to_steps(pps: PerformedProcedureStep) -> None:
    """Move the linked steps to what the MPPS says, then let their orders follow."""
    steps = list(pps.steps.select_for_update(of=("self",)).select_related("requested_procedure").order_by("pk"))
    path = _step_path(pps)
    for step in steps:
        step_walk(step, path)
    for order_id in sorted({step.requested_procedure.order_id for step in steps}):
        order_follow_steps(order_id=order_id)


def _forward(operation: str, sop_instance_uid: str, dataset: dict[str, Any]) -> None:
    """Queue the accepted operation for downstream AEs (a PACS), in order, with the change."""
    context = {"operation": operation, "sop_instance_uid": sop_instance_uid, "dataset": dataset}
    outbox_enqueue(event="mpps", context=context)


def _step_path(pps: PerformedProcedureStep) -> list[str]:
    if pps.status == _P.IN_PROGRESS:
        return [_S.STARTED]
    if pps.status == _P.COMPLETED:
        return [_S.STARTED, _S.COMPLETED]
    if pps.discontinuation_reason_value == WRONG_WORKLIST_ENTRY:
        return [_S.STARTED, _S.DISCONTINUED, _S.SCHEDULED]
    return [_S.STARTED, _S.DISCONTINUED]


@transaction.atomic
def mpps_link_to_order(*, pps: PerformedProcedureStep, order: ImagingOrder, actor: Actor) -> PerformedProcedureStep:
    """Reconcile an unscheduled MPPS: link it to the order's open steps on its modality."""
    pps = _link(_locked(pps.sop_instance_uid), order)
    _audit(pps, AuditEvent.Action.CHANGE, actor=actor, detail=f"MPPS linked to order {order.accession_number}")
    return pps


def _link(pps: PerformedProcedureStep, order: ImagingOrder) -> PerformedProcedureStep:
    steps = _open_steps(order, pps.modality)
    if not steps:
        raise InvalidInput(f"order {order.accession_number} has no open {pps.modality} step", field="order")
    pps.steps.add(*steps)
    pps.unscheduled = False
    pps.save(update_fields=["unscheduled", "updated_at"])
    _apply_to_steps(pps)
    log.info("MPPS %s linked to order %s", pps.sop_instance_uid, order.accession_number)
    return pps


def _open_steps(order: ImagingOrder, modality: str) -> list[ScheduledProcedureStep]:
    steps = ScheduledProcedureStep.objects.filter(requested_procedure__order=order).exclude(status__in=_S.ENDED)
    return list(steps.filter(modality=modality) or steps)


@transaction.atomic
def mpps_register_unscheduled_exam(*, pps: PerformedProcedureStep, actor: Actor) -> ImagingOrder:
    """Reconcile an unscheduled MPPS as a new exam: an order made from what it says."""
    pps = _locked(pps.sop_instance_uid)
    if not pps.unscheduled:
        raise InvalidInput(f"MPPS {pps.sop_instance_uid} is already linked", field="unscheduled")
    order = order_place(patient=_patient_of(pps), order=_order_of(pps), actor=actor)
    _link(pps, order)
    _audit(pps, AuditEvent.Action.CHANGE, actor=actor, detail=f"MPPS registered as order {order.accession_number}")
    return order


def _patient_of(pps: PerformedProcedureStep) -> PatientData:
    if not pps.patient_id:
        raise InvalidInput("the MPPS names no patient; link it to an order instead", field="patient_id")
    return PatientData(patient_id=pps.patient_id, name=pps.patient_name.split("=")[0] or None)


def _order_of(pps: PerformedProcedureStep) -> OrderData:
    ref = ScheduledStepRef(**pps.scheduled_step_refs[0]) if pps.scheduled_step_refs else ScheduledStepRef("")
    study_uid = ref.study_instance_uid
    if study_uid and RequestedProcedure.objects.filter(study_instance_uid=study_uid).exists():
        study_uid = ""  # the UID belongs to another procedure: the RIS assigns one
    accession = ref.accession_number
    if accession and ImagingOrder.objects.filter(accession_number=accession).exists():
        accession = ""
    step = StepData(
        modality=pps.modality,
        station_ae_title=pps.station_ae_title,
        station_name=pps.station_name[:16],
        location=pps.location[:16],
        start=pps.start,
        description=pps.description,
    )
    procedure = ProcedureData(description=pps.description, study_instance_uid=study_uid, steps=[step])
    return OrderData(
        placer_system="RIS", accession_number=accession, reason="unscheduled exam (MPPS)", procedures=[procedure]
    )


@transaction.atomic
def mpps_quarantine(
    *, operation: str, sop_instance_uid: str, dataset: dict[str, Any], reason: str, answered: int, actor: Actor
) -> QuarantinedMpps:
    """Keep an MPPS operation aside, unapplied, for a person to reconcile;
    the steps and orders it names are not touched."""
    row = QuarantinedMpps.objects.create(
        operation=operation,
        sop_instance_uid=sop_instance_uid,
        calling_ae_title=actor.name[:16],
        address=actor.address[:64],
        reason=reason[:200],
        dataset=dataset,
        answered=f"{answered:04X}",
    )
    audit_record(
        actor=actor, action=AuditEvent.Action.CREATE, obj=row, detail=f"MPPS {operation} quarantined: {reason}"
    )
    if operation == QuarantinedMpps.Operation.CREATE:
        discrepancy_open(kind=Kind.QUARANTINED_MPPS, summary=reason, actor=actor, quarantined=row)
    log.warning("MPPS %s %s from %s quarantined: %s", operation, sop_instance_uid, actor.name, reason)
    return row


def mpps_is_quarantined(*, sop_instance_uid: str) -> bool:
    """An instance only the quarantine knows (its N-CREATE was kept aside)."""
    return QuarantinedMpps.objects.filter(sop_instance_uid=sop_instance_uid).exists()
