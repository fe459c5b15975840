"""Booking a scheduled procedure step in a room: book, move (reschedule),
resize, unbook, and following an order change from the EHR.

Each service locks the patient and the room(s) concerned (in that order) so
that two schedulers, in any process, cannot both take the last place; checks
every rule (ris/services/scheduling_rules.py); then writes the appointment and
the step in one transaction, so the worklist shows the change at once. A
reschedule or an unbooking by a person is told to the EHR with the order
status message (outbox event "order_status"); cancelling and no-shows are
step services (ris/services/steps.py). Every change of a booking is told to
the systems that take appointment notifications (IHE RAD-48,
ris/services/appointment_events.py).
"""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from ris.exceptions import BookingRefused, InvalidInput, StepNotBookable
from ris.models import Appointment, AuditEvent, Patient, Room, ScheduledProcedureStep
from ris.records import Actor
from ris.services import appointment_events as told
from ris.services.audit import audit_record
from ris.services.outbox import outbox_enqueue
from ris.services.procedures import UPDATED, procedure_notify
from ris.services.safety import safety_check
from ris.services.scheduling_rules import catalogue_entry, check_booking, check_not_in_past
from ris.services.steps import required_reason
from ris.states import StepStatus

DEFAULT_DURATION_MINUTES = 15


@transaction.atomic
def appointment_book(
    *,
    step: ScheduledProcedureStep,
    room: Room,
    start: dt.datetime,
    actor: Actor,
    duration_minutes: int | None = None,
    safety_override: str = "",
) -> Appointment:
    """Book a step not yet booked (or move it, if it is) into `room` at `start`.

    A booking that breaks a safety rule is refused unless `safety_override`
    gives the reason of someone who may override (ris.services.safety)."""
    existing = Appointment.objects.filter(step=step).first()
    if existing is not None:
        return appointment_move(appointment=existing, room=room, start=start, actor=actor)
    minutes = duration_minutes or default_duration(step)
    end = _end(start, minutes)
    step = _lock(step, [room])
    patient = step.requested_procedure.order.patient
    check_not_in_past(start)
    check_booking(step=step, room=room, start=start, end=end, patient_id=patient.pk)
    safety_check(
        order=step.requested_procedure.order,
        actor=actor,
        override_reason=safety_override,
        doing=f"booking SPS {step.sps_id}",
    )
    appointment = Appointment(step=step, room=room, patient=patient, start=start, end=end, booked_by=actor.person)
    _save(appointment, minutes, actor, "booked")
    told.appointment_notify(appointment, told.BOOKED)
    return appointment


@transaction.atomic
def appointment_move(
    *, appointment: Appointment, start: dt.datetime, actor: Actor, room: Room | None = None, reason: str = ""
) -> Appointment:
    """Move a booking to another start and, optionally, another room; the
    duration is kept. With a reason it is a reschedule, and the EHR is told."""
    room = room or appointment.room
    appointment.step = _lock(appointment.step, [room, appointment.room])
    minutes = _minutes(appointment)
    end = _end(start, minutes)
    check_not_in_past(start)
    check_booking(
        step=appointment.step, room=room, start=start, end=end, patient_id=appointment.patient_id, ignore=appointment
    )
    appointment.room, appointment.start, appointment.end = room, start, end
    _save(appointment, minutes, actor, f"rescheduled ({reason.strip()})" if reason.strip() else "moved")
    told.appointment_notify(appointment, told.RESCHEDULED)
    if reason.strip():
        _tell_ehr(appointment.step)
    return appointment


@transaction.atomic
def appointment_unbook(*, appointment: Appointment, reason: str, actor: Actor) -> ScheduledProcedureStep:
    """Take a step out of its room; it goes back to the list to book (and stays
    on the worklist at its time, in no room). The EHR is told."""
    reason = required_reason(reason)
    step = _lock(appointment.step, [appointment.room])
    if step.status not in StepStatus.OPEN:
        raise StepNotBookable(f"Step {step.sps_id} is {step.status}; only exams not yet started can be unbooked.")
    room_code = appointment.room.code
    told.appointment_notify(appointment, told.CANCELLED)
    Appointment.objects.filter(pk=appointment.pk).delete()
    step.location, step.start = "", step.requested_start or step.start  # back to the time the order asked for
    step.save(update_fields=["location", "start"])
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CHANGE,
        patient=step.requested_procedure.order.patient,
        obj=step,
        detail=f"unbooked from {room_code}: {reason}",
    )
    _tell_ehr(step)
    procedure_notify(order=step.requested_procedure.order, control=UPDATED)
    return step


def appointment_follow_step(*, step: ScheduledProcedureStep, actor: Actor) -> None:
    """After an order change gave a step a new start or duration: move its
    booking with it, or, when the new time breaks a rule, release the booking
    and flag the step for the scheduler with the reason. Runs inside the
    caller's transaction (the order change), whichever door made it."""
    appointment = Appointment.objects.filter(step=step).select_related("room").first()
    if appointment is None or (appointment.start, _minutes(appointment)) == (step.start, _step_minutes(step)):
        return
    if step.status not in StepStatus.OPEN:
        return  # under way on its modality: the room keeps the exam where it is
    room, minutes = appointment.room, _step_minutes(step)
    step = _lock(step, [room])
    start = step.start.astimezone(dt.UTC)
    end = start + dt.timedelta(minutes=minutes)
    try:
        check_not_in_past(start)
        check_booking(step=step, room=room, start=start, end=end, patient_id=appointment.patient_id, ignore=appointment)
    except BookingRefused as refusal:
        _release_for_scheduler(appointment, step, str(refusal), actor)
        return
    appointment.start, appointment.end = start, end
    _save(appointment, minutes, actor, "moved with the order")
    told.appointment_notify(appointment, told.RESCHEDULED)


def _release_for_scheduler(appointment: Appointment, step: ScheduledProcedureStep, why: str, actor: Actor) -> None:
    at = timezone.localtime(step.start)
    note = f"The order now asks for {at:%d %b %H:%M}; the booking in {appointment.room.code} could not follow: {why}"
    told.appointment_notify(appointment, told.CANCELLED)
    Appointment.objects.filter(pk=appointment.pk).delete()
    step.location, step.scheduling_note = "", note[:255]
    step.save(update_fields=["location", "scheduling_note"])
    audit_record(
        actor=actor, action=AuditEvent.Action.CHANGE, patient=appointment.patient, obj=step, detail=f"unbooked: {note}"
    )


def _step_minutes(step: ScheduledProcedureStep) -> int:
    return step.expected_duration_minutes or default_duration(step)


def _tell_ehr(step: ScheduledProcedureStep) -> None:
    """The order status message (ORC-1 SC) with the order's status as it is:
    the EHR sees the step's new time, or that it has none booked."""
    order = step.requested_procedure.order
    outbox_enqueue(event="order_status", context={"order_id": order.pk, "status": order.status}, order=order)


@transaction.atomic
def appointment_resize(*, appointment: Appointment, duration_minutes: int, actor: Actor) -> Appointment:
    """Change how long a booking lasts; it keeps its room and start."""
    appointment.step = _lock(appointment.step, [appointment.room])
    end = _end(appointment.start, duration_minutes)
    check_booking(
        step=appointment.step,
        room=appointment.room,
        start=appointment.start,
        end=end,
        patient_id=appointment.patient_id,
        ignore=appointment,
    )
    appointment.end = end
    _save(appointment, duration_minutes, actor, "resized")
    told.appointment_notify(appointment, told.MODIFIED)
    return appointment


def default_duration(step: ScheduledProcedureStep) -> int:
    procedure = catalogue_entry(step)
    if procedure is not None:
        return procedure.default_duration_minutes
    return step.expected_duration_minutes or DEFAULT_DURATION_MINUTES


def _end(start: dt.datetime, minutes: int) -> dt.datetime:
    if start.tzinfo is None:
        raise InvalidInput("start must carry a time zone", field="start")
    if not 1 <= minutes <= 24 * 60:
        raise InvalidInput("duration must be between 1 minute and 24 hours", field="duration_minutes")
    # In UTC: an aware local time plus a timedelta is wall-clock arithmetic, wrong across a clock change.
    return start.astimezone(dt.UTC) + dt.timedelta(minutes=minutes)


def _minutes(appointment: Appointment) -> int:
    return int((appointment.end - appointment.start).total_seconds() // 60)


def _lock(step: ScheduledProcedureStep, rooms: list[Room]) -> ScheduledProcedureStep:
    """Lock the patient, the rooms (by id) and the step; return the step as stored now."""
    Patient.objects.select_for_update().filter(pk=step.requested_procedure.order.patient_id).first()
    list(Room.objects.select_for_update().filter(pk__in={r.pk for r in rooms}).order_by("pk"))
    return (
        ScheduledProcedureStep.objects.select_for_update()
        .select_related("requested_procedure__order__patient")
        .get(pk=step.pk)
    )


def _save(appointment: Appointment, minutes: int, actor: Actor, verb: str) -> None:
    if not appointment.pk:
        appointment.booked_at = timezone.now()
    appointment.save()
    detail = f"{verb}: {appointment.room.code} {appointment.start:%Y-%m-%d %H:%M}, {minutes} min"
    audit_record(
        actor=actor, action=AuditEvent.Action.CHANGE, patient=appointment.patient, obj=appointment, detail=detail
    )
    step, room = appointment.step, appointment.room
    step.start, step.expected_duration_minutes, step.location = appointment.start, minutes, room.code
    step.scheduling_note = ""  # booked again: nothing left for the scheduler to look at
    if room.station is not None:
        step.station_ae_title, step.station_name = room.station.ae_title, room.station.station_name
    step.save(
        update_fields=[
            "start",
            "expected_duration_minutes",
            "location",
            "station_ae_title",
            "station_name",
            "scheduling_note",
        ]
    )
    procedure_notify(order=step.requested_procedure.order, control=UPDATED)  # the PACS hears the time and room
