"""`{{ span|duration_hm }}`: a timedelta as people read it ("2 h 05 min", "3 d 4 h")."""

from __future__ import annotations

import datetime as dt

from django import template

register = template.Library()


@register.filter
def duration_hm(value: dt.timedelta | None) -> str:
    if value is None:
        return ""
    if value < dt.timedelta(0):  # e.g. an exam performed before its order arrived (unscheduled, then linked)
        return f"−{duration_hm(-value)}"
    minutes = int(value.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"
