"""DICOM attribute matching (PS3.4 C.2.2.2) as Django query conditions.

One function per matching type. Each returns a Q, or None for universal
matching (the key only asks for the value back).
"""
from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Q


class InvalidKey(ValueError):
    """A key value that is not valid for its VR (answered with C-FIND failure)."""


def is_universal(value: str) -> bool:
    return value in ("", "*")


def has_wildcards(value: str) -> bool:
    return "*" in value or "?" in value


def match_single(field: str, value: str) -> Q:
    """Single value matching: exact and case-sensitive (C.2.2.2.1)."""
    return Q(**{field: value})


def match_wildcard(field: str, value: str, *, ignore_case: bool = False) -> Q:
    """`*` any run of characters, `?` one character (C.2.2.2.4)."""
    if value.endswith("*") and not has_wildcards(value[:-1]):
        lookup = "istartswith" if ignore_case else "startswith"
        return Q(**{f"{field}__{lookup}": value[:-1]})
    pattern = "^" + "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in value) + "$"
    return Q(**{f"{field}__{'iregex' if ignore_case else 'regex'}": pattern})


def match_text(field: str, value: str, *, ignore_case: bool = False) -> Q | None:
    """Single value or wildcard, whichever the value is."""
    if is_universal(value):
        return None
    if has_wildcards(value):
        return match_wildcard(field, value, ignore_case=ignore_case)
    if ignore_case:
        return Q(**{f"{field}__iexact": value})
    return match_single(field, value)


def match_person_name(field: str, value: str) -> Q | None:
    """PN: the alphabetic group; case-insensitive (declared in the conformance statement)."""
    alphabetic = value.split("=")[0]
    return match_text(field, alphabetic, ignore_case=settings.RIS_MWL_NAME_IGNORE_CASE)


def match_uid_list(field: str, values: list[str]) -> Q | None:
    """List of UID matching (C.2.2.2.2)."""
    uids = [v for v in values if v]
    if not uids:
        return None
    return Q(**{f"{field}__in": uids})


def match_datetime_range(field: str, date_value: str, time_value: str) -> Q | None:
    """SPS Start Date and Time (C.2.2.2.5): single values or ranges, combined
    into one continuous period when both are given, in the site time zone."""
    if is_universal(date_value):
        return _time_of_day(field, time_value)
    first_day, last_day = _date_range(date_value)
    first_time, last_time = _time_range(time_value) if not is_universal(time_value) else (None, None)
    conditions = Q()
    if first_day is not None:
        conditions &= Q(**{f"{field}__gte": _aware(first_day, first_time or dt.time.min)})
    if last_day is not None:
        conditions &= Q(**{f"{field}__lte": _aware(last_day, last_time or dt.time.max)})
    return conditions


def _time_of_day(field: str, time_value: str) -> Q | None:
    if is_universal(time_value):
        return None
    first, last = _time_range(time_value)
    conditions = Q()
    if first is not None:
        conditions &= Q(**{f"{field}__time__gte": first})
    if last is not None:
        conditions &= Q(**{f"{field}__time__lte": last})
    return conditions


def _date_range(value: str) -> tuple[dt.date | None, dt.date | None]:
    if "-" not in value:
        day = _date(value)
        return day, day
    low, high = value.split("-", 1)
    return (_date(low) if low else None), (_date(high) if high else None)


def _time_range(value: str) -> tuple[dt.time | None, dt.time | None]:
    if "-" not in value:
        return _time(value), _time(value, upper=True)
    low, high = value.split("-", 1)
    return (_time(low) if low else None), (_time(high, upper=True) if high else None)


def _date(value: str) -> dt.date:
    try:
        return dt.datetime.strptime(value.strip().replace(".", ""), "%Y%m%d").date()
    except ValueError:
        raise InvalidKey(f"{value!r} is not a DICOM date (YYYYMMDD)") from None


def _time(value: str, *, upper: bool = False) -> dt.time:
    """A TM value; a partial time as an upper bound covers the whole of it
    (1200 as an upper bound means up to 12:00:59.999999)."""
    text = value.strip().replace(":", "")
    match = re.fullmatch(r"(\d{2})(\d{2})?(\d{2})?(?:\.(\d{1,6}))?", text)
    if not match:
        raise InvalidKey(f"{value!r} is not a DICOM time (HHMMSS)")
    hour, minute, second, fraction = match.groups()
    try:
        if upper:
            return dt.time(
                int(hour), int(minute) if minute else 59, int(second) if second else 59,
                int(fraction.ljust(6, "0")) if fraction else 999999,
            )
        return dt.time(int(hour), int(minute or 0), int(second or 0), int((fraction or "0").ljust(6, "0")))
    except ValueError:
        raise InvalidKey(f"{value!r} is not a valid time") from None


def _aware(day: dt.date, time: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, time).replace(tzinfo=ZoneInfo(settings.TIME_ZONE))


def aware_datetime(date_value: str, time_value: str) -> dt.datetime:
    """A DA and a TM value as one aware datetime in the site time zone."""
    return _aware(_date(date_value), _time(time_value))
