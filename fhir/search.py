"""FHIR search parameters to database queries (FHIR R4 search.html).

One table per resource type: parameter name to a function of one value that
returns a `Q`. Repeated parameters are ANDed, comma-separated values ORed.
Types: token (`system|value`, `|value`, `value`), reference (`Patient/1` or
`1`), date (prefixes eq, lt, le, gt, ge on a day, month, year or instant).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from urllib.parse import unquote
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Q

from fhir import builders
from ris.exceptions import InvalidInput
from ris.selectors.patients import name_matches
from ris.states import StepStatus

Param = Callable[[str], Q]
_DATE = re.compile(r"(eq|ne|lt|le|gt|ge)?(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?(T[0-9:.]+(?:Z|[+-]\d{2}:\d{2})?)?")


def split_token(value: str) -> tuple[str | None, str]:
    """(system or None when not given, code)."""
    if "|" not in value:
        return None, value
    system, _, code = value.partition("|")
    return system, code


def reference_id(value: str, kind: str) -> str:
    return value[len(kind) + 1 :] if value.startswith(f"{kind}/") else value


def date_range(value: str) -> tuple[str, dt.datetime, dt.datetime]:
    """(prefix, start, end) of a FHIR date value, in the site zone when it has none."""
    match = _DATE.fullmatch(value)
    if not match:
        raise InvalidInput(f"{value!r} is not a FHIR date", field="date")
    prefix, year, month, day, time = match.groups()
    if time:
        moment = dt.datetime.fromisoformat(f"{year}-{month}-{day}{time}".replace("Z", "+00:00"))
        moment = moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(settings.TIME_ZONE))
        return prefix or "eq", moment, moment + dt.timedelta(seconds=1)
    start = dt.datetime(int(year), int(month or 1), int(day or 1), tzinfo=ZoneInfo(settings.TIME_ZONE))
    end = _next(start, by="day" if day else "month" if month else "year")
    return prefix or "eq", start, end


def _next(start: dt.datetime, *, by: str) -> dt.datetime:
    if by == "day":
        return start + dt.timedelta(days=1)
    if by == "month":
        return start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
    return start.replace(year=start.year + 1)


def date_param(field: str) -> Param:
    def match(value: str) -> Q:
        prefix, start, end = date_range(value)
        return {
            "eq": Q(**{f"{field}__gte": start, f"{field}__lt": end}),
            "ne": ~Q(**{f"{field}__gte": start, f"{field}__lt": end}),
            "lt": Q(**{f"{field}__lt": start}),
            "le": Q(**{f"{field}__lt": end}),
            "gt": Q(**{f"{field}__gte": end}),
            "ge": Q(**{f"{field}__gte": start}),
        }[prefix]

    return match


def patient_param(field: str) -> Param:
    return lambda value: Q(**{f"{field}__pk": _int(reference_id(value, "Patient"))})


def _int(value: str) -> int:
    if not value.isdigit():
        raise InvalidInput(f"{value!r} is not a resource id here", field="id")
    return int(value)


def status_param(field: str, to_domain: dict[str, list[str]]) -> Param:
    return lambda value: Q(**{f"{field}__in": to_domain.get(value, [])})


def accession_param(order: str) -> Param:
    """identifier token against the order's accession, placer and filler numbers."""

    def match(value: str) -> Q:
        system, code = split_token(value)
        if system in (None, "", builders.accession_system()):
            found = Q(**{f"{order}accession_number": code})
        else:
            found = Q(pk__in=[])
        if system is None:
            found |= Q(**{f"{order}placer_number": code}) | Q(**{f"{order}filler_number": code})
        return found

    return match


def _inverse(mapping: dict[str, str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for domain, fhir_code in mapping.items():
        out.setdefault(fhir_code, []).append(domain)
    return out


def patient_identifier(value: str) -> Q:
    system, code = split_token(value)
    if system:
        return Q(patient_id=code, issuer__in=_issuers_for(system))
    return Q(patient_id=code)


def _issuers_for(system: str) -> list[str]:
    if system.startswith("urn:oid:"):
        return [system[8:]]
    if system.startswith("urn:ris:patient-id:"):
        return [unquote(system.removeprefix("urn:ris:patient-id:"))]
    return [system]


def study_identifier(value: str) -> Q:
    system, code = split_token(value)
    if system == builders.DICOM_UID or code.startswith("urn:oid:"):
        return Q(study_instance_uid=code.removeprefix("urn:oid:"))
    return accession_param("order__")(value)


def report_identifier(value: str) -> Q:
    system, code = split_token(value)
    if system == builders.URI or code.startswith("urn:uuid:"):
        return Q(uid=code.removeprefix("urn:uuid:")) if _is_uuid(code.removeprefix("urn:uuid:")) else Q(pk__in=[])
    return accession_param("order__")(value)


def _is_uuid(value: str) -> bool:
    return bool(re.fullmatch(r"[0-9a-fA-F-]{32,36}", value))


STUDY_STATUS: dict[str, list[str]] = {
    "available": [StepStatus.COMPLETED],
    "registered": [s for s in StepStatus if s != StepStatus.COMPLETED],
}

PARAMS: dict[str, dict[str, Param]] = {
    "Patient": {
        "identifier": patient_identifier,
        # FHIR string search is case- and accent-insensitive (R4 3.1.1.5.10): the search column.
        "name": lambda value: name_matches(value),
        "birthdate": date_param("birth_date"),
    },
    "ServiceRequest": {
        "patient": patient_param("patient"),
        "subject": patient_param("patient"),
        "identifier": accession_param(""),
        "status": status_param("status", _inverse(builders.ORDER_STATUS)),
        "authored": date_param("created_at"),
    },
    "ImagingStudy": {
        "patient": patient_param("order__patient"),
        "subject": patient_param("order__patient"),
        "identifier": study_identifier,
        "status": status_param("steps__status", STUDY_STATUS),
        "started": date_param("steps__start"),
    },
    "DiagnosticReport": {
        "patient": patient_param("order__patient"),
        "subject": patient_param("order__patient"),
        "identifier": report_identifier,
        "status": status_param("status", _inverse(builders.REPORT_STATUS)),
        "date": date_param("procedure__steps__start"),
        "issued": date_param("versions__signed_at"),
    },
}
COMMON = {"_count", "_offset", "_format", "_id"}


def search_filter(kind: str, params: dict[str, list[str]]) -> Q:
    """One Q for the query string: unknown parameters are refused, not ignored."""
    table = PARAMS[kind]
    found = Q()
    for name, values in params.items():
        if name in COMMON:
            continue
        if name not in table:
            raise InvalidInput(f"search parameter {name!r} is not supported for {kind}", field=name)
        for value in values:
            found &= _any_of(table[name], value)
    return found


def _any_of(param: Param, value: str) -> Q:
    found = Q(pk__in=[])
    for part in value.split(","):
        found |= param(part)
    return found
