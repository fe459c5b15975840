"""The dose table as FHIR R4 Observations (fhir.resources.R4B), for medical
physicists: one Observation per dose report with the accumulated dose, one
per irradiation event, each quantity a component coded in DICOM's DCM
scheme (PS3.16 TID 10011 / 10003) with its UCUM unit."""

from __future__ import annotations

from typing import Any

from fhir.builders import DCM, DICOM_UID, compact, fhir_instant, identifier
from fhir.resources.R4B.bundle import Bundle
from fhir.resources_read import local_ref
from ris.models import DoseReport, IrradiationEvent
from ris.selectors.dose import DoseRow

UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"

# (attribute, DCM code, meaning, UCUM unit)
REPORT_QUANTITIES = [
    ("total_dlp", "113813", "CT Dose Length Product Total", "mGy.cm"),
    ("total_dap", "113722", "Dose Area Product Total", "Gy.m2"),
    ("reference_point_dose", "113725", "Dose (RP) Total", "Gy"),
    ("fluoro_time", "113730", "Total Fluoro Time", "s"),
    ("administered_activity", "113507", "Administered activity", "MBq"),
]
EVENT_QUANTITIES = [
    ("ctdivol", "113830", "Mean CTDIvol", "mGy"),
    ("dlp", "113838", "DLP", "mGy.cm"),
    ("scanning_length", "113825", "Scanning Length", "mm"),
    ("dap", "122130", "Dose Area Product", "Gy.m2"),
    ("reference_point_dose", "113738", "Dose (RP)", "Gy"),
    ("exposure_time", "113824", "Exposure Time", "s"),
]
REPORT_CODE = {
    DoseReport.Kind.CT: ("113811", "CT Accumulated Dose Data"),
    DoseReport.Kind.PROJECTION: ("113702", "Accumulated X-Ray Dose Data"),
    DoseReport.Kind.RADIOPHARMACEUTICAL: ("113502", "Radiopharmaceutical Administration"),
}
EVENT_CODE = {
    DoseReport.Kind.CT: ("113819", "CT Acquisition"),
    DoseReport.Kind.PROJECTION: ("113706", "Irradiation Event X-Ray Data"),
}


def _coding(code: str, meaning: str) -> dict[str, Any]:
    return {"coding": [{"system": DCM, "code": code, "display": meaning}], "text": meaning}


def _components(row: object, quantities: list[tuple[str, str, str, str]]) -> list[dict[str, Any]]:
    out = []
    for attribute, code, meaning, unit in quantities:
        value = getattr(row, attribute, None)
        if value is not None:
            quantity = {"value": round(float(value), 9), "unit": unit, "system": UCUM, "code": unit}
            out.append({"code": _coding(code, meaning), "valueQuantity": quantity})
    return out


def _common(report: DoseReport) -> dict[str, Any]:
    procedure = report.procedure
    return {
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "imaging", "display": "Imaging"}]}],
        "subject": {"reference": local_ref("Patient", procedure.order.patient)} if procedure else None,
        "partOf": [{"reference": local_ref("ImagingStudy", procedure)}] if procedure else None,
        "device": {"display": " ".join(p for p in (report.manufacturer, report.station_name) if p) or None},
    }


def report_observation(report: DoseReport) -> dict[str, Any]:
    code, meaning = REPORT_CODE[DoseReport.Kind(report.kind)]
    resource = {
        **_common(report),
        "id": f"dose-{report.pk}",
        "identifier": [identifier(DICOM_UID, f"urn:oid:{report.sop_instance_uid}")],
        "code": _coding(code, meaning),
        "effectiveDateTime": fhir_instant(report.performed_at or report.received_at),
        "component": _components(report, REPORT_QUANTITIES),
    }
    if report.radiopharmaceutical:
        resource["note"] = [{"text": report.radiopharmaceutical}]
    return compact(resource)


def event_observation(report: DoseReport, event: IrradiationEvent) -> dict[str, Any]:
    code, meaning = EVENT_CODE.get(DoseReport.Kind(report.kind), ("113706", "Irradiation Event X-Ray Data"))
    resource = {
        **_common(report),
        "id": f"dose-{report.pk}-event-{event.pk}",
        "identifier": [identifier(DICOM_UID, f"urn:oid:{event.event_uid}")] if event.event_uid else None,
        "code": _coding(code, meaning),
        "effectiveDateTime": fhir_instant(event.started_at or report.performed_at or report.received_at),
        "bodySite": {"text": event.target_region} if event.target_region else None,
        "method": {"text": event.protocol} if event.protocol else None,
        "derivedFrom": [{"reference": f"Observation/dose-{report.pk}"}],
        "component": _components(event, EVENT_QUANTITIES),
        "note": [{"text": f"CTDIw phantom: {event.phantom}"}] if event.phantom else None,
    }
    return compact(resource)


def dose_bundle(rows: list[DoseRow]) -> dict[str, Any]:
    """A collection Bundle of the table's Observations, validated by fhir.resources."""
    entries: list[dict[str, Any]] = []
    seen: set[int] = set()
    for row in rows:
        if row.report.pk not in seen:
            seen.add(row.report.pk)
            entries.append({"resource": report_observation(row.report)})
        if row.event is not None:
            entries.append({"resource": event_observation(row.report, row.event)})
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    Bundle.model_validate(bundle)
    return bundle
