"""Scheduled steps and their order, moved only through the state machines.

A step moves by MPPS (ris/services/mpps.py) or from the UI (check-in, ready,
a status set by hand for modalities without MPPS). Only the modality starts
an exam (MPPS IN PROGRESS takes it off the worklist); a person may record
that it was started outside the modality, with a reason. Cancelling and
no-shows, each with a reason, take it off the worklist too. The order follows
its steps; each change of the order's status is queued for the EHR in the
same transaction (outbox event "order_status").
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.utils import timezone

from ris.exceptions import IllegalTransition, InvalidInput
from ris.models import Appointment, AuditEvent, ImagingOrder, ScheduledProcedureStep
from ris.records import Actor, PatientData
from ris.services import appointment_events as told
from ris.services.audit import audit_record
from ris.services.outbox import outbox_enqueue
from ris.services.patients import patient_update
from ris.services.procedures import procedure_notify_status
from ris.services.safety import safety_check
from ris.states import ORDER_MACHINE, STEP_MACHINE, OrderStatus, StateMachine, StepStatus

log = logging.getLogger(__name__)
_S, _O = StepStatus, OrderStatus


def step_check_in(*, step: ScheduledProcedureStep, actor: Actor) -> ScheduledProcedureStep:
    """The patient has arrived (UI check-in)."""
    return step_set_status(step=step, status=_S.ARRIVED, actor=actor)


def step_ready(*, step: ScheduledProcedureStep, actor: Actor) -> ScheduledProcedureStep:
    """The patient is prepared and waits at the modality."""
    return step_set_status(step=step, status=_S.READY, actor=actor)


@transaction.atomic
def patient_arrived(*, data: PatientData, actor: Actor, day: dt.date | None = None) -> list[ScheduledProcedureStep]:
    """The patient has arrived (HL7 ADT A10, 2.5.1 3.3.10): every exam of
    theirs scheduled for the day (the site's date) and not yet checked in is
    ARRIVED, through the step state machine. Nothing scheduled that day is
    no error: the patient may have come for something else."""
    patient = patient_update(data=data, actor=actor)
    day = day or timezone.localdate()
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    steps = ScheduledProcedureStep.objects.filter(
        requested_procedure__order__patient=patient,
        status=_S.SCHEDULED,
        start__gte=start,
        start__lt=start + dt.timedelta(days=1),
    ).order_by("start", "pk")
    return [_set(step, _S.ARRIVED, actor, "arrived (patient arriving)") for step in steps]


@transaction.atomic
def step_set_status(*, step: ScheduledProcedureStep, status: str, actor: Actor) -> ScheduledProcedureStep:
    """Set a step's status by hand (e.g. a modality without MPPS); the order follows.

    Never STARTED: an exam leaves the modality's worklist when the modality
    starts it (MPPS), or through `step_start_outside_modality` with a reason."""
    if status == _S.STARTED:
        raise IllegalTransition(
            f"SPS {step.sps_id} is started by its modality (MPPS); "
            "record an exam started outside the modality with a reason."
        )
    return _set(step, status, actor, f"status {status}")


@transaction.atomic
def step_start_outside_modality(
    *, step: ScheduledProcedureStep, reason: str, actor: Actor, safety_override: str = ""
) -> ScheduledProcedureStep:
    """The exam was started where no MPPS will tell (a modality without MPPS,
    a downtime): it leaves the worklist now. A start that breaks a safety
    rule needs an override with a reason (ris.services.safety)."""
    reason = required_reason(reason)
    safety_check(
        order=step.requested_procedure.order,
        actor=actor,
        override_reason=safety_override,
        doing=f"starting SPS {step.sps_id}",
    )
    return _set(step, _S.STARTED, actor, f"started outside the modality: {reason}", reason)


def step_cancel(*, step: ScheduledProcedureStep, reason: str, actor: Actor) -> ScheduledProcedureStep:
    """Cancel an exam not yet started; it leaves the worklist, its slot is
    freed, and the order follows (the EHR hears CA when no step is left)."""
    reason = required_reason(reason)
    with transaction.atomic():
        row = _set(step, _S.CANCELED, actor, f"cancelled: {reason}", reason)
        appointment = Appointment.objects.filter(step_id=step.pk).select_related("room", "step").first()
        if appointment is not None:
            told.appointment_notify(appointment, told.CANCELLED)
    return row


@transaction.atomic
def step_no_show(*, step: ScheduledProcedureStep, reason: str, actor: Actor) -> ScheduledProcedureStep:
    """The patient did not come to a booked exam: cancelled as a no-show."""
    reason = required_reason(reason)
    if not Appointment.objects.filter(step_id=step.pk).update(no_show=True):
        raise InvalidInput(f"SPS {step.sps_id} is not booked; a no-show needs a booking", field="step")
    row = _set(step, _S.CANCELED, actor, f"no-show: {reason}", f"no-show: {reason}")
    told.appointment_notify(Appointment.objects.select_related("room", "step").get(step_id=step.pk), told.NO_SHOW)
    return row


@transaction.atomic
def _set(
    step: ScheduledProcedureStep, status: str, actor: Actor, detail: str, reason: str = ""
) -> ScheduledProcedureStep:
    row = ScheduledProcedureStep.objects.select_for_update().get(pk=step.pk)
    step_move(row, status)
    if reason:
        row.status_reason = reason[:255]
        row.save(update_fields=["status_reason"])
    order = order_follow_steps(order_id=row.requested_procedure.order_id)
    audit_record(actor=actor, action=AuditEvent.Action.CHANGE, patient=order.patient, obj=row, detail=detail)
    return row


def required_reason(reason: str) -> str:
    """The reason a person gives for a change; it may not be empty."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("give a reason", field="reason")
    if len(reason) > 200:
        raise InvalidInput("the reason may be at most 200 characters", field="reason")
    return reason


def step_move(step: ScheduledProcedureStep, status: str) -> None:
    """One checked move of a locked step; staying where it is is no move."""
    if step.status == status:
        return
    _check(STEP_MACHINE, step.status, status, f"SPS {step.sps_id}")
    step.status = status
    step.save(update_fields=["status"])


def step_walk(step: ScheduledProcedureStep, path: list[str]) -> None:
    """Move a step along `path`, starting after the point it has reached."""
    remaining = path[path.index(step.status) + 1 :] if step.status in path else path
    for status in remaining:
        step_move(step, status)


def order_follow_steps(*, order_id: int) -> ImagingOrder:
    """Give the order the status its steps imply; tell the EHR when it changes."""
    order = ImagingOrder.objects.select_for_update().get(pk=order_id)
    statuses = list(
        ScheduledProcedureStep.objects.filter(requested_procedure__order=order).values_list("status", flat=True)
    )
    new = status_from_steps(statuses, order.status)
    if new != order.status:
        _check(ORDER_MACHINE, order.status, new, f"order {order.accession_number}")
        order.status = new
        order.save(update_fields=["status", "updated_at"])
        outbox_enqueue(event="order_status", context={"order_id": order.pk, "status": new}, order=order)
        procedure_notify_status(order=order)
    return order


def status_from_steps(statuses: list[str], current: str) -> str:
    """COMPLETED when every step has ended and one was performed, DISCONTINUED
    or CANCELED when all ended otherwise, IN_PROGRESS once one is performing."""
    if statuses and all(s in _S.ENDED for s in statuses):
        if _S.COMPLETED in statuses:
            return _O.COMPLETED
        return _O.DISCONTINUED if _S.DISCONTINUED in statuses else _O.CANCELED
    if any(s in _S.PERFORMING for s in statuses):
        return _O.IN_PROGRESS
    return _O.SCHEDULED if current == _O.IN_PROGRESS else current


def _check(machine: StateMachine, current: str, new: str, what: str) -> None:
    try:
        machine.check(current, new)
    except IllegalTransition:
        log.warning("refused: %s cannot go from %s to %s", what, current, new)
        raise
