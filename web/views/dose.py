"""The medical physicist's dose pages: alerts over the reference levels,
dose reports no exam was found for, the dose table as CSV and as FHIR
Observations; and the de-identified research export."""

from __future__ import annotations

import csv
import io
import json
import tempfile

from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import render

from fhir.dose import dose_bundle
from ris.actors import request_actor
from ris.models import IrradiationEvent
from ris.research import ExportOptions
from ris.selectors.dose import DoseRow, dose_alerts, dose_table, unmatched_dose_reports
from ris.services.dose import dose_table_export_record
from ris.services.research_export import ExportSelection, research_export
from web.access import audit_page, requires
from web.dose_forms import DoseFilter, ResearchExportForm
from worklist.deidentify import deidentify_dose_sr

CSV_COLUMNS = [
    "dose_report",
    "received",
    "performed",
    "kind",
    "patient_id",
    "accession",
    "study_instance_uid",
    "station",
    "total_dlp_mGy_cm",
    "total_dap_Gy_m2",
    "fluoro_time_s",
    "reference_point_dose_Gy",
    "events",
    "radiopharmaceutical",
    "administered_activity_MBq",
    "event_uid",
    "protocol",
    "target_region",
    "ctdivol_mGy",
    "dlp_mGy_cm",
    "phantom",
    "scanning_length_mm",
    "dap_Gy_m2",
    "event_reference_point_dose_Gy",
]


@requires("view_dose")
def dose_home(request: HttpRequest) -> HttpResponse:
    alerts = list(dose_alerts()[:200])
    unmatched = list(unmatched_dose_reports()[:200])
    audit_page(request, [a.report.procedure.order.patient for a in alerts if a.report.procedure], "dose alerts")
    context = {"alerts": alerts, "unmatched": unmatched, "form": DoseFilter(request.GET or None)}
    return render(request, "dose/home.html", context)


def _rows(request: HttpRequest) -> list[DoseRow]:
    form = DoseFilter(request.GET or None)
    return dose_table(**form.cleaned_data) if form.is_valid() else dose_table()


@requires("view_dose")
def dose_table_csv(request: HttpRequest) -> HttpResponse:
    rows = _rows(request)
    dose_table_export_record(actor=request_actor(request), reports=[r.report for r in rows], kind="CSV")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    writer.writerows(_csv_row(row) for row in rows)
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="dose.csv"'
    return response


def _csv_row(row: DoseRow) -> list[object]:
    r, e = row.report, row.event
    procedure = r.procedure
    return [
        r.pk,
        r.received_at.isoformat(),
        r.performed_at.isoformat() if r.performed_at else "",
        r.kind,
        procedure.order.patient.patient_id if procedure else r.patient_id,
        procedure.order.accession_number if procedure else r.accession_number,
        r.study_instance_uid,
        r.station_name,
        r.total_dlp,
        r.total_dap,
        r.fluoro_time,
        r.reference_point_dose,
        r.event_count,
        r.radiopharmaceutical,
        r.administered_activity,
        *(_event_cells(e) if e else [""] * 9),
    ]


def _event_cells(e: IrradiationEvent) -> list[object]:
    return [
        e.event_uid,
        e.protocol,
        e.target_region,
        e.ctdivol,
        e.dlp,
        e.phantom,
        e.scanning_length,
        e.dap,
        e.reference_point_dose,
    ]


@requires("view_dose")
def dose_table_fhir(request: HttpRequest) -> HttpResponse:
    rows = _rows(request)
    dose_table_export_record(actor=request_actor(request), reports=[r.report for r in rows], kind="FHIR")
    response = HttpResponse(json.dumps(dose_bundle(rows), indent=1), content_type="application/fhir+json")
    response["Content-Disposition"] = 'attachment; filename="dose-observations.json"'
    return response


@requires("export_research")
def research_export_page(request: HttpRequest) -> HttpResponse:
    form = ResearchExportForm(request.POST or None)
    if request.method != "POST" or not form.is_valid():
        return render(request, "dose/research_export.html", {"form": form}, status=400 if form.errors else 200)
    data = form.cleaned_data
    selection = ExportSelection(
        procedure_code=data["procedure_code"], modality=data["modality"], start=data["start"], end=data["end"]
    )
    options = ExportOptions(
        retain_dates_modified=data["retain_dates_modified"], clean_descriptors=data["clean_descriptors"]
    )
    out = tempfile.TemporaryFile()  # noqa: SIM115  # the response closes it
    summary = research_export(
        selection=selection, options=options, actor=request_actor(request), out=out, clean_dicom=deidentify_dose_sr
    )
    out.seek(0)
    return FileResponse(  # type: ignore[return-value]  # a streaming HttpResponseBase, as Django serves it
        out, as_attachment=True, filename=f"research-{summary.export_id}.zip", content_type="application/zip"
    )
