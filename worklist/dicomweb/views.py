"""The DICOMweb worklist services' HTTP views: decode, call, encode.

Authentication is the project's one HTTP policy (settings REST_FRAMEWORK);
each answer that shows patients leaves one audit event naming them.
"""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ris.actors import request_actor
from ris.models import AuditEvent
from ris.services.audit import audit_view, worklist_query_view
from worklist.dicomweb.access import HasWorklistCapability
from worklist.dicomweb.capabilities import capabilities
from worklist.dicomweb.mpps_rs import (
    MppsAnswer,
    mpps_json,
    mpps_rs_create,
    mpps_rs_retrieve,
    mpps_rs_update,
    performed_patient,
)
from worklist.dicomweb.mwl import SearchAnswer, mwl_search, query_pairs
from worklist.dicomweb.negotiation import DicomJsonOnly, DicomJsonRenderer, dicom_json_body


class DicomWebView(APIView):
    schema = None  # described by its own capability statement (/dicomweb/), not OpenAPI
    permission_classes = [HasWorklistCapability]
    renderer_classes = [DicomJsonRenderer]
    parser_classes: list[type] = []
    content_negotiation_class = DicomJsonOnly


def answer(status: int, body: Any = None, warnings: tuple[str, ...] = (), **headers: str) -> Response:
    response = Response(body, status=status)
    for value in warnings:
        response["Warning"] = value if "Warning" not in response else f"{response['Warning']}, {value}"
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


class ScheduledStepsView(DicomWebView):
    """GET /dicomweb/modality-scheduled-procedure-steps?{query}: MWL-RS search."""

    def get(self, request: Request) -> Response:
        result: SearchAnswer = mwl_search(query_pairs(request))
        if result.status in (200, 204):
            worklist_query_view(
                actor=request_actor(request, door=AuditEvent.Door.DICOM),
                items=len(result.body or []),
                patient_ids=result.patient_ids,
                status=str(result.status),
                service="MWL-RS search",
            )
        body = result.body if result.status == 200 else ({"detail": result.reason} if result.reason else None)
        return answer(result.status, body, result.warnings)


def _mpps_answer(request: Request, result: MppsAnswer) -> Response:
    headers = {}
    if result.status == 201:
        headers["Location"] = request.build_absolute_uri(f"/dicomweb/modality-performed-procedure-steps/{result.uid}")
    return answer(result.status, result.body, result.warnings, **headers)


class PerformedStepsView(DicomWebView):
    """POST /dicomweb/modality-performed-procedure-steps: MPPS-RS create (the N-CREATE)."""

    def post(self, request: Request) -> Response:
        actor = request_actor(request, door=AuditEvent.Door.DICOM)
        return _mpps_answer(request, mpps_rs_create(dicom_json_body(request), actor=actor))


class PerformedStepView(DicomWebView):
    """GET, POST or PUT /dicomweb/modality-performed-procedure-steps/{uid}:
    MPPS-RS retrieve and update (the N-SET)."""

    def get(self, request: Request, uid: str) -> Response:
        pps = mpps_rs_retrieve(uid)
        if pps is None:
            return answer(404, {"detail": f"no performed procedure step {uid}"})
        audit_view(actor=request_actor(request, door=AuditEvent.Door.DICOM), patient=performed_patient(pps), obj=pps)
        return answer(200, mpps_json(pps))

    def post(self, request: Request, uid: str) -> Response:
        actor = request_actor(request, door=AuditEvent.Door.DICOM)
        return _mpps_answer(request, mpps_rs_update(uid, dicom_json_body(request), actor=actor))

    put = post


class CapabilitiesView(APIView):
    """GET /dicomweb/: what these services support, as JSON (no patient data)."""

    schema = None
    permission_classes = [AllowAny]
    authentication_classes: list[type] = []
    renderer_classes = [JSONRenderer]

    def get(self, request: Request) -> Response:
        return Response(capabilities(request.build_absolute_uri("/dicomweb")))

    def options(self, request: Request, *args: Any, **kwargs: Any) -> Response:  # type: ignore[override]
        return self.get(request)
