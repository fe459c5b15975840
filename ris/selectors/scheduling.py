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
from ris.services.appointments import DEFAULT_DURATION_MINUTES
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
    return SlotFinder(after=after, horizon=horizon).next_free_slot(step)


class SlotFinder:
    """Reads the rooms, their hours, blocked time and bookings of the horizon
    once, then finds the next free slot of many steps (a page of the list to book)."""

    def __init__(self, *, after: dt.datetime | None = None, horizon: dt.timedelta = HORIZON):
        self.after = _on_grid(max(after or timezone.now(), timezone.now()))
        self.until = self.after + horizon
        reach = self.until + dt.timedelta(days=1)  # a booking may start before `until` and last up to a day
        self.rooms = list(Room.objects.filter(is_active=True).prefetch_related("opening_hours").order_by("code"))
        self.blocked = list(
            BlockedTime.objects.filter(start__lt=reach, end__gt=self.after).values_list("room_id", "start", "end")
        )
        self.booked = list(
            Appointment.objects.filter(start__lt=reach, end__gt=self.after)
            .exclude(step__status__in=StepStatus.STOPPED)
            .values_list("step_id", "patient_id", "room_id", "start", "end")
        )
        self._open: dict[int, list[Interval]] = {}
        self._catalogue: dict[tuple[str, str], tuple[int | None, set[int]]] = {}

    def next_free_slot(self, step: ScheduledProcedureStep) -> Slot | None:
        minutes, only = self._catalogue_for(step)
        length = dt.timedelta(minutes=minutes or step.expected_duration_minutes or DEFAULT_DURATION_MINUTES)
        patient = _patient_id(step)
        others = [b for b in self.booked if b[0] != step.pk]
        patient_busy = [(s, e) for _, p, _, s, e in others if p == patient]
        found = []
        for room in [r for r in self.rooms if r.modality == step.modality and (not only or r.pk in only)]:
            blocked = [(s, e) for r, s, e in self.blocked if r == room.pk]
            booked = [(s, e) for _, _, r, s, e in others if r == room.pk]
            slot = self._first_fit(room, length, blocked, booked, patient_busy)
            if slot is not None:
                found.append(slot)
        return min(found, key=lambda s: (s.start, s.room.code)) if found else None

    def _catalogue_for(self, step: ScheduledProcedureStep) -> tuple[int | None, set[int]]:
        """The catalogue's duration and rooms for the step's code (as `default_duration` reads them), once per code."""
        procedure = step.requested_procedure
        key = (procedure.code_value, procedure.code_scheme)
        if key not in self._catalogue:
            entry = catalogue_entry(step)
            rooms = set(entry.rooms.values_list("pk", flat=True)) if entry is not None else set()
            self._catalogue[key] = (entry.default_duration_minutes if entry else None, rooms)
        return self._catalogue[key]

    def _open_intervals(self, room: Room) -> list[Interval]:
        if room.pk not in self._open:
            self._open[room.pk] = room.open_intervals(self.after, self.until)
        return self._open[room.pk]

    def _first_fit(
        self,
        room: Room,
        length: dt.timedelta,
        blocked: list[Interval],
        booked: list[Interval],
        patient_busy: list[Interval],
    ) -> Slot | None:
        for open_start, open_end in self._open_intervals(room):
            first = _on_grid(max(open_start, self.after))
            ends = {_on_grid(end) for _, end in blocked + booked + patient_busy if first < end < open_end}
            for start in sorted({first} | ends):
                end = start + length
                if end > open_end or start >= self.until:
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


def _patient_id(step: ScheduledProcedureStep) -> int:
    return step.requested_procedure.order.patient_id


def _on_grid(at: dt.datetime) -> dt.datetime:
    """Rounded up to the next five-minute mark, in UTC (so that adding a duration is exact)."""
    at = at.astimezone(dt.UTC)
    at = at.replace(second=0, microsecond=0) + (
        dt.timedelta(minutes=1) if at.second or at.microsecond else dt.timedelta()
    )
    return at + dt.timedelta(minutes=-at.minute % 5)
