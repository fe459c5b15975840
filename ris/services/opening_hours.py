"""A room's week of opening hours, set in one step (the rooms page's grid).

Each day is closed, open 24 hours, or open from one time to another; a day
whose closing time is not after its opening time runs overnight into the
next day. One row per open day, as OpeningHours reads it: a period that
closes at or before it opens runs past midnight, 00:00-00:00 is 24 hours.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from django.db import transaction
from django.utils.translation import gettext

from ris.exceptions import InvalidInput
from ris.models import AuditEvent, OpeningHours, Room
from ris.records import Actor
from ris.services.audit import audit_record

MIDNIGHT = dt.time(0)


@dataclass(frozen=True)
class DayHours:
    weekday: int  # 0 Monday … 6 Sunday
    opens: dt.time | None = None  # None with closes None: closed
    closes: dt.time | None = None
    all_day: bool = False
    # Open from midnight until then, the end of the night before (shown, not set).
    carried_until: dt.time | None = None

    @property
    def is_open(self) -> bool:
        return self.all_day or self.opens is not None

    @property
    def overnight(self) -> bool:
        return not self.all_day and self.opens is not None and self.closes is not None and self.closes <= self.opens


def periods_of(day: DayHours) -> list[tuple[int, dt.time, dt.time]]:
    """The (weekday, opens, closes) row one day of the grid stands for."""
    if day.all_day:
        return [(day.weekday, MIDNIGHT, MIDNIGHT)]
    if day.opens is None:
        return []
    if day.closes is None:
        raise InvalidInput(gettext("an open day needs a closing time"), field=f"closes_{day.weekday}")
    return [(day.weekday, day.opens, day.closes)]


@transaction.atomic
def room_week_set(*, room: Room, week: list[DayHours], actor: Actor) -> list[OpeningHours]:
    """Replace the room's opening hours by the week's, with one audit event."""
    rows = sorted({period for day in week for period in periods_of(day)})
    OpeningHours.objects.filter(room=room).delete()
    saved = OpeningHours.objects.bulk_create(
        OpeningHours(room=room, weekday=weekday, opens=opens, closes=closes) for weekday, opens, closes in rows
    )
    detail = f"{room.code} week: " + "; ".join(f"{w} {o:%H:%M}-{c:%H:%M}" for w, o, c in rows)
    audit_record(actor=actor, action=AuditEvent.Action.CHANGE, obj=room, detail=detail[:200])
    return saved


def room_week(room: Room) -> list[DayHours]:
    """The grid of a room's week, read back from its rows (the first period of
    each day), with the morning a night before runs into."""
    first: dict[int, OpeningHours] = {}
    for row in room.opening_hours.order_by("weekday", "opens"):
        first.setdefault(row.weekday, row)
    week = [_day_of(weekday, first.get(weekday)) for weekday in range(7)]
    return [
        replace(day, carried_until=night.closes) if night.overnight and night.closes != MIDNIGHT else day
        for day, night in zip(week, week[-1:] + week[:-1], strict=True)
    ]


def _day_of(weekday: int, period: OpeningHours | None) -> DayHours:
    if period is None:
        return DayHours(weekday)
    if period.opens == period.closes:
        return DayHours(weekday, all_day=True)
    return DayHours(weekday, period.opens, period.closes)
