"""Reads about patients: search by name (case- and accent-insensitive, over
every name group, through `Patient.search_name`), the matches manual entry
offers, and what the patient page lists."""

import datetime as dt

from django.db.models import Q, QuerySet

from ris.models import ImagingOrder, Patient, PatientMerge, Report
from ris.names import search_words


def name_matches(text: str, prefix: str = "") -> Q:
    """Every word typed appears in the patient's search column ('Müller',
    'MULLER', 'muller' are one search; 'jose' finds José; 山田 finds 山田)."""
    words = search_words(text)
    if not words:
        return Q(**{f"{prefix}pk__in": []})  # nothing searchable typed: nothing matches
    query = Q()
    for word in words:
        query &= Q(**{f"{prefix}search_name__contains": word})
    return query


def patient_search(
    *,
    mrn: str = "",
    name: str = "",
    birth_date: dt.date | None = None,
    accession: str = "",
    with_merged: bool = True,
) -> QuerySet[Patient]:
    rows = Patient.objects.all() if with_merged else Patient.objects.filter(merged_into__isnull=True)
    if mrn:
        rows = rows.filter(patient_id__in=_typed_ids(mrn))
    if name:
        rows = rows.filter(name_matches(name))
    if birth_date:
        rows = rows.filter(birth_date=birth_date)
    if accession:
        rows = rows.filter(orders__accession_number__iexact=accession.strip())
    return rows.distinct().order_by("search_name", "pk")[:200]


def patient_candidates(
    *, patient_id: str = "", issuer: str = "", name: str = "", birth_date: dt.date | None = None
) -> list[Patient]:
    """Who a person entering an order may mean: the same identifier under any
    issuer (the exact one first), and the same name born the same day."""
    open_rows = Patient.objects.filter(merged_into__isnull=True).order_by("search_name", "pk")
    rows = list(open_rows.filter(patient_id__in=_typed_ids(patient_id))[:20]) if patient_id else []
    if name and birth_date and search_words(name):  # two indexed reads rather than one OR that scans
        rows += [row for row in open_rows.filter(name_matches(name), birth_date=birth_date)[:20] if row not in rows]
    exact = [row for row in rows if (row.patient_id, row.issuer) == (patient_id.strip(), issuer.strip())]
    return exact + [row for row in rows if row not in exact]


def _typed_ids(typed: str) -> set[str]:
    """An identifier as typed and in capitals: equality on the (patient_id,
    issuer) index, where a case-insensitive match would scan."""
    return {typed.strip(), typed.strip().upper()}


def patient_orders(patient: Patient) -> QuerySet[ImagingOrder]:
    return patient.orders.prefetch_related("procedures__steps__appointment__room").order_by("-created_at")


def patient_reports(patient: Patient) -> QuerySet[Report]:
    """The patient's reports, newest first, with their order and procedure."""
    return (
        Report.objects.filter(order__patient=patient)
        .select_related("order", "procedure")
        .prefetch_related("versions")
        .order_by("-updated_at")
    )


def patient_merges(patient: Patient) -> QuerySet[PatientMerge]:
    """The merges into this patient that stand (not undone), latest first: what may be undone."""
    return PatientMerge.objects.filter(survivor=patient, undone_at__isnull=True).select_related("merged")


def merged_patients(patient: Patient) -> QuerySet[Patient]:
    """The records merged into this patient (their identifiers stay known)."""
    return Patient.objects.filter(merged_into=patient).order_by("patient_id")
