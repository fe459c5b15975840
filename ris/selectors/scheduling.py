"""What the scheduler reads: the list to book and the next free slot for an exam.

The next free slot applies the booking rules (ris/services/scheduling_rules.py)
to the rows it has read instead of asking the database once per candidate:
suitable rooms, their opening hours (across midnight included), blocked
time, the room's bookings against its capacity, and the patient's other
bookings. A suggestion is only a suggestion: booking it runs every rule again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Case, F, IntegerField, QuerySet, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from ris.models import Appointment, BlockedTime, Room, ScheduledProcedureStep
from ris.models.scheduling import Interval
from ris.services.appointments import default_duration
from ris.services.scheduling_rules import catalogue_entry, most_at_once
from ris.states import Priority, StepStatus

URGENCY = [Priority.STAT, Priority.HIGH, Priority.MEDIUM, Priority.ROUTINE, Priority.LOW]
GRID = dt.timedelta(minutes=5)  # suggestions start on five-minute marks
HORIZON = dt.timedelta(days=14)


def urgency(prefix: str = "requested_procedure__order__") -> Case:
    """0 for STAT up to 4 for LOW: sorts the most urgent first."""
    whens = [When(**{f"{prefix}priority": p}, then=Value(rank)) for rank, p in enumerate(URGENCY)]
    return Case(*whens, default=Value(len(URGENCY)), output_field=IntegerField())


def by_urgency_then_requested_time(rows: QuerySet[ScheduledProcedureStep]) -> QuerySet[ScheduledProcedureStep]:
    return rows.annotate(urgency=urgency(), requested_at=Coalesce(F("requested_start"), F("start"))).order_by(
        "urgency", "requested_at", "pk"
    )


@dataclass(frozen=True)
class Slot:
    room: Room
    start: dt.datetime
    end: dt.datetime


def suitable_rooms(step: ScheduledProcedureStep) -> list[Room]:
    """Active rooms of the step's modality, only the catalogue's rooms when it names some."""
    rooms = Room.objects.filter(is_active=True, modality=step.modality).prefetch_related("opening_hours")
    procedure = catalogue_entry(step)
    if procedure is not None and procedure.rooms.exists():
        rooms = rooms.filter(pk__in=procedure.rooms.values("pk"))
    return list(rooms.order_by("code"))


def next_free_slot(
    step: ScheduledProcedureStep, *, after: dt.datetime | None = None, horizon: dt.timedelta = HORIZON
) -> Slot | None:
    """The earliest start, from `after` (never before now), at which some
    suitable room can take the step; None when nothing is free within `horizon`."""
    length = dt.timedelta(minutes=default_duration(step))
    after = _on_grid(max(after or timezone.now(), timezone.now()))
    until = after + horizon
    patient_busy = _busy(_live_bookings(after, until + length, step).filter(patient_id=_patient_id(step)))
    slots = [_first_fit(room, after, until, length, step, patient_busy) for room in suitable_rooms(step)]
    found = [slot for slot in slots if slot is not None]
    return min(found, key=lambda s: (s.start, s.room.code)) if found else None


def _first_fit(
    room: Room,
    after: dt.datetime,
    until: dt.datetime,
    length: dt.timedelta,
    step: ScheduledProcedureStep,
    patient_busy: list[Interval],
) -> Slot | None:
    blocked = _busy(BlockedTime.objects.filter(room=room, start__lt=until + length, end__gt=after))
    booked = _busy(_live_bookings(after, until + length, step).filter(room=room))
    for open_start, open_end in room.open_intervals(after, until):
        first = _on_grid(max(open_start, after))
        ends = {_on_grid(end) for _, end in blocked + booked + patient_busy if first < end < open_end}
        for start in sorted({first} | ends):
            end = start + length
            if end > open_end or start >= until:
                break
            if _free(start, end, blocked, booked, patient_busy, room.capacity):
                return Slot(room=room, start=start, end=end)
    return None


def _free(
    start: dt.datetime,
    end: dt.datetime,
    blocked: list[Interval],
    booked: list[Interval],
    patient_busy: list[Interval],
    capacity: int,
) -> bool:
    if _overlaps(blocked, start, end) or _overlaps(patient_busy, start, end):
        return False
    at_once = [(max(s, start), min(e, end)) for s, e in booked if s < end and e > start]
    return most_at_once(at_once) < capacity


def _overlaps(intervals: list[Interval], start: dt.datetime, end: dt.datetime) -> bool:
    return any(s < end and e > start for s, e in intervals)


def _live_bookings(start: dt.datetime, end: dt.datetime, step: ScheduledProcedureStep) -> QuerySet[Appointment]:
    """Bookings that hold their slot (not of stopped steps), the step's own left out."""
    rows = Appointment.objects.filter(start__lt=end, end__gt=start).exclude(step__status__in=StepStatus.STOPPED)
    return rows.exclude(step=step)


def _busy(rows: QuerySet) -> list[Interval]:
    return list(rows.values_list("start", "end"))


def _patient_id(step: ScheduledProcedureStep) -> int:
    return step.requested_procedure.order.patient_id


def _on_grid(at: dt.datetime) -> dt.datetime:
    """Rounded up to the next five-minute mark."""
    at = at.replace(second=0, microsecond=0) + (
        dt.timedelta(minutes=1) if at.second or at.microsecond else dt.timedelta()
    )
    return at + dt.timedelta(minutes=-at.minute % 5)
