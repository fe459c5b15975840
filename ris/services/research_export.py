"""The de-identified research export (PS3.15 Annex E): a selection of
exams (procedure, modality, date range) with their orders, reports and dose
records as CSV, the dose SRs as DICOM, in one zip, and one audit event per
patient exported and one for the export.

The tables are made here from the domain's rows; the DICOM objects are
cleaned by the DICOM door's function handed in (`clean_dicom`), with the
same patient's key, so that pseudonyms, UIDs and shifted dates agree
between the CSV and the DICOM files."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import logging
import uuid
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db.models import Min, Prefetch, QuerySet
from django.utils import timezone

from ris.models import AuditEvent, DoseReport, IrradiationEvent, Patient, Report, ReportVersion, RequestedProcedure
from ris.records import Actor
from ris.research import ExportOptions, Keys, PatientKey
from ris.services.audit import audit_record

log = logging.getLogger(__name__)

# (source Part 10 bytes, the patient's key) -> (new SOP Instance UID, cleaned Part 10 bytes)
DicomCleaner = Callable[[bytes, PatientKey], tuple[str, bytes]]


@dataclass(frozen=True)
class ExportSelection:
    procedure_code: str = ""
    modality: str = ""
    start: dt.date | None = None
    end: dt.date | None = None

    def describe(self) -> str:
        parts = [
            f"procedure {self.procedure_code}" if self.procedure_code else "",
            f"modality {self.modality}" if self.modality else "",
            f"from {self.start}" if self.start else "",
            f"until {self.end}" if self.end else "",
        ]
        return ", ".join(p for p in parts if p) or "every exam"


@dataclass
class ExportSummary:
    export_id: str
    patients: int = 0
    exams: int = 0
    reports: int = 0
    dose_reports: int = 0
    dicom_files: int = 0
    skipped_files: list[str] = field(default_factory=list)


def site_keys() -> Keys:
    secret = settings.RIS_RESEARCH_SECRET or hashlib.sha256(f"research\x00{settings.SECRET_KEY}".encode()).hexdigest()
    return Keys(secret)


def selected_procedures(selection: ExportSelection) -> QuerySet[RequestedProcedure]:
    procedures = RequestedProcedure.objects.annotate(first_start=Min("steps__start"))
    if selection.procedure_code:
        procedures = procedures.filter(code_value=selection.procedure_code)
    if selection.modality:
        procedures = procedures.filter(steps__modality=selection.modality)
    if selection.start:
        procedures = procedures.filter(first_start__date__gte=selection.start)
    if selection.end:
        procedures = procedures.filter(first_start__date__lte=selection.end)
    versions = Prefetch("report__versions", queryset=ReportVersion.objects.order_by("number"))
    return (
        procedures.distinct()
        .select_related("order__patient", "report")
        .prefetch_related("steps", versions, "dose_reports__events")
        .order_by("order__patient_id", "first_start", "pk")
    )


def research_export(
    *,
    selection: ExportSelection,
    options: ExportOptions,
    actor: Actor,
    out: IO[bytes],
    clean_dicom: DicomCleaner | None = None,
) -> ExportSummary:
    """Write the zip to `out`; audited, per patient and as a whole."""
    summary = ExportSummary(export_id=uuid.uuid4().hex[:12])
    keys = site_keys()
    procedures = list(selected_procedures(selection))
    patient_keys = {p.pk: patient_key(p, keys, options) for p in {x.order.patient for x in procedures}}
    firsts: dict[int, dt.datetime] = {}
    for procedure in procedures:
        start = getattr(procedure, "first_start", None)
        patient = procedure.order.patient_id
        if start is not None and (patient not in firsts or start < firsts[patient]):
            firsts[patient] = start
    tables = _Tables(patient_keys, firsts, keys, options)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for procedure in procedures:
            tables.add(procedure, summary)
            if clean_dicom is not None:
                _add_dicom(archive, procedure, patient_keys[procedure.order.patient_id], clean_dicom, summary)
        for name, rows in tables.files().items():
            archive.writestr(name, _csv(rows))
        archive.writestr("manifest.json", json.dumps(_manifest(selection, options, summary), indent=2))
    summary.patients, summary.exams = len(patient_keys), len(procedures)
    _audit(actor, selection, options, summary, {p.order.patient for p in procedures})
    return summary


def patient_key(patient: Patient, keys: Keys, options: ExportOptions) -> PatientKey:
    """The patient's pseudonym and shift, and everything known of them to scrub from text."""
    key = PatientKey(
        pseudonym=keys.patient(patient.issuer, patient.patient_id),
        shift=dt.timedelta(days=keys.shift_days(patient.issuer, patient.patient_id)),
        options=options,
        keys=keys,
    )
    key.know(patient.name, patient.name_ideographic, patient.name_phonetic, patient.patient_id)
    if patient.birth_date:
        key.dates.add(patient.birth_date)
    for order in patient.orders.prefetch_related("procedures__steps", "reports__versions__author"):
        key.know(order.accession_number or "", order.placer_number, order.filler_number, order.admission_id)
        key.know(order.ordering_physician, order.referring_physician)
        for procedure in order.procedures.all():
            key.dates.update(timezone.localtime(s.start).date() for s in procedure.steps.all())
        for report in order.reports.all():
            for version in report.versions.all():
                for person in (version.author, version.signer):
                    if person is not None:
                        key.know(person.first_name, person.last_name, person.get_username())
    for dose in DoseReport.objects.filter(procedure__order__patient=patient):
        key.know(dose.patient_name, dose.patient_id, dose.accession_number)
    return key


class _Tables:
    def __init__(
        self, patients: dict[int, PatientKey], firsts: dict[int, dt.datetime], keys: Keys, options: ExportOptions
    ):
        self.patients, self.firsts, self.keys, self.options = patients, firsts, keys, options
        self.orders: list[dict[str, Any]] = []
        self.reports: list[dict[str, Any]] = []
        self.doses: list[dict[str, Any]] = []

    def _days(self, procedure: RequestedProcedure, moment: dt.datetime | None) -> int | str:
        first = self.firsts.get(procedure.order.patient_id)
        return (moment - first).days if moment and first else ""

    def add(self, procedure: RequestedProcedure, summary: ExportSummary) -> None:
        order, key = procedure.order, self.patients[procedure.order.patient_id]
        start = getattr(procedure, "first_start", None)
        common = {"patient": key.pseudonym, "accession": self.keys.accession(order.accession_number or "")}
        descriptors = self.options.clean_descriptors
        self.orders.append(
            {
                **common,
                "study_uid": self.keys.uid(procedure.study_instance_uid),
                "procedure_code": procedure.code_value,
                "procedure_meaning": key.scrub(procedure.code_meaning),
                "description": key.scrub(procedure.description) if descriptors else "",
                "reason": key.scrub(order.reason) if descriptors else "",
                "modality": ",".join(sorted({s.modality for s in procedure.steps.all()})),
                "priority": order.priority,
                "status": order.status,
                "started": _iso(key.moment(start)),
                "days_from_first_exam": self._days(procedure, start),
            }
        )
        report = _report(procedure)
        for version in report.versions.all() if report else []:
            summary.reports += 1
            self.reports.append(
                {
                    **common,
                    "version": version.number,
                    "status": version.status,
                    "signed": _iso(key.moment(version.signed_at)),
                    "days_from_first_exam": self._days(procedure, version.signed_at),
                    "findings": key.scrub(version.findings),
                    "impression": key.scrub(version.impression),
                    "addenda": key.scrub(version.addenda),
                }
            )
        for dose in procedure.dose_reports.all():
            summary.dose_reports += 1
            self._dose(dose, common, key, procedure)

    def _dose(self, dose: DoseReport, common: dict[str, Any], key: PatientKey, procedure: RequestedProcedure) -> None:
        report_row = {
            **common,
            "dose_report_uid": self.keys.uid(dose.sop_instance_uid),
            "kind": dose.kind,
            "performed": _iso(key.moment(dose.performed_at)),
            "days_from_first_exam": self._days(procedure, dose.performed_at),
            "total_dlp_mGy_cm": dose.total_dlp,
            "total_dap_Gy_m2": dose.total_dap,
            "fluoro_time_s": dose.fluoro_time,
            "reference_point_dose_Gy": dose.reference_point_dose,
            "radiopharmaceutical": dose.radiopharmaceutical,
            "administered_activity_MBq": dose.administered_activity,
        }
        events: list[IrradiationEvent | None] = list(dose.events.all()) or [None]
        for number, event in enumerate(events, start=1):
            row = {**report_row, "event": number if event else ""}
            if event is not None:
                row.update(
                    protocol=key.scrub(event.protocol),
                    target_region=event.target_region,
                    ctdivol_mGy=event.ctdivol,
                    dlp_mGy_cm=event.dlp,
                    phantom=event.phantom,
                    scanning_length_mm=event.scanning_length,
                    dap_Gy_m2=event.dap,
                    event_reference_point_dose_Gy=event.reference_point_dose,
                )
            self.doses.append(row)

    def files(self) -> dict[str, list[dict[str, Any]]]:
        return {"orders.csv": self.orders, "reports.csv": self.reports, "dose.csv": self.doses}


def _report(procedure: RequestedProcedure) -> Report | None:
    try:
        return procedure.report
    except Report.DoesNotExist:
        return None


def _add_dicom(
    archive: zipfile.ZipFile,
    procedure: RequestedProcedure,
    key: PatientKey,
    clean: DicomCleaner,
    summary: ExportSummary,
) -> None:
    for dose in procedure.dose_reports.all():
        try:
            content = (Path(settings.VAR_DIR) / dose.path).read_bytes()
            uid, cleaned = clean(content, key)
        except Exception as exc:  # a missing or unreadable file is listed, never exported raw
            log.warning("research export: dose report %s left out: %s", dose.pk, type(exc).__name__)
            summary.skipped_files.append(f"dose report {dose.pk}")
            continue
        archive.writestr(f"dicom/{key.pseudonym}/{uid}.dcm", cleaned)
        summary.dicom_files += 1


def _iso(value: dt.datetime | dt.date | None) -> str:
    return value.isoformat() if value is not None else ""


def _csv(rows: list[dict[str, Any]]) -> str:
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _manifest(selection: ExportSelection, options: ExportOptions, summary: ExportSummary) -> dict[str, Any]:
    return {
        "export": summary.export_id,
        "created": timezone.now().date().isoformat(),
        "selection": selection.describe(),
        "deidentification_method": [{"code": c, "scheme": "DCM", "meaning": m} for c, m in options.methods()],
        "dates": "shifted back per patient by a fixed number of days"
        if options.retain_dates_modified
        else "removed; days_from_first_exam kept",
        "counts": {
            "dose_reports": summary.dose_reports,
            "reports": summary.reports,
            "dicom_files": summary.dicom_files,
        },
        "left_out": summary.skipped_files,
    }


def _audit(
    actor: Actor,
    selection: ExportSelection,
    options: ExportOptions,
    summary: ExportSummary,
    patients: Iterable[Patient],
) -> None:
    methods = "+".join(code for code, _ in options.methods())
    what = f"research export {summary.export_id}: {selection.describe()}; DCM {methods}"
    for patient in patients:
        audit_record(actor=actor, action=AuditEvent.Action.EXPORT, patient=patient, object_type="research", detail=what)
    audit_record(
        actor=actor,
        action=AuditEvent.Action.EXPORT,
        object_type="research",
        detail=f"{what}; {summary.patients} patients, {summary.exams} exams, {summary.dicom_files} DICOM files",
    )
