"""A signed report as one FHIR R4 transaction Bundle (FHIR R4 http.html#transaction).

Patient, ServiceRequest and ImagingStudy are conditional creates
(`ifNoneExist` on their identifier), so the EHR's own copies are reused; the
DiagnosticReport is a conditional update on its stable identifier, so a
correction or addendum replaces the resource the first send created. Inside
the Bundle, resources point at each other by `urn:uuid:` full URLs, which the
server rewrites to the ids it resolves.
"""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import quote

from fhir import builders, critical
from fhir.resources.R4B.bundle import Bundle
from ris.models import CriticalResult, Destination, ReportVersion
from ris.outbox import Built

FHIR_JSON = "application/fhir+json"
_NAMESPACE = uuid.UUID("6f0c2a51-3d55-4c1e-9a77-8f2b8e0c5d10")  # full URLs of this RIS's rows


def build_report_transaction(destination: Destination, context: dict[str, Any]) -> Built:
    """The outbox builder for (FHIR, "report"); refuses to build an invalid Bundle
    (pydantic's ValidationError is a failed delivery on the outbound row, shown
    to the integration engineer; the signature it carries is already committed)."""
    version = load_version(context["report_version_id"])
    bundle = report_transaction(version)
    validate_r4(bundle)
    return Built(json.dumps(bundle, ensure_ascii=False), f"{version.report.uid}/{version.number}", FHIR_JSON)


def load_version(version_id: int) -> ReportVersion:
    return ReportVersion.objects.select_related("report__order__patient", "report__procedure", "signer").get(
        pk=version_id
    )


def validate_r4(resource: dict[str, Any]) -> None:
    """Raise pydantic's ValidationError unless the resource is valid R4 (R4B models)."""
    Bundle.model_validate(resource)


def bundle_ref(kind: str, row: Any) -> str:
    if kind == "DiagnosticReport":
        return f"urn:uuid:{row.uid}"
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{kind}/{row.pk}')}"


def report_transaction(version: ReportVersion) -> dict[str, Any]:
    report = version.report
    order, procedure = report.order, report.procedure
    entries = [
        _create(bundle_ref("Patient", order.patient), builders.patient_resource(order.patient, bundle_ref)),
        _create(bundle_ref("ServiceRequest", order), builders.service_request_resource(order, bundle_ref), -1),
        _create(bundle_ref("ImagingStudy", procedure), builders.imaging_study_resource(procedure, bundle_ref)),
        _update(bundle_ref("DiagnosticReport", report), _diagnostic_report(version)),
        *critical_entries(version),
    ]
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def _diagnostic_report(version: ReportVersion) -> dict[str, Any]:
    resource = builders.diagnostic_report_resource(version, bundle_ref)
    if version.critical_category:
        resource["result"] = [{"reference": _critical_url(version.report, "observation")}]
    return resource


def _critical_url(report: Any, what: str) -> str:
    return f"urn:uuid:{critical.stable_uuid(report, what)}"


def critical_entries(version: ReportVersion) -> list[dict[str, Any]]:
    """A flagged version's Observation (with its interpretation) and the
    report's Flag, active while its critical result is owed (fhir/critical.py)."""
    if not version.critical_category:
        return []
    report = version.report
    entries = [_update(_critical_url(report, "observation"), critical.observation_resource(version, bundle_ref))]
    result = CriticalResult.objects.filter(report=report).select_related("flagged_by").order_by("-flagged_at").first()
    if result is not None:
        entries.append(_update(_critical_url(report, "flag"), critical.flag_resource(result, bundle_ref)))
    return entries


def build_critical_communicated(destination: Destination, context: dict[str, Any]) -> Built:
    """The outbox builder for (FHIR, "critical_communicated"): the
    Communication and the Flag made inactive, one transaction Bundle."""
    result = CriticalResult.objects.select_related("report__order__patient", "recorded_by", "flagged_by").get(
        pk=context["critical_result_id"]
    )
    report, patient = result.report, result.report.order.patient
    entries = [
        _create(bundle_ref("Patient", patient), builders.patient_resource(patient, bundle_ref)),
        _update(_critical_url(report, "flag"), critical.flag_resource(result, bundle_ref)),
        _update(
            _critical_url(report, f"communication/{result.pk}"), critical.communication_resource(result, bundle_ref)
        ),
    ]
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    validate_r4(bundle)
    return Built(json.dumps(bundle, ensure_ascii=False), f"{report.uid}/critical/{result.pk}", FHIR_JSON)


def _create(full_url: str, resource: dict[str, Any], key: int = 0) -> dict[str, Any]:
    """POST with ifNoneExist: created unless one with the identifier exists."""
    found = resource["identifier"][key]
    return {
        "fullUrl": full_url,
        "resource": resource,
        "request": {
            "method": "POST",
            "url": resource["resourceType"],
            "ifNoneExist": f"identifier={search_token(found)}",
        },
    }


def _update(full_url: str, resource: dict[str, Any]) -> dict[str, Any]:
    """Conditional PUT on the identifier: creates the first time, replaces after."""
    key = resource["identifier"][0]
    return {
        "fullUrl": full_url,
        "resource": resource,
        "request": {"method": "PUT", "url": f"{resource['resourceType']}?identifier={search_token(key)}"},
    }


def search_token(found: dict[str, Any]) -> str:
    """A token search value system|value, escaped for a query string."""
    return f"{quote(found['system'], safe=':/')}|{quote(found['value'], safe=':/.')}"
