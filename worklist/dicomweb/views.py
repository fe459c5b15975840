"""The DICOMweb worklist services' HTTP views: decode, call, encode.

Authentication is the project's one HTTP policy (settings REST_FRAMEWORK);
each answer that shows patients leaves one audit event naming them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from django.db.models import Q
from django.http import HttpResponse
from pydicom.dataset import Dataset
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ris.actors import request_actor
from ris.models import AuditEvent, Patient
from ris.records import Actor
from ris.selectors.worklist import PATIENT
from ris.services.audit import audit_view, audit_view_many
from ris.uids import new_uid
from worklist.dicomweb import subscriptions, ups
from worklist.dicomweb.access import HasWorklistCapability
from worklist.dicomweb.capabilities import capabilities
from worklist.dicomweb.json import InvalidDicomJson, datasets_from_body
from worklist.dicomweb.mpps_rs import (
    MppsAnswer,
    mpps_json,
    mpps_rs_create,
    mpps_rs_retrieve,
    mpps_rs_update,
    performed_patient,
)
from worklist.dicomweb.mwl import SearchAnswer, mwl_search, query_pairs, warning
from worklist.dicomweb.negotiation import DicomJsonOnly, DicomJsonRenderer, dicom_json_body, wants_xml
from worklist.dicomweb.params import max_results
from worklist.dicomweb.xml import multipart


class DicomWebView(APIView):
    schema = None  # described by its own capability statement (/dicomweb/), not OpenAPI
    permission_classes = [HasWorklistCapability]
    renderer_classes = [DicomJsonRenderer]
    parser_classes: list[type] = []
    content_negotiation_class = DicomJsonOnly


def audit_shown(request: Request, keys: Iterable[tuple[str, str]], detail: str) -> None:
    """One event per answer, naming the patients shown (by their records), as every HTTP door does."""
    condition = Q()
    for patient_id, issuer in keys:
        condition |= Q(patient_id=patient_id, issuer=issuer)
    patients = list(Patient.objects.filter(condition)) if condition else []
    audit_view_many(actor=_actor(request), patients=patients, object_type="worklist", detail=detail)


def answer(status: int, body: Any = None, warnings: tuple[str, ...] = (), **headers: str) -> Response:
    response = Response(body, status=status)
    for value in warnings:
        response["Warning"] = value if "Warning" not in response else f"{response['Warning']}, {value}"
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


class ScheduledStepsView(DicomWebView):
    """GET /dicomweb/modality-scheduled-procedure-steps?{query}: MWL-RS search,
    as DICOM JSON or, when asked, DICOM XML."""

    serves_xml = True

    def get(self, request: Request) -> Response | HttpResponse:
        result: SearchAnswer = mwl_search(query_pairs(request))
        if result.status in (200, 204):
            audit_shown(request, result.patients, f"MWL-RS search {result.status}: {len(result.body or [])} item(s)")
        if result.status == 200 and wants_xml(request.META.get("HTTP_ACCEPT", "")):
            return _xml_answer(result)
        body = result.body if result.status == 200 else ({"detail": result.reason} if result.reason else None)
        return answer(result.status, body, result.warnings)


def _xml_answer(result: SearchAnswer) -> HttpResponse:
    body, content_type = multipart(result.body or [])
    response = HttpResponse(body, content_type=content_type)
    if result.warnings:
        response["Warning"] = ", ".join(result.warnings)
    return response


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


def _ups(call: Any) -> Response:
    """Run one UPS-RS change; a refusal of the state machine is its HTTP status with the reason."""
    try:
        return cast(Response, call())
    except ups.UpsRefused as exc:
        return answer(exc.status, {"detail": str(exc)}, (warning(str(exc)),))
    except InvalidDicomJson as exc:
        return answer(400, {"detail": str(exc)}, (warning(str(exc)),))


def _actor(request: Request) -> Actor:
    return request_actor(request, door=AuditEvent.Door.DICOM)


class WorkitemsView(DicomWebView):
    """GET /dicomweb/workitems?{query}: UPS-RS search (ProcedureStepState,
    PatientID, limit, offset); POST {?workitem}: create (an order with one step)."""

    def get(self, request: Request) -> Response:
        states = [value for value in request.GET.getlist("ProcedureStepState") if value]
        found = list(ups.workitems(states=states, patient_id=request.GET.get("PatientID", "")))
        offset, limit = _count(request, "offset", 0), _count(request, "limit", max_results())
        shown = found[offset : offset + min(limit, max_results())]
        keys = {(work.row[f"{PATIENT}patient_id"], work.row[f"{PATIENT}issuer"] or "") for work in shown}
        audit_shown(request, keys, f"UPS-RS search: {len(shown)} workitem(s)")
        if not shown:
            return answer(204)
        return answer(200, [ups.workitem_json(work) for work in shown])

    def post(self, request: Request) -> Response:
        def create() -> Response:
            (ds,) = _datasets(request)
            uid = str(request.GET.get("workitem") or ds.get("SOPInstanceUID", "") or "") or new_uid()
            work = ups.ups_create(ds, uid=uid, actor=_actor(request))
            location = request.build_absolute_uri(f"/dicomweb/workitems/{work.item.uid}")
            return answer(201, None, Location=location)

        return _ups(create)


class WorkitemView(DicomWebView):
    """GET /dicomweb/workitems/{uid}: retrieve; POST ?{transaction}: update (progress, assignment)."""

    def get(self, request: Request, uid: str) -> Response:
        def retrieve() -> Response:
            work = ups.workitem(uid)
            keys = {(work.row[f"{PATIENT}patient_id"], work.row[f"{PATIENT}issuer"] or "")}
            audit_shown(request, keys, f"UPS-RS workitem {uid}")
            return answer(200, [ups.workitem_json(work)])

        return _ups(retrieve)

    def post(self, request: Request, uid: str) -> Response:
        def update() -> Response:
            (ds,) = _datasets(request)
            work = ups.ups_update(uid, ds, transaction_uid=_transaction_uid(request, ds), actor=_actor(request))
            return answer(200, [ups.workitem_json(work)])

        return _ups(update)


class WorkitemStateView(DicomWebView):
    """PUT /dicomweb/workitems/{uid}/state: change state (claim, complete, cancel)."""

    def put(self, request: Request, uid: str) -> Response:
        def change() -> Response:
            (ds,) = _datasets(request)
            state = str(ds.get("ProcedureStepState", "") or "")
            ups.ups_change_state(uid, state=state, transaction_uid=_transaction_uid(request, ds), actor=_actor(request))
            return answer(200)

        return _ups(change)


class WorkitemCancelView(DicomWebView):
    """POST /dicomweb/workitems/{uid}/cancelrequest: request cancellation."""

    def post(self, request: Request, uid: str) -> Response:
        def cancel() -> Response:
            body = dicom_json_body(request) if request.body else b""
            ds = _one(body) if body else None
            reason = str(ds.get("ReasonForCancellation", "") or "") if ds is not None else ""
            return answer(ups.ups_request_cancel(uid, reason=reason, actor=_actor(request)))

        return _ups(cancel)


class SubscriptionView(DicomWebView):
    """POST / DELETE /dicomweb/workitems/{uid}/subscribers/{aetitle}: subscribe
    (the UID of one workitem, or the global / filtered well-known UIDs) and unsubscribe."""

    def post(self, request: Request, uid: str, ae_title: str) -> Response:
        def subscribe() -> Response:
            lock = request.GET.get("deletionlock", "false").lower() == "true"
            filters = _filter_of(request)
            return answer(subscriptions.ups_subscribe(uid, ae_title, deletion_lock=lock, filter_parameters=filters))

        return _ups(subscribe)

    def delete(self, request: Request, uid: str, ae_title: str) -> Response:
        def unsubscribe() -> Response:
            subscriptions.ups_unsubscribe(uid, ae_title)
            return answer(200)

        return _ups(unsubscribe)


class SuspendView(DicomWebView):
    """POST /dicomweb/workitems/1.2.840.10008.5.1.4.34.5/subscribers/{aetitle}/suspend."""

    def post(self, request: Request, uid: str, ae_title: str) -> Response:
        def suspend() -> Response:
            subscriptions.ups_suspend(ae_title)
            return answer(200)

        return _ups(suspend)


def _filter_of(request: Request) -> dict[str, str]:
    """A filtered subscription's keys: `filter=Key=Value` (repeatable) or `Key=Value` parameters."""
    keys: dict[str, str] = {}
    for name in request.GET:
        for value in request.GET.getlist(name):
            if name == "filter":
                for pair in value.split(","):
                    key, _, wanted = pair.partition("=")
                    if key:
                        keys[key.strip()] = wanted.strip()
            elif name != "deletionlock":
                keys[str(name)] = str(value)
    return keys


def _datasets(request: Request) -> list[Dataset]:
    return [_one(dicom_json_body(request))]


def _one(body: bytes) -> Dataset:
    datasets = datasets_from_body(body)
    if len(datasets) != 1:
        raise InvalidDicomJson("the body must hold exactly one dataset")
    return datasets[0]


def _transaction_uid(request: Request, ds: Dataset) -> str:
    # PS3.18 11.6.1: in the query (?{transaction}) for an update; (0008,1195) in the body of a state change
    return str(request.GET.get("transaction") or ds.get("TransactionUID", "") or "")


def _count(request: Request, name: str, default: int) -> int:
    value = request.GET.get(name, "")
    return int(value) if value.isdigit() else default


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
