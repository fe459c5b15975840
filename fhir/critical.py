"""Critical results on the FHIR side (R4; docs/fhir-interface.md).

R4's DiagnosticReport has no interpretation element (R5 neither): a flagged
report carries its flag in an Observation it lists in `result`, whose
`interpretation` is the v3 ObservationInterpretation code (AA critical
abnormal; A abnormal for urgent and unexpected significant), with the
impression as its value. The alert itself is a `Flag` (R4 Flag: "prospective
warnings of potential issues when providing care to the patient"), active
from the signature until the communication record is complete; then a
`Communication` records whom the radiologist told, how and when, and the
Flag is sent again inactive, its period ended.
"""

from __future__ import annotations

import uuid
from typing import Any

from fhir import builders
from fhir.builders import Ref, compact, fhir_instant, identifier
from ris.models import CriticalResult, Report, ReportVersion
from ris.models.reports import person_name
from ris.states import CriticalCategory, ReportStatus

V3_INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
V3_PARTICIPATION_MODE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode"
FLAG_CATEGORY = "http://terminology.hl7.org/CodeSystem/flag-category"
COMMUNICATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/communication-category"
INTERPRETATION = {
    CriticalCategory.CRITICAL: ("AA", "Critical abnormal"),
    CriticalCategory.URGENT: ("A", "Abnormal"),
    CriticalCategory.UNEXPECTED: ("A", "Abnormal"),
}
CATEGORY_TEXT = {
    CriticalCategory.CRITICAL: "Critical radiology result",
    CriticalCategory.URGENT: "Urgent radiology result",
    CriticalCategory.UNEXPECTED: "Unexpected significant radiology result",
}
OBSERVATION_STATUS: dict[str, str] = {
    ReportStatus.PRELIMINARY: "preliminary",
    ReportStatus.FINAL: "final",
    ReportStatus.CORRECTED: "corrected",
    ReportStatus.ADDENDUM: "amended",
}
MEDIUM = {  # v3 ParticipationMode
    CriticalResult.Method.PHONE: ("PHONE", "telephone"),
    CriticalResult.Method.IN_PERSON: ("FACE", "face-to-face"),
    CriticalResult.Method.SECURE_MESSAGE: ("ONLINEWRIT", "online written"),
}
RADIOLOGY_STUDY_OBSERVATION = {"system": builders.LOINC, "code": "18782-3", "display": "Radiology Study observation"}


def stable_uuid(report: Report, what: str) -> uuid.UUID:
    """The id of the report's Observation or Flag: the same on every send."""
    return uuid.uuid5(report.uid, what)


def stable_identifier(report: Report, what: str) -> dict[str, Any]:
    return identifier(builders.URI, f"urn:uuid:{stable_uuid(report, what)}")


def interpretation(category: str) -> dict[str, Any]:
    code, display = INTERPRETATION[CriticalCategory(category)]
    return {"coding": [{"system": V3_INTERPRETATION, "code": code, "display": display}], "text": display}


def observation_resource(version: ReportVersion, ref: Ref) -> dict[str, Any]:
    report = version.report
    resource = {
        "resourceType": "Observation",
        "identifier": [stable_identifier(report, "observation")],
        "status": OBSERVATION_STATUS[version.status],
        "category": [
            {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "imaging"}]}
        ],
        "code": {
            "coding": [RADIOLOGY_STUDY_OBSERVATION],
            "text": CATEGORY_TEXT[CriticalCategory(version.critical_category)],
        },
        "subject": {"reference": ref("Patient", report.order.patient)},
        "issued": fhir_instant(version.signed_at),
        "performer": [{"display": person_name(version.signer)}] if version.signer else None,
        "valueString": version.impression or version.findings or None,
        "interpretation": [interpretation(version.critical_category)],
        "derivedFrom": [{"reference": ref("ImagingStudy", report.procedure)}],
    }
    return compact(resource)


def flag_resource(result: CriticalResult, ref: Ref) -> dict[str, Any]:
    """Active while the result is owed to the referrer; inactive once told."""
    report = result.report
    period = {"start": fhir_instant(result.flagged_at), "end": fhir_instant(result.communicated_at)}
    resource = {
        "resourceType": "Flag",
        "identifier": [stable_identifier(report, "flag")],
        "status": "active" if result.is_open else "inactive",
        "category": [{"coding": [{"system": FLAG_CATEGORY, "code": "clinical", "display": "Clinical"}]}],
        "code": {
            "coding": interpretation(result.category)["coding"],
            "text": f"{CATEGORY_TEXT[CriticalCategory(result.category)]}: accession {report.order.accession_number}",
        },
        "subject": {"reference": ref("Patient", report.order.patient)},
        "period": period,
        "author": {"display": person_name(result.flagged_by)},
    }
    return compact(resource)


def communication_resource(result: CriticalResult, ref: Ref) -> dict[str, Any]:
    report = result.report
    code, display = MEDIUM[CriticalResult.Method(result.method)]
    resource = {
        "resourceType": "Communication",
        "identifier": [stable_identifier(report, f"communication/{result.pk}")],
        "status": "completed",
        "category": [{"coding": [{"system": COMMUNICATION_CATEGORY, "code": "alert"}]}],
        "priority": "stat" if result.category == CriticalCategory.CRITICAL else "urgent",
        "medium": [{"coding": [{"system": V3_PARTICIPATION_MODE, "code": code, "display": display}]}],
        "subject": {"reference": ref("Patient", report.order.patient)},
        "about": [
            {"identifier": builders.identifier(builders.URI, f"urn:uuid:{report.uid}"), "type": "DiagnosticReport"}
        ],
        "sent": fhir_instant(result.communicated_at),
        "recipient": [{"display": f"{result.recipient_name} ({result.recipient_role})"}],
        "sender": {"display": person_name(result.recorded_by)},
        "payload": [{"contentString": f"{CATEGORY_TEXT[CriticalCategory(result.category)]} communicated; read back."}],
        "note": [{"text": result.note}] if result.note else None,
    }
    return compact(resource)
