"""Reads of dose reports: an exam's dose, the sentence for its report, the
unmatched reports, the alerts and the medical physicist's dose table."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from ris.models import DoseAlert, DoseReport, IrradiationEvent, RequestedProcedure


def doses_of(procedure: RequestedProcedure) -> QuerySet[DoseReport]:
    return DoseReport.objects.filter(procedure=procedure).prefetch_related("events", "alerts").order_by("received_at")


def unmatched_dose_reports() -> QuerySet[DoseReport]:
    """Dose reports no exam was linked to, newest first."""
    return DoseReport.objects.filter(procedure=None).order_by("-received_at")


def dose_alerts() -> QuerySet[DoseAlert]:
    return DoseAlert.objects.select_related("report__procedure__order__patient", "reference_level__procedure")


def _number(value: float, digits: int = 1) -> str:
    return f"{value:.{digits}f}"


def dose_sentence(procedure: RequestedProcedure) -> str:
    """One line per dose report of the exam, for the report's text."""
    lines = []
    for report in doses_of(procedure):
        events = list(report.events.all())
        if report.kind == DoseReport.Kind.CT:
            ctdi = [e.ctdivol for e in events if e.ctdivol is not None]
            parts = [_("CTDIvol %(value)s mGy") % {"value": _number(max(ctdi))}] if ctdi else []
            if report.total_dlp is not None:
                parts.append(_("DLP %(value)s mGy·cm") % {"value": _number(report.total_dlp)})
            if parts:
                lines.append(_("CT dose: %(parts)s.") % {"parts": ", ".join(parts)})
        elif report.kind == DoseReport.Kind.PROJECTION:
            parts = []
            if report.total_dap is not None:
                parts.append(_("DAP %(value)s Gy·cm²") % {"value": _number(report.total_dap * 1e4, 2)})
            if report.fluoro_time is not None:
                parts.append(_("fluoroscopy time %(value)s s") % {"value": _number(report.fluoro_time)})
            if report.reference_point_dose is not None:
                parts.append(
                    _("reference point dose %(value)s mGy") % {"value": _number(report.reference_point_dose * 1e3)}
                )
            if parts:
                lines.append(_("X-ray dose: %(parts)s.") % {"parts": ", ".join(parts)})
        elif report.administered_activity is not None:
            lines.append(
                _("Administered activity: %(value)s MBq %(agent)s.")
                % {"value": _number(report.administered_activity), "agent": report.radiopharmaceutical}
            )
    return "\n".join(lines)


@dataclass(frozen=True)
class DoseRow:
    """One line of the physicist's dose table: an irradiation event, or a report without any."""

    report: DoseReport
    event: IrradiationEvent | None


def dose_table(*, start: dt.date | None = None, end: dt.date | None = None, kind: str = "") -> list[DoseRow]:
    reports = DoseReport.objects.select_related("procedure__order__patient").prefetch_related("events")
    if start:
        reports = reports.filter(received_at__date__gte=start)
    if end:
        reports = reports.filter(received_at__date__lte=end)
    if kind:
        reports = reports.filter(kind=kind)
    rows: list[DoseRow] = []
    for report in reports.order_by("received_at", "pk"):
        events: list[IrradiationEvent | None] = list(report.events.all()) or [None]
        rows.extend(DoseRow(report, e) for e in events)
    return rows
