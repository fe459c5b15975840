"""The rules every booking, move and resize must pass, each a named refusal.

A booking is the step's interval [start, end) in a room. Times in reasons are
shown in the site time zone. Opening periods may run past midnight (a night
shift, a room open 24 hours); a booking fits when one stretch of open time,
touching periods joined, holds all of it.
"""

import datetime as dt

from django.db.models import QuerySet
from django.utils import timezone

from ris.exceptions import (
    BookingInPast,
    OrderNotVetted,
    PatientDoubleBooked,
    ProcedureNotPossibleInRoom,
    RoomBlocked,
    RoomClosed,
    RoomFull,
    StepNotBookable,
)
from ris.models import Appointment, BlockedTime, OpeningHours, Procedure, Room, ScheduledProcedureStep
from ris.services import catalogue_defaults as catalogue
from ris.states import StepStatus, VettingStatus

# A walk-in booked "now" reaches the server a little later: that much of the past is still now.
WALK_IN_GRACE = dt.timedelta(minutes=10)


def check_booking(
    *,
    step: ScheduledProcedureStep,
    room: Room,
    start: dt.datetime,
    end: dt.datetime,
    patient_id: int,
    ignore: Appointment | None = None,
) -> None:
    """Raise the first rule the booking breaks; return quietly if it breaks none."""
    check_step_bookable(step)
    check_procedure_possible(step, room)
    check_room_open(room, start, end)
    check_room_not_blocked(room, start, end)
    others = _overlapping(start, end, ignore)
    check_room_capacity(room, others.filter(room=room), start, end)
    check_patient_free(others.filter(patient_id=patient_id))


def check_step_bookable(step: ScheduledProcedureStep) -> None:
    if step.status not in StepStatus.OPEN:
        raise StepNotBookable(f"Step {step.sps_id} is {step.status}; only steps not yet started can be booked.")
    order = step.requested_procedure.order
    if order.vetting_status in VettingStatus.UNVETTED:
        waits = "was returned for more information" if order.vetting_status == VettingStatus.RETURNED else "waits"
        raise OrderNotVetted(
            f"Order {order.accession_number} {waits} for vetting by a radiologist; it can be booked once accepted."
        )


def check_procedure_possible(step: ScheduledProcedureStep, room: Room) -> None:
    if not room.is_active:
        raise ProcedureNotPossibleInRoom(f"Room {room.code} is out of service.")
    if step.modality and step.modality != room.modality:
        raise ProcedureNotPossibleInRoom(
            f"A {step.modality} exam cannot be done in {room.code}, a {room.modality} room."
        )
    procedure = catalogue_entry(step)
    if procedure is not None and procedure.rooms.exists() and not procedure.rooms.filter(pk=room.pk).exists():
        raise ProcedureNotPossibleInRoom(f"{procedure.name} is not done in room {room.code}.")


def catalogue_entry(step: ScheduledProcedureStep) -> Procedure | None:
    procedure = step.requested_procedure
    return catalogue.catalogue_entry(code_value=procedure.code_value, code_scheme=procedure.code_scheme)


def check_not_in_past(start: dt.datetime, now: dt.datetime | None = None) -> None:
    """A new start may not lie in the past, except a walk-in booked now."""
    now = now or timezone.now()
    if start < now - WALK_IN_GRACE:
        at = timezone.localtime(start)
        raise BookingInPast(f"{at:%d %b %H:%M} is in the past; book a time from now on.")


def check_room_open(room: Room, start: dt.datetime, end: dt.datetime) -> None:
    if not any(begin <= start and end <= finish for begin, finish in room.open_intervals(start, end)):
        local_start, local_end = timezone.localtime(start), timezone.localtime(end)
        periods = room.opening_hours.filter(weekday=local_start.weekday())
        raise RoomClosed(_closed_reason(room, local_start, local_end, periods))


def _closed_reason(
    room: Room, local_start: dt.datetime, local_end: dt.datetime, periods: QuerySet[OpeningHours]
) -> str:
    hours = ", ".join(f"{p.opens:%H:%M}–{p.closes:%H:%M}" for p in periods) or "closed all day"
    until = f"{local_end:%H:%M}" if local_end.date() == local_start.date() else f"{local_end:%a %d %b %H:%M}"
    return (
        f"Room {room.code} is not open {local_start:%a %d %b} {local_start:%H:%M}–{until} "
        f"(opening hours that day: {hours})."
    )


def check_room_not_blocked(room: Room, start: dt.datetime, end: dt.datetime) -> None:
    block = BlockedTime.objects.filter(room=room, start__lt=end, end__gt=start).first()
    if block is not None:
        until = timezone.localtime(block.end)
        raise RoomBlocked(
            f"Room {room.code} is blocked until {until:%d %b %H:%M}: {block.reason or 'no reason given'}."
        )


def check_room_capacity(room: Room, overlapping: QuerySet[Appointment], start: dt.datetime, end: dt.datetime) -> None:
    intervals = [(max(a.start, start), min(a.end, end)) for a in overlapping]
    if most_at_once(intervals) >= room.capacity:
        raise RoomFull(f"Room {room.code} already has {room.capacity} exam(s) booked at that time.")


def most_at_once(intervals: list[tuple[dt.datetime, dt.datetime]]) -> int:
    """The largest number of half-open intervals that overlap at one instant."""
    edges = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    running = peak = 0
    for _, change in edges:  # an end sorts before a start at the same instant
        running += change
        peak = max(peak, running)
    return peak


def check_patient_free(overlapping: QuerySet[Appointment]) -> None:
    clash = overlapping.select_related("room").first()
    if clash is not None:
        at = timezone.localtime(clash.start)
        raise PatientDoubleBooked(f"The patient already has an exam in {clash.room.code} at {at:%H:%M}.")


def _overlapping(start: dt.datetime, end: dt.datetime, ignore: Appointment | None) -> QuerySet[Appointment]:
    # Appointments of stopped steps (cancelled, discontinued) no longer hold their slot.
    rows = Appointment.objects.filter(start__lt=end, end__gt=start).exclude(step__status__in=StepStatus.STOPPED)
    return rows.exclude(pk=ignore.pk) if ignore is not None else rows
