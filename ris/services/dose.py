"""Radiation dose: a dose report received (from the C-STORE SCP or STOW-RS)
is kept, linked to its exam, and checked against the diagnostic reference
levels. Every change is audited with its actor."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
from dataclasses import asdict
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from prometheus_client import Counter

from ris.dose_records import DoseReportData
from ris.exceptions import DoseReportConflict, InvalidInput
from ris.models import (
    AuditEvent,
    DiagnosticReferenceLevel,
    DoseAlert,
    DoseQuantity,
    DoseReport,
    ImagingOrder,
    IrradiationEvent,
    RequestedProcedure,
)
from ris.records import Actor
from ris.services.audit import audit_record

log = logging.getLogger(__name__)

DOSE_REPORTS = Counter("ris_dose_reports_total", "Dose reports stored, by kind and whether linked", ["kind", "linked"])
DRL_EXCEEDED = Counter(
    "ris_dose_reference_level_exceeded_total", "Dose reports over a diagnostic reference level", ["quantity"]
)

# The modality whose reference levels apply when no exam gives one.
_KIND_MODALITY = {
    DoseReport.Kind.CT: "CT",
    DoseReport.Kind.PROJECTION: "XA",
    DoseReport.Kind.RADIOPHARMACEUTICAL: "NM",
}


def dose_report_store(*, record: DoseReportData, content: bytes, actor: Actor) -> DoseReport:
    """Keep the SR's bytes, its record and events; link the exam; raise any alert.

    A second copy of a stored instance is accepted and changes nothing; other
    content under the same SOP Instance UID is refused (PS3.3 C.12.1.1.1: a
    changed object has a new UID)."""
    digest = hashlib.sha256(content).hexdigest()
    existing = DoseReport.objects.filter(sop_instance_uid=record.sop_instance_uid).first()
    if existing is not None:
        if existing.sha256 != digest:
            raise DoseReportConflict(f"dose report {record.sop_instance_uid} is stored already with other content")
        return existing
    path = _keep(record.sop_instance_uid, digest, content)
    try:
        with transaction.atomic():
            report = _create(record, actor, path=path, size=len(content), digest=digest)
            for alert in dose_check(report=report, actor=actor):
                log.warning("dose report %s over its reference level: %s", report.pk, alert)
    except IntegrityError:  # the same instance, stored meanwhile by another association
        twin = DoseReport.objects.filter(sop_instance_uid=record.sop_instance_uid).first()
        if twin is None:
            raise
        if twin.sha256 != digest:
            raise DoseReportConflict(
                f"dose report {record.sop_instance_uid} is stored already with other content"
            ) from None
        return twin
    DOSE_REPORTS.labels(report.kind, "yes" if report.procedure_id else "no").inc()
    return report


def _keep(uid: str, digest: str, content: bytes) -> str:
    """The Part 10 file under RIS_VAR_DIR/dose/, written whole before it is named;
    named by its content too, so that a conflicting copy never replaces it."""
    if not re.fullmatch(r"[0-9][0-9.]{0,63}", uid):  # it names the file: digits and dots only
        raise InvalidInput(f"{uid!r} is not a SOP Instance UID", field="sop_instance_uid")
    folder = Path(settings.VAR_DIR) / "dose"
    folder.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=folder, suffix=".part")
    with os.fdopen(descriptor, "wb") as out:
        out.write(content)
    target = folder / f"{uid}_{digest[:16]}.dcm"
    os.replace(temporary, target)
    return str(target.relative_to(settings.VAR_DIR))


def _create(record: DoseReportData, actor: Actor, *, path: str, size: int, digest: str) -> DoseReport:
    procedure, reason = _exam_of(record)
    fields = {k: v for k, v in asdict(record).items() if k != "events"}
    fields["event_count"] = record.event_count or 0
    report = DoseReport.objects.create(
        **fields,
        procedure=procedure,
        unmatched_reason=reason,
        door=actor.door,
        sender=actor.label[:150],
        path=path,
        size=size,
        sha256=digest,
    )
    IrradiationEvent.objects.bulk_create(IrradiationEvent(report=report, **asdict(e)) for e in record.events)
    patient = procedure.order.patient if procedure else None
    audit_record(actor=actor, action=AuditEvent.Action.CREATE, patient=patient, obj=report, detail="dose report")
    return report


def _exam_of(record: DoseReportData) -> tuple[RequestedProcedure | None, str]:
    """The exam by Study Instance UID, else by accession number; never one of another patient."""
    procedure = (
        RequestedProcedure.objects.select_related("order__patient")
        .filter(study_instance_uid=record.study_instance_uid)
        .first()
    )
    if procedure is None and record.accession_number:
        order = ImagingOrder.objects.filter(accession_number=record.accession_number).first()
        procedures = list(order.procedures.select_related("order__patient")) if order else []
        if len(procedures) > 1:
            return None, "the accession number names several procedures and the Study Instance UID none"
        procedure = procedures[0] if procedures else None
    if procedure is None:
        return None, "no exam has this Study Instance UID or accession number"
    patient = procedure.order.patient
    if record.patient_id and record.patient_id != patient.patient_id:
        return None, "the exam found belongs to another Patient ID"
    return procedure, ""


def dose_check(*, report: DoseReport, actor: Actor) -> list[DoseAlert]:
    """Compare a report with the reference levels that apply; one alert per level exceeded."""
    alerts = []
    for level in reference_levels_for(report):
        value = quantity_value(report, level.quantity)
        if value is None or value <= level.level:
            continue
        alert = DoseAlert.objects.create(
            report=report, reference_level=level, quantity=level.quantity, value=value, level=level.level
        )
        DRL_EXCEEDED.labels(level.quantity).inc()
        audit_record(
            actor=actor,
            action=AuditEvent.Action.CREATE,
            patient=report.procedure.order.patient if report.procedure else None,
            obj=alert,
            detail=f"dose over reference level: {level.get_quantity_display()} {value:g} > {level.level:g}",
        )
        alerts.append(alert)
    return alerts


def reference_levels_for(report: DoseReport) -> list[DiagnosticReferenceLevel]:
    """The procedure's own levels; for quantities it has none, its modality's."""
    procedure = report.procedure
    own: dict[str, DiagnosticReferenceLevel] = {}
    if procedure is not None and procedure.code_value:
        for level in DiagnosticReferenceLevel.objects.filter(procedure__code=procedure.code_value):
            own[level.quantity] = level
    for level in DiagnosticReferenceLevel.objects.filter(procedure=None, modality=_modality(report)):
        own.setdefault(level.quantity, level)
    return list(own.values())


def _modality(report: DoseReport) -> str:
    if report.procedure is not None:
        step = report.procedure.steps.order_by("start").first()
        if step is not None and step.modality:
            return step.modality
    return _KIND_MODALITY.get(DoseReport.Kind(report.kind), "")


def quantity_value(report: DoseReport, quantity: str) -> float | None:
    """The report's value of a limited quantity (CTDIvol: the highest event's)."""
    if quantity == DoseQuantity.CTDIVOL:
        values = [e.ctdivol for e in report.events.all() if e.ctdivol is not None]
        return max(values) if values else None
    field = {
        DoseQuantity.DLP_TOTAL: "total_dlp",
        DoseQuantity.DAP_TOTAL: "total_dap",
        DoseQuantity.RP_DOSE_TOTAL: "reference_point_dose",
        DoseQuantity.FLUORO_TIME: "fluoro_time",
        DoseQuantity.ACTIVITY: "administered_activity",
    }[DoseQuantity(quantity)]
    value = getattr(report, field)
    return float(value) if value is not None else None


def dose_table_export_record(*, actor: Actor, reports: list[DoseReport], kind: str) -> None:
    """An export of the dose table names patients: one audit event listing them."""
    patients = sorted({r.procedure.order.patient_id for r in reports if r.procedure})
    listed = ",".join(str(pk) for pk in patients) or "no patient"
    audit_record(
        actor=actor,
        action=AuditEvent.Action.EXPORT,
        object_type="dose table",
        detail=f"dose table {kind}: {len(reports)} rows; patients {listed}"[:400],
    )
