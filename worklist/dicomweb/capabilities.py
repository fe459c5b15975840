"""The capability statement of the DICOMweb worklist services, as JSON at
/dicomweb/ (GET or OPTIONS): each resource, its methods, media types, query
parameters, matching and limits. docs/dicom-conformance.md says the same in prose."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from worklist.query import STEP_DATE_TIME_KEYS, STEP_KEYS, TOP_LEVEL_KEYS
from worklist.response import STEP_VALUES, TOP_LEVEL_VALUES

MEDIA = ["application/dicom+json"]


def capabilities(base_url: str) -> dict[str, Any]:
    return {
        "baseUrl": base_url,
        "authentication": ["Token", "Basic", "session"],
        "services": {
            "MWL-RS": _mwl(),
        },
    }


def _mwl() -> dict[str, Any]:
    step_keys = [*STEP_KEYS, *STEP_DATE_TIME_KEYS]
    return {
        "resource": "/modality-scheduled-procedure-steps",
        "transactions": {"search": {"method": "GET", "media": MEDIA}},
        "matchingKeys": [*TOP_LEVEL_KEYS] + [f"ScheduledProcedureStepSequence.{key}" for key in step_keys],
        "returnKeys": [*TOP_LEVEL_VALUES] + [f"ScheduledProcedureStepSequence.{key}" for key in STEP_VALUES],
        "matching": ["single value", "list of UIDs", "wildcard", "range", "sequence", "universal"],
        "personNamesIgnoreCase": bool(settings.RIS_MWL_NAME_IGNORE_CASE),
        "fuzzyMatching": False,
        "includefield": True,
        "paging": {"limit": True, "offset": True, "maxResults": int(settings.RIS_DICOMWEB_MAX_RESULTS)},
    }
