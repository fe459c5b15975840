"""The CapabilityStatement of the read API (FHIR R4 capabilitystatement.html)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from fhir.search import PARAMS, Param

PARAM_TYPES = {
    "identifier": "token",
    "status": "token",
    "patient": "reference",
    "subject": "reference",
    "name": "string",
}


def capability_statement(base_url: str) -> dict[str, Any]:
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "kind": "instance",
        "date": timezone.now().date().isoformat(),
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "software": {"name": "RIS"},
        "implementation": {"description": "RIS FHIR R4 read API", "url": base_url},
        "rest": [
            {
                "mode": "server",
                "security": {
                    "description": "Token (expiring, revocable), session or HTTP Basic authentication;"
                    " failed attempts are throttled per user name and address"
                },
                "resource": [_resource(kind, params) for kind, params in PARAMS.items()],
            }
        ],
    }


def _resource(kind: str, params: dict[str, Param]) -> dict[str, Any]:
    return {
        "type": kind,
        "interaction": [{"code": "read"}, {"code": "search-type"}],
        "searchParam": [
            {"name": "_id", "type": "token"},
            *({"name": name, "type": PARAM_TYPES.get(name, "date")} for name in params),
        ],
    }
