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
        "authentication": ["Token", "Basic", "session"]
        + (["Bearer (OAuth2 JWT)"] if settings.RIS_OAUTH2_ISSUER else []),
        "services": {"MWL-RS": _mwl(), "MPPS-RS": _mpps(), "UPS-RS": _ups()},
    }


def _mpps() -> dict[str, Any]:
    return {
        "resource": "/modality-performed-procedure-steps",
        "transactions": {
            "create": {"method": "POST", "path": "", "media": MEDIA},
            "retrieve": {"method": "GET", "path": "/{instance}", "media": MEDIA},
            "update": {"method": "POST or PUT", "path": "/{instance}", "media": MEDIA},
        },
        "states": ["IN PROGRESS", "COMPLETED", "DISCONTINUED"],
    }


def _ups() -> dict[str, Any]:
    workitem = "/workitems/{workitem}"
    return {
        "resource": "/workitems",
        "transactions": {
            "search": {
                "method": "GET",
                "path": "",
                "parameters": ["ProcedureStepState", "PatientID", "limit", "offset"],
            },
            "retrieve": {"method": "GET", "path": workitem},
            "create": {"method": "POST", "path": "{?workitem}"},
            "update": {"method": "POST", "path": workitem + "?transaction={uid}"},
            "changeState": {"method": "PUT", "path": workitem + "/state"},
            "requestCancellation": {"method": "POST", "path": workitem + "/cancelrequest"},
            "subscribe": {"method": "POST", "path": workitem + "/subscribers/{aetitle}{?deletionlock}"},
            "unsubscribe": {"method": "DELETE", "path": workitem + "/subscribers/{aetitle}"},
            "suspendGlobalSubscription": {
                "method": "POST",
                "path": "/workitems/1.2.840.10008.5.1.4.34.5/subscribers/{aetitle}/suspend",
            },
        },
        "globalSubscription": "1.2.840.10008.5.1.4.34.5",
        "filteredSubscription": "1.2.840.10008.5.1.4.34.5.1",
        "states": ["SCHEDULED", "IN PROGRESS", "COMPLETED", "CANCELED"],
        "eventChannel": {
            "url": "ws://{host}:" + str(settings.RIS_DICOMWEB_EVENTS_PORT) + "/dicomweb/subscribers/{aetitle}",
            "events": [
                "UPS State Report",
                "UPS Cancel Requested",
                "UPS Progress Report",
                "SCP Status Change",
                "UPS Assigned",
            ],
        },
    }


def _mwl() -> dict[str, Any]:
    step_keys = [*STEP_KEYS, *STEP_DATE_TIME_KEYS]
    return {
        "resource": "/modality-scheduled-procedure-steps",
        "transactions": {
            "search": {"method": "GET", "media": [*MEDIA, 'multipart/related; type="application/dicom+xml"']}
        },
        "matchingKeys": [*TOP_LEVEL_KEYS] + [f"ScheduledProcedureStepSequence.{key}" for key in step_keys],
        "returnKeys": [*TOP_LEVEL_VALUES] + [f"ScheduledProcedureStepSequence.{key}" for key in STEP_VALUES],
        "matching": ["single value", "list of UIDs", "wildcard", "range", "sequence", "universal"],
        "personNamesIgnoreCase": bool(settings.RIS_MWL_NAME_IGNORE_CASE),
        "fuzzyMatching": False,
        "includefield": True,
        "paging": {"limit": True, "offset": True, "maxResults": int(settings.RIS_DICOMWEB_MAX_RESULTS)},
    }
