"""A room's week of opening hours, set in one step (the rooms page's grid).

Each day is closed, open 24 hours, or open from one time to another; a day
whose closing time is not after its opening time runs overnight into the
next day. Rows keep `opens < closes` within one day: "until midnight" is
stored as 23:59:59 and an overnight period as two rows (the evening, and
the next morning from 00:00).
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, replace

from django.db import transaction

from ris.exceptions import InvalidInput
from ris.models import AuditEvent, OpeningHours, Room
from ris.records import Actor
from ris.services.audit import audit_record

MIDNIGHT = dt.time(0)
DAY_END = dt.time(23, 59, 59)


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
    """The (weekday, opens, closes) rows one day of the grid stands for."""
    if day.all_day:
        return [(day.weekday, MIDNIGHT, DAY_END)]
    if day.opens is None:
        return []
    if day.closes is None:
        raise InvalidInput("an open day needs a closing time", field=f"closes_{day.weekday}")
    if not day.overnight:
        return [(day.weekday, day.opens, day.closes)]
    morning = [((day.weekday + 1) % 7, MIDNIGHT, day.closes)] if day.closes > MIDNIGHT else []
    return [(day.weekday, day.opens, DAY_END), *morning]


@transaction.atomic
def room_week_set(*, room: Room, week: list[DayHours], actor: Actor) -> list[OpeningHours]:
    """Replace the room's opening hours by the week's, with one audit event."""
    rows = sorted({period for day in week for period in periods_of(day)})
    _refuse_overlaps(rows)
    OpeningHours.objects.filter(room=room).delete()
    saved = OpeningHours.objects.bulk_create(
        OpeningHours(room=room, weekday=weekday, opens=opens, closes=closes) for weekday, opens, closes in rows
    )
    detail = f"{room.code} week: " + "; ".join(f"{w} {o:%H:%M}-{c:%H:%M}" for w, o, c in rows)
    audit_record(actor=actor, action=AuditEvent.Action.CHANGE, obj=room, detail=detail[:200])
    return saved


def _refuse_overlaps(rows: list[tuple[int, dt.time, dt.time]]) -> None:
    for (day, _, closes), (next_day, opens, _) in itertools.pairwise(rows):
        if day == next_day and opens < closes:
            raise InvalidInput("the night before runs into this day's opening hours", field=f"opens_{day}")


def room_week(room: Room) -> list[DayHours]:
    """The grid of a room's week, read back from its rows (the first period of
    each day; an evening until midnight followed by a morning from 00:00 is
    one overnight period)."""
    by_day: dict[int, list[OpeningHours]] = {d: [] for d in range(7)}
    for row in room.opening_hours.order_by("weekday", "opens"):
        by_day[row.weekday].append(row)
    week = []
    for weekday in range(7):
        carried = [p for p in by_day[weekday] if _is_carried_morning(p, by_day)]
        periods = [p for p in by_day[weekday] if p not in carried]
        day = _day_of(weekday, periods[0], by_day) if periods else DayHours(weekday)
        week.append(replace(day, carried_until=carried[0].closes) if carried else day)
    return week


def _is_carried_morning(period: OpeningHours, by_day: dict[int, list[OpeningHours]]) -> bool:
    if period.opens != MIDNIGHT or period.closes == DAY_END:
        return False
    evening = by_day[(period.weekday - 1) % 7]
    return any(p.closes == DAY_END and p.opens != MIDNIGHT for p in evening)


def _day_of(weekday: int, period: OpeningHours, by_day: dict[int, list[OpeningHours]]) -> DayHours:
    if period.opens == MIDNIGHT and period.closes == DAY_END:
        return DayHours(weekday, all_day=True)
    if period.closes == DAY_END:
        morning = [p for p in by_day[(weekday + 1) % 7] if p.opens == MIDNIGHT and p.closes != DAY_END]
        return DayHours(weekday, period.opens, morning[0].closes if morning else MIDNIGHT)
    return DayHours(weekday, period.opens, period.closes)
