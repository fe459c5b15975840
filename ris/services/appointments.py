"""Booking a scheduled procedure step in a room: book, move, resize.

Each service locks the patient and the room(s) concerned (in that order) so
that two schedulers, in any process, cannot both take the last place; checks
every rule (ris/services/scheduling_rules.py); then writes the appointment and
the step in one transaction, so the worklist shows the change at once.
"""

import datetime as dt

from django.db import transaction

from ris.exceptions import InvalidInput
from ris.models import Appointment, AuditEvent, Patient, Room, ScheduledProcedureStep
from ris.records import Actor
from ris.services.audit import audit_record
from ris.services.scheduling_rules import catalogue_entry, check_booking

DEFAULT_DURATION_MINUTES = 15


@transaction.atomic
def appointment_book(
    *,
    step: ScheduledProcedureStep,
    room: Room,
    start: dt.datetime,
    actor: Actor,
    duration_minutes: int | None = None,
) -> Appointment:
    """Book a step not yet booked (or move it, if it is) into `room` at `start`."""
    existing = Appointment.objects.filter(step=step).first()
    if existing is not None:
        return appointment_move(appointment=existing, room=room, start=start, actor=actor)
    minutes = duration_minutes or _default_duration(step)
    end = _end(start, minutes)
    step = _lock(step, [room])
    patient = step.requested_procedure.order.patient
    check_booking(step=step, room=room, start=start, end=end, patient_id=patient.pk)
    appointment = Appointment(step=step, room=room, patient=patient, start=start, end=end, booked_by=actor.person)
    _save(appointment, minutes, actor, "booked")
    return appointment


@transaction.atomic
def appointment_move(
    *, appointment: Appointment, start: dt.datetime, actor: Actor, room: Room | None = None
) -> Appointment:
    """Move a booking to another start and, optionally, another room; the duration is kept."""
    room = room or appointment.room
    appointment.step = _lock(appointment.step, [room, appointment.room])
    minutes = _minutes(appointment)
    end = _end(start, minutes)
    check_booking(
        step=appointment.step, room=room, start=start, end=end, patient_id=appointment.patient_id, ignore=appointment
    )
    appointment.room, appointment.start, appointment.end = room, start, end
    _save(appointment, minutes, actor, "moved")
    return appointment


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
    return appointment


def _default_duration(step: ScheduledProcedureStep) -> int:
    procedure = catalogue_entry(step)
    if procedure is not None:
        return procedure.default_duration_minutes
    return step.expected_duration_minutes or DEFAULT_DURATION_MINUTES


def _end(start: dt.datetime, minutes: int) -> dt.datetime:
    if start.tzinfo is None:
        raise InvalidInput("start must carry a time zone", field="start")
    if not 1 <= minutes <= 24 * 60:
        raise InvalidInput("duration must be between 1 minute and 24 hours", field="duration_minutes")
    return start + dt.timedelta(minutes=minutes)


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
    appointment.save()
    detail = f"{verb}: {appointment.room.code} {appointment.start:%Y-%m-%d %H:%M}, {minutes} min"
    audit_record(
        actor=actor, action=AuditEvent.Action.CHANGE, patient=appointment.patient, obj=appointment, detail=detail
    )
    step, room = appointment.step, appointment.room
    step.start, step.expected_duration_minutes, step.location = appointment.start, minutes, room.code
    if room.station is not None:
        step.station_ae_title, step.station_name = room.station.ae_title, room.station.station_name
    step.save(update_fields=["start", "expected_duration_minutes", "location", "station_ae_title", "station_name"])
