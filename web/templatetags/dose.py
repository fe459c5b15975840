"""The dose of an exam, for the pages that show one (the patient's exams,
the reading screen): `{% load dose %}{% dose_summary procedure %}`."""

from __future__ import annotations

from typing import Any

from django import template

from ris.models import DoseReport, Patient, RequestedProcedure
from ris.selectors.dose import doses_of

register = template.Library()


@register.inclusion_tag("dose/_summary.html")
def dose_summary(procedure: RequestedProcedure) -> dict[str, Any]:
    return {"reports": list(doses_of(procedure))}


@register.inclusion_tag("dose/_patient.html")
def patient_doses(patient: Patient) -> dict[str, Any]:
    reports = (
        DoseReport.objects.filter(procedure__order__patient=patient)
        .select_related("procedure__order")
        .prefetch_related("events", "alerts")
        .order_by("received_at")
    )
    return {"reports": list(reports)}


@register.filter
def per_cm2(gy_m2: float | None) -> str:
    """A DAP in Gy.m2 as people read it: Gy·cm²."""
    return "—" if gy_m2 is None else f"{gy_m2 * 1e4:.2f}"


@register.filter
def milli(gy: float | None) -> str:
    return "—" if gy is None else f"{gy * 1e3:.1f}"
