"""DICOM attribute matching (PS3.4 C.2.2.2) as Django query conditions.

One function per matching type. Each returns a Q, or None for universal
matching (the key only asks for the value back). No condition ever matches
an empty stored value with a non-empty key (C.2.2.2.1, C.2.2.2.4).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Field, Lookup, Q


class InvalidKey(ValueError):
    """A key value that is not valid for its VR (answered with C-FIND failure)."""


# The longest wildcard pattern matched: a PN value of three component groups
# of 64 characters (PS3.5 Table 6.2-1); longer keys are refused before this.
MAX_PATTERN_LENGTH = 3 * 64 + 2


def is_universal(value: str) -> bool:
    """Zero length or only `*` (PS3.4 C.2.2.2.3: `*` alone is universal)."""
    return value.strip("*") == ""


def has_wildcards(value: str) -> bool:
    return "*" in value or "?" in value


def collapse_stars(value: str) -> str:
    """`**` matches what `*` matches: runs of `*` become one, so that no
    pattern carries more wildcards than its literal characters allow."""
    return re.sub(r"\*{2,}", "*", value)


def match_single(field: str, value: str, *, ignore_case: bool = False) -> Q:
    """Single value matching: exact, case-sensitive unless declared (C.2.2.2.1)."""
    return Q(**{f"{field}__iexact" if ignore_case else field: value})


def match_wildcard(field: str, value: str, *, ignore_case: bool = False) -> Q:
    """`*` any run of characters, `?` exactly one (C.2.2.2.4), as the
    database's own pattern operator (LIKE, GLOB): linear in the value, never
    a regular expression. A trailing `*` alone is a prefix, which an index serves."""
    value = collapse_stars(value)
    if len(value) > MAX_PATTERN_LENGTH:
        raise InvalidKey(f"a wildcard value of {len(value)} characters is longer than {MAX_PATTERN_LENGTH}")
    if value.endswith("*") and not has_wildcards(value[:-1]):
        return match_prefix(field, value[:-1], ignore_case=ignore_case)
    return Q(**{f"{field}__{_wildcard_lookup(ignore_case)}": value})


def match_prefix(field: str, prefix: str, *, ignore_case: bool = False) -> Q:
    """A prefix as LIKE 'prefix%' (GLOB 'prefix*' on SQLite, whose LIKE ignores case)."""
    if ignore_case:
        return Q(**{f"{field}__istartswith": prefix})
    return Q(**{f"{field}__{_wildcard_lookup(False)}": prefix + "*"})


def _wildcard_lookup(ignore_case: bool) -> str:
    return IWildcard.lookup_name if ignore_case else Wildcard.lookup_name


def like_pattern(value: str) -> str:
    """A DICOM wildcard value as a LIKE pattern with `\\` as its escape."""
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")


def glob_pattern(value: str) -> str:
    """A DICOM wildcard value as an SQLite GLOB pattern: `[` opens a class
    there, so it is written as the class `[[]`; `*` and `?` mean the same."""
    return value.replace("[", "[[]")


class Wildcard(Lookup):
    """`field__dicom_wildcard="D?E*"`: case-sensitive wildcard matching.

    PostgreSQL: LIKE, whose matcher gives up a `%` once the rest failed
    (linear, no backtracking). SQLite: GLOB (case-sensitive; its LIKE is
    not), whose matcher stops the same way."""

    lookup_name = "dicom_wildcard"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        if connection.vendor == "sqlite":
            return f"{lhs} GLOB %s", (*lhs_params, glob_pattern(self.rhs))
        lhs = connection.ops.lookup_cast("startswith", self.lhs.output_field.get_internal_type()) % lhs
        return f"{lhs} LIKE %s ESCAPE '\\'", (*lhs_params, like_pattern(self.rhs))


class IWildcard(Wildcard):
    """`field__dicom_iwildcard="d?e*"`: the same, ignoring case. PostgreSQL:
    `UPPER(field::text) LIKE UPPER(...)`, the form the name index serves (as
    Django's own istartswith); SQLite: LIKE, which folds ASCII letters only,
    as its iexact and istartswith do."""

    lookup_name = "dicom_iwildcard"

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        pattern = like_pattern(self.rhs)
        if connection.vendor == "sqlite":
            return f"{lhs} LIKE %s ESCAPE '\\'", (*lhs_params, pattern)
        lhs = connection.ops.lookup_cast("istartswith", self.lhs.output_field.get_internal_type()) % lhs
        return f"{lhs} LIKE UPPER(%s) ESCAPE '\\'", (*lhs_params, pattern)


class AnyOf(Lookup):
    """`field__dicom_any=[...]`: one of the values. PostgreSQL: `= ANY(%s)`
    with one array parameter, so that the SQL text (and its prepared
    statement) does not change with the number of values; elsewhere IN."""

    lookup_name = "dicom_any"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = [str(value) for value in self.rhs]
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s)", (*lhs_params, values)
        if not values:
            return "1 = 0", ()
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", (*lhs_params, *values)


Field.register_lookup(Wildcard)
Field.register_lookup(IWildcard)
Field.register_lookup(AnyOf)


def match_text(field: str, value: str, *, ignore_case: bool = False) -> Q | None:
    """Single value or wildcard, whichever the value is."""
    if is_universal(value):
        return None
    if has_wildcards(value):
        return match_wildcard(field, value, ignore_case=ignore_case)
    return match_single(field, value, ignore_case=ignore_case)


def match_person_name(fields: tuple[str, ...], value: str) -> Q | None:
    """PN (PS3.4 C.2.2.2.1, PS3.5 6.2.1): each component group of the key
    matches the column that stores that group; case-insensitive when
    RIS_MWL_NAME_IGNORE_CASE (declared in the conformance statement)."""
    ignore_case = settings.RIS_MWL_NAME_IGNORE_CASE
    if len(fields) == 1:
        return _match_whole_name(fields[0], value, ignore_case)
    condition = None
    for field, group in zip(fields, value.split("="), strict=False):
        q = match_text(field, group, ignore_case=ignore_case)
        if q is not None:
            condition = q if condition is None else condition & q
    return condition


def _match_whole_name(field: str, value: str, ignore_case: bool) -> Q | None:
    """A column holding the whole PN value: the key's alphabetic group matches
    its first group, whatever ideographic or phonetic groups follow."""
    alphabetic = collapse_stars(value.split("=")[0])
    if is_universal(alphabetic):
        return None
    if alphabetic.endswith("*") and not has_wildcards(alphabetic[:-1]):
        return match_wildcard(field, alphabetic, ignore_case=ignore_case)
    if not has_wildcards(alphabetic):
        exact = match_single(field, alphabetic, ignore_case=ignore_case)
        return exact | match_prefix(field, alphabetic + "=", ignore_case=ignore_case)
    # the alphabetic group alone, or followed by `=` and the other groups
    alone = match_wildcard(field, alphabetic, ignore_case=ignore_case)
    return alone | match_wildcard(field, alphabetic + "=*", ignore_case=ignore_case)


def match_uid_list(field: str, values: list[str]) -> Q | None:
    """List of UID matching (C.2.2.2.2): any of the UIDs."""
    uids = [v for v in values if v]
    if not uids:
        return None
    return Q(**{f"{field}__{AnyOf.lookup_name}": uids})


def match_date_and_time(field: str, date_value: str, time_value: str) -> Q | None:
    """SPS Start Date and Time against one aware `field`, in the site zone.

    Both ranges: one continuous period from the first date and time to the
    last (C.2.2.2.5.1). Otherwise each key matches on its own: the date on
    whole days, the time on the time of day of every day (C.2.2.2.5)."""
    if is_universal(date_value):
        return match_time_of_day(field, time_value)
    if not is_universal(time_value) and _is_range(date_value) and _is_range(time_value):
        return _period(field, _date_range(date_value), _time_range(time_value))
    if not is_universal(time_value) and not _is_range(date_value):
        # one day: the time key narrows it to a period of that day
        return _period(field, _date_range(date_value), _time_range(time_value))
    condition = _period(field, _date_range(date_value), (None, None))
    time_condition = match_time_of_day(field, time_value)
    return condition if time_condition is None else condition & time_condition


def match_time_of_day(field: str, time_value: str) -> Q | None:
    """A TM key alone (single value or range) on the time of day of `field`."""
    if is_universal(time_value):
        return None
    first, last = _time_range(time_value)
    conditions = Q()
    if first is not None:
        conditions &= Q(**{f"{field}__time__gte": first})
    if last is not None:
        conditions &= Q(**{f"{field}__time__lte": last})
    return conditions


def _period(field: str, days: tuple[dt.date | None, dt.date | None], times: tuple[dt.time | None, dt.time | None]) -> Q:
    (first_day, last_day), (first_time, last_time) = days, times
    conditions = Q()
    if first_day is not None:
        conditions &= Q(**{f"{field}__gte": _aware(first_day, first_time or dt.time.min)})
    if last_day is not None:
        conditions &= Q(**{f"{field}__lte": _aware(last_day, last_time or dt.time.max)})
    return conditions


def _is_range(value: str) -> bool:
    return "-" in value


def _date_range(value: str) -> tuple[dt.date | None, dt.date | None]:
    if not _is_range(value):
        day = _date(value)
        return day, day
    low, high = value.split("-", 1)
    return (_date(low) if low else None), (_date(high) if high else None)


def _time_range(value: str) -> tuple[dt.time | None, dt.time | None]:
    if not _is_range(value):
        return _time(value), _time(value, upper=True)
    low, high = value.split("-", 1)
    return (_time(low) if low else None), (_time(high, upper=True) if high else None)


def _date(value: str) -> dt.date:
    """YYYYMMDD, or the ACR-NEMA YYYY.MM.DD PS3.5 6.2 still allows to read."""
    text = value.strip().replace(".", "")
    try:
        if not re.fullmatch(r"\d{8}", text):
            raise ValueError(text)
        return dt.datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        raise InvalidKey(f"{value!r} is not a DICOM date (YYYYMMDD)") from None


def _time(value: str, *, upper: bool = False) -> dt.time:
    """A TM value; a partial time as an upper bound covers the whole of it
    (1200 as an upper bound means up to 12:00:59.999999)."""
    text = value.strip().replace(":", "")
    match = re.fullmatch(r"(\d{2})(\d{2})?(\d{2})?(?:\.(\d{1,6}))?", text)
    if not match:
        raise InvalidKey(f"{value!r} is not a DICOM time (HHMMSS)")
    try:
        return _time_of(*match.groups(), upper=upper)
    except ValueError:
        raise InvalidKey(f"{value!r} is not a valid time") from None


def _time_of(hour: str, minute: str | None, second: str | None, fraction: str | None, *, upper: bool) -> dt.time:
    missing = (59, 59, 999999) if upper else (0, 0, 0)
    return dt.time(
        int(hour),
        int(minute) if minute else missing[0],
        int(second) if second else missing[1],
        int(fraction.ljust(6, "0")) if fraction else missing[2],
    )


def _aware(day: dt.date, time: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, time).replace(tzinfo=ZoneInfo(settings.TIME_ZONE))


def aware_datetime(date_value: str, time_value: str) -> dt.datetime:
    """A DA and a TM value as one aware datetime in the site time zone."""
    return _aware(_date(date_value), _time(time_value))
