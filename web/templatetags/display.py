"""How pages show times, dates and long text, one way everywhere:

- `{{ value|when }}`: an aware datetime in the site zone, `RIS_DATETIME_FORMAT`
  ("2026-12-01 21:36", 24-hour by default); a date gets `RIS_DATE_FORMAT`.
- `{{ value|day }}`: a date (or a datetime's site-local day), `RIS_DATE_FORMAT`.
- `{{ value|clock }}`: a time (or a datetime's site-local time), `RIS_TIME_FORMAT`.
- `{{ order.placer_system|source }}`: where an order came from, as people say
  it: "EHR · HOSP" for the HL7 sending application and facility, "manual entry".
- `{{ value|clip:40 }}`: text cut to 40 characters with an ellipsis, the whole
  text on hover (a `title` attribute); short text as it is.

The formats are Django's date format characters, read from the settings
(README "Configuration"); month and day names follow the site's language.
They are builtins (config/settings.py TEMPLATES), so no `{% load %}` is needed.
"""

from __future__ import annotations

import datetime as dt

from django import template
from django.conf import settings
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import format_html

register = template.Library()


@register.filter
def when(value: dt.datetime | dt.date | None) -> str:
    if not value:
        return ""
    if not isinstance(value, dt.datetime):
        return day(value)
    return date_format(_local(value), settings.RIS_DATETIME_FORMAT)


@register.filter
def day(value: dt.datetime | dt.date | None) -> str:
    if not value:
        return ""
    return date_format(_local(value) if isinstance(value, dt.datetime) else value, settings.RIS_DATE_FORMAT)


@register.filter
def clock(value: dt.datetime | dt.time | None) -> str:
    if value is None or value == "":
        return ""
    return date_format(_local(value) if isinstance(value, dt.datetime) else value, settings.RIS_TIME_FORMAT)


@register.filter
def clip(value: object, length: int = 40) -> str:
    text = "" if value is None else str(value)
    if len(text) <= int(length):
        return text
    return format_html('<span title="{}">{}…</span>', text, text[: max(int(length) - 1, 1)].rstrip())


@register.filter
def source(value: str | None) -> str:
    if not value:
        return ""
    if value == "UI":  # what manual order entry places (web/forms.py OrderForm)
        return "manual entry"
    return " · ".join(part for part in str(value).split("|") if part)


def _local(value: dt.datetime) -> dt.datetime:
    return timezone.localtime(value) if timezone.is_aware(value) else value
