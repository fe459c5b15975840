"""HL7 data types read into domain values: DTM, DT, XPN/XCN to DICOM PN.

The writing direction is hl7/writer.py.

HL7 times without an offset are in the site's time zone (RIS_TIME_ZONE);
they become aware datetimes here, at the edge.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from django.utils import timezone

from hl7.er7 import Segment
from hl7.errors import DATA_TYPE_ERROR, HL7Error, Location
from ris.names import NameGroup
from ris.records import CLEAR

_DTM = re.compile(r"(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.\d{1,4})?([+-]\d{4})?")


def site_zone() -> ZoneInfo:
    """The site's zone (settings.TIME_ZONE), as Django keeps it: looked up
    once, and again when the setting changes."""
    return timezone.get_default_timezone()


def parse_dtm(value: str, where: Location) -> dt.datetime | None:
    """HL7 DTM YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ] to an aware datetime."""
    if not value or value == CLEAR:
        return None
    match = _DTM.fullmatch(value.strip())
    if not match:
        raise HL7Error(DATA_TYPE_ERROR, f"{_place(where)} is not an HL7 date/time (DTM)", where)
    year, month, day, hour, minute, second, offset = match.groups()
    try:
        naive = dt.datetime(
            int(year), int(month or 1), int(day or 1), int(hour or 0), int(minute or 0), int(second or 0)
        )
    except ValueError:
        raise HL7Error(DATA_TYPE_ERROR, f"{_place(where)} is not a valid date/time", where) from None
    zone = _offset_zone(offset) if offset else site_zone()
    return naive.replace(tzinfo=zone)


def parse_date(value: str, where: Location) -> dt.date | str | None:
    """HL7 DT (or the date part of a DTM, as birth dates often come)."""
    if not value:
        return None
    if value == CLEAR:
        return CLEAR
    text = value.strip()[:8]
    try:
        if len(text) == 8 and text.isascii() and text.isdigit():
            # What strptime reads from eight digits, without its locale lock.
            return dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
        return dt.datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        raise HL7Error(DATA_TYPE_ERROR, f"{_place(where)} is not an HL7 date (DT)", where) from None


def _offset_zone(offset: str) -> dt.timezone:
    sign = -1 if offset[0] == "-" else 1
    return dt.timezone(sign * dt.timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5])))


def _pn(family: str, given: str, middle: str, prefix: str, suffix: str) -> str:
    """One PN component group (ris/names.py), or CLEAR for a name sent as `""`."""
    if family == CLEAR and given == CLEAR:  # the whole field sent as "" (erase)
        return CLEAR
    parts = [p if p != CLEAR else "" for p in (family, given, middle, prefix, suffix)]
    return NameGroup(*parts).to_dicom()


def xpn_to_pn(segment: Segment, number: int, repetition: int = 0) -> str:
    """XPN family^given^middle^suffix^prefix to PN family^given^middle^prefix^suffix.

    One repetition is one PN group; which group it is (XPN-8 name
    representation code) the caller decides (hl7/read_orm.py)."""
    components = [segment.get(number, c, repetition=repetition) for c in range(1, 6)]
    family, given, middle, suffix, prefix = components
    return _pn(family, given, middle, prefix, suffix)


def xcn_to_pn(segment: Segment, number: int, repetition: int = 0) -> str:
    """XCN id^family^given^middle^suffix^prefix to PN (the ID is dropped)."""
    components = [segment.get(number, c, repetition=repetition) for c in range(2, 7)]
    family, given, middle, suffix, prefix = components
    return _pn(family, given, middle, prefix, suffix)


def text(value: str) -> str:
    """A plain value, with HL7 `""` read as empty (for new records)."""
    return "" if value == CLEAR else value


def identifier(value: str, size: int, where: Location) -> str:
    """An identifier that becomes a DICOM SH/UI value: refused, not cut, when too long."""
    if value != CLEAR and len(value) > size:
        raise HL7Error(DATA_TYPE_ERROR, f"{_place(where)} is longer than {size} characters", where)
    return value


def _place(where: Location) -> str:
    """'PID-7', 'OBR-27.4': where a value is, named without the value (reasons are logged)."""
    return f"{where.segment}-{where.field}" + (f".{where.component}" if where.component else "")
