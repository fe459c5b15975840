"""FHIR R4 resources from the domain (validated with fhir.resources.R4B).

The same builders serve the outbound transaction Bundle (references are
`urn:uuid:` full URLs resolved by the server) and the read API (references
are `Type/id` on this server): the caller passes how to reference a row.
Only R4 elements: never R5's DiagnosticReport.study, .note, .supportingInfo,
.composition or CodeableReference.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from django.conf import settings

from ris.models import ImagingOrder, Patient, Report, ReportVersion, RequestedProcedure
from ris.models.reports import person_name
from ris.names import PersonName
from ris.states import OrderStatus, ReportStatus, StepStatus

Ref = Callable[[str, object], str]  # (resource type, row) -> reference string

V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"  # identifier types
V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074"  # diagnostic service sections
LOINC = "http://loinc.org"
DCM = "http://dicom.nema.org/resources/ontology/DCM"
DICOM_UID = "urn:dicom:uid"  # FHIR R4 ImagingStudy.identifier for the Study Instance UID
URI = "urn:ietf:rfc:3986"
CODE_SYSTEMS = {"LN": LOINC, "DCM": DCM, "SCT": "http://snomed.info/sct", "RADLEX": "http://radlex.org"}
REPORT_STATUS: dict[str, str] = {  # DiagnosticReport.status (R4 value set report-status)
    ReportStatus.PRELIMINARY: "preliminary",
    ReportStatus.FINAL: "final",
    ReportStatus.CORRECTED: "corrected",
    ReportStatus.ADDENDUM: "amended",
}
ORDER_STATUS: dict[str, str] = {  # ServiceRequest.status (request-status)
    OrderStatus.SCHEDULED: "active",
    OrderStatus.IN_PROGRESS: "active",
    OrderStatus.ON_HOLD: "on-hold",
    OrderStatus.COMPLETED: "completed",
    OrderStatus.DISCONTINUED: "revoked",
    OrderStatus.CANCELED: "revoked",
}
PRIORITY = {"STAT": "stat", "HIGH": "urgent"}  # request-priority; others routine
RADIOLOGY_CATEGORY = {
    "coding": [
        {"system": V2_0074, "code": "RAD", "display": "Radiology"},
        {"system": LOINC, "code": "LP29684-5", "display": "Radiology"},  # US Core DiagnosticReport category
    ]
}
IMAGING_STUDY_CODE = {"system": LOINC, "code": "18748-4", "display": "Diagnostic imaging study"}


def operation_outcome(code: str, text: str, severity: str = "error") -> dict[str, Any]:
    """An OperationOutcome with one issue; `code` is an issue type (R4 valueset-issue-type)."""
    return {"resourceType": "OperationOutcome", "issue": [{"severity": severity, "code": code, "diagnostics": text}]}


def system_for(namespace: str, kind: str) -> str:
    """An identifier system URI for an assigning authority given as OID, URI or name."""
    if namespace and namespace.replace(".", "").isdigit():
        return f"urn:oid:{namespace}"
    if ":" in namespace and "^" not in namespace:
        return namespace
    return f"urn:ris:{kind}:{quote(namespace or settings.RIS_HL7_FACILITY, safe='')}"


def accession_system() -> str:
    return system_for(settings.RIS_HL7_FACILITY, "accession")


def identifier(system: str, value: str, type_code: str = "") -> dict[str, Any]:
    found: dict[str, Any] = {"system": system, "value": value}
    if type_code:
        found["type"] = {"coding": [{"system": V2_0203, "code": type_code}]}
    return found


def local_id(reference: str) -> str | None:
    """The id of a `Type/id` reference; none for a bundle-local `urn:uuid:`."""
    return None if reference.startswith("urn:") else reference.partition("/")[2]


def fhir_instant(moment: dt.datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment else None


def human_name(name: PersonName) -> dict[str, object]:
    """A HumanName from the alphabetic group of a PN (ris/names.py); `text`
    is that group as pages show it. The ideographic and phonetic groups are
    not sent: R4 carries them only as extensions no receiver here asks for."""
    group = name.alphabetic
    parts: dict[str, object] = {
        "text": group.display(),
        "family": group.family,
        "given": group.given_names,
        "prefix": [group.prefix] if group.prefix else [],
        "suffix": [group.suffix] if group.suffix else [],
    }
    return {k: v for k, v in parts.items() if v}


def display_name(pn: str) -> str:
    """A stored PN value for a Reference.display: its alphabetic group as pages show it."""
    return PersonName.from_dicom(pn).alphabetic.display()


def patient_resource(patient: Patient, ref: Ref) -> dict[str, Any]:
    resource = {
        "resourceType": "Patient",
        "id": local_id(ref("Patient", patient)),
        "identifier": [identifier(system_for(patient.issuer, "patient-id"), patient.patient_id, "MR")],
        "name": [human_name(patient.person_name)] if patient.person_name.alphabetic else None,
        "gender": {"M": "male", "F": "female", "O": "other"}.get(patient.sex, "unknown"),
        "birthDate": patient.birth_date.isoformat() if patient.birth_date else None,
    }
    return compact(resource)


def order_identifiers(order: ImagingOrder) -> list[dict[str, Any]]:
    found = []
    if order.placer_number:
        found.append(identifier(system_for(order.placer_system, "placer"), order.placer_number, "PLAC"))
    if order.filler_number:
        found.append(identifier(system_for(settings.RIS_HL7_APPLICATION, "filler"), order.filler_number, "FILL"))
    found.append(accession_identifier(order))
    return found


def accession_identifier(order: ImagingOrder) -> dict[str, Any]:
    return identifier(accession_system(), order.accession_number or "", "ACSN")


def procedure_code(procedure: RequestedProcedure | None) -> dict[str, Any]:
    if procedure is None:
        return {"coding": [IMAGING_STUDY_CODE]}
    coding = compact(
        {
            "system": CODE_SYSTEMS.get(procedure.code_scheme.upper()),
            "code": procedure.code_value,
            "display": procedure.code_meaning or None,
        }
    )
    return compact(
        {
            "coding": [coding] if procedure.code_value else None,
            "text": procedure.description or procedure.code_meaning or None,
        }
    )


def service_request_resource(order: ImagingOrder, ref: Ref) -> dict[str, Any]:
    resource = {
        "resourceType": "ServiceRequest",
        "id": local_id(ref("ServiceRequest", order)),
        "identifier": order_identifiers(order),
        "status": ORDER_STATUS.get(order.status, "unknown"),
        "intent": "order",
        "category": [{"coding": [{"system": "http://snomed.info/sct", "code": "363679005", "display": "Imaging"}]}],
        "priority": PRIORITY.get(order.priority, "routine"),
        "code": procedure_code(order.procedures.first()),
        "subject": {"reference": ref("Patient", order.patient)},
        "authoredOn": fhir_instant(order.created_at),
        "requester": {"display": display_name(order.ordering_physician)} if order.ordering_physician else None,
        "reasonCode": [{"text": order.reason}] if order.reason else None,
    }
    return compact(resource)


def imaging_study_resource(procedure: RequestedProcedure, ref: Ref) -> dict[str, Any]:
    steps = list(procedure.steps.order_by("start"))
    modalities = sorted({s.modality for s in steps if s.modality})
    resource = {
        "resourceType": "ImagingStudy",
        "id": local_id(ref("ImagingStudy", procedure)),
        "identifier": [
            identifier(DICOM_UID, f"urn:oid:{procedure.study_instance_uid}"),
            accession_identifier(procedure.order),
        ],
        "status": "available" if any(s.status == StepStatus.COMPLETED for s in steps) else "registered",
        "modality": [{"system": DCM, "code": m} for m in modalities] or None,
        "subject": {"reference": ref("Patient", procedure.order.patient)},
        "started": fhir_instant(steps[0].start) if steps else None,
        "basedOn": [{"reference": ref("ServiceRequest", procedure.order)}],
        "description": procedure.description or None,
    }
    return compact(resource)


def diagnostic_report_resource(version: ReportVersion, ref: Ref) -> dict[str, Any]:
    report: Report = version.report
    step = report.procedure.steps.order_by("start").first()
    resource = {
        "resourceType": "DiagnosticReport",
        "id": local_id(ref("DiagnosticReport", report)),
        "identifier": [identifier(URI, f"urn:uuid:{report.uid}"), accession_identifier(report.order)],
        "basedOn": [{"reference": ref("ServiceRequest", report.order)}],
        "status": REPORT_STATUS[version.status],
        "category": [RADIOLOGY_CATEGORY],
        "code": {"coding": [IMAGING_STUDY_CODE], "text": report.procedure.description or None},
        "subject": {"reference": ref("Patient", report.order.patient)},
        "effectiveDateTime": fhir_instant(step.start) if step else None,
        "issued": fhir_instant(version.signed_at),
        "resultsInterpreter": [{"display": person_name(version.signer)}] if version.signer else None,
        "imagingStudy": [{"reference": ref("ImagingStudy", report.procedure)}],
        "conclusion": version.impression or None,
        "presentedForm": [presented_form(version)],
    }
    return compact(resource)


def presented_form(version: ReportVersion) -> dict[str, Any]:
    return {
        "contentType": "text/plain; charset=utf-8",
        "language": settings.LANGUAGE_CODE,
        "data": base64.b64encode(version.full_text().encode("utf-8")).decode("ascii"),
        "title": "Radiology report",
        "creation": fhir_instant(version.signed_at),
    }


def compact(value: dict[str, Any]) -> dict[str, Any]:
    """Drop absent (None) elements and nested empty ones; FHIR forbids empty values."""
    out: dict[str, Any] = {}
    for key, item in value.items():
        if isinstance(item, dict):
            item = compact(item)
        if item is None or item == {} or item == [] or item == "":
            continue
        out[key] = item
    return out
