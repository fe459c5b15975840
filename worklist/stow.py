"""STOW-RS for radiation dose SRs (PS3.18 10.5): POST /dicomweb/studies[/{study}],
a multipart/related body of application/dicom parts, each a DICOM file.

Each part is kept or refused on its own (worklist/dose_store.py); the
answer is the Store Instances Response Module (PS3.18 10.5.3) in DICOM JSON:
200 when every instance was stored, 202 when some were, 409 when none was,
415 when the body is not multipart/related of application/dicom. The same
authentication as the REST API (settings REST_FRAMEWORK), and the
`store_dose` capability."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from io import BytesIO

from django.conf import settings
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ris.models import AuditEvent
from ris.records import Actor
from ris.roles import permission
from worklist.dose_store import CANNOT_UNDERSTAND, DATA_SET_DOES_NOT_MATCH, Stored, store_dose_object

log = logging.getLogger(__name__)

DICOM_JSON = "application/dicom+json"


class DicomJsonRenderer(BaseRenderer):
    media_type = DICOM_JSON
    format = "json"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:  # type: ignore[no-untyped-def]
        return json.dumps(data).encode() if data is not None else b""


class DicomJsonOnly(BaseContentNegotiation):
    """The response is DICOM JSON (PS3.18 F.2), whatever Accept says."""

    def select_parser(self, request, parsers):  # type: ignore[no-untyped-def]
        return None

    def select_renderer(self, request, renderers, format_suffix=None):  # type: ignore[no-untyped-def]
        return renderers[0], renderers[0].media_type


class CanStoreDose(IsAuthenticated):
    def has_permission(self, request, view) -> bool:  # type: ignore[no-untyped-def]
        return super().has_permission(request, view) and request.user.has_perm(permission("store_dose"))


@dataclass
class Part:
    content_type: str
    body: bytes


class MultipartError(ValueError):
    pass


def split_multipart(content_type: str, body: bytes) -> list[Part]:
    """The parts of a multipart/related body (RFC 2387, RFC 2046 5.1), bytes as sent."""
    params = _params(content_type)
    boundary = params.get("boundary", "")
    if not boundary:
        raise MultipartError("no boundary in Content-Type")
    delimiter = b"--" + boundary.encode("latin-1")
    chunks = body.split(delimiter)
    if len(chunks) < 3:
        raise MultipartError("no part in the body")
    parts = []
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break  # the close delimiter
        chunk = chunk.removeprefix(b"\r\n")
        head, separator, content = chunk.partition(b"\r\n\r\n")
        if not separator:
            raise MultipartError("a part without a header block")
        headers = _headers(head)
        parts.append(Part(headers.get("content-type", params.get("type", "")), content.removesuffix(b"\r\n")))
    return parts


def _params(content_type: str) -> dict[str, str]:
    params = {}
    for piece in content_type.split(";")[1:]:
        key, _, value = piece.strip().partition("=")
        params[key.strip().lower()] = value.strip().strip('"')
    return params


def _headers(head: bytes) -> dict[str, str]:
    headers = {}
    for line in head.decode("latin-1").split("\r\n"):
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    return headers


def _media_type(content_type: str) -> str:
    return content_type.split(";")[0].strip().lower()


class StowView(APIView):
    schema = None  # described in docs/dicom-conformance.md, not OpenAPI
    permission_classes = [CanStoreDose]
    renderer_classes = [DicomJsonRenderer]
    content_negotiation_class = DicomJsonOnly
    parser_classes: list = []  # type: ignore[type-arg]  # the body is read here, with a cap

    def post(self, request: Request, study: str = "") -> Response:
        content_type = request.META.get("CONTENT_TYPE", "")
        if _media_type(content_type) != "multipart/related" or _params(content_type).get("type", "").lower() not in (
            "application/dicom",
            "",
        ):
            return _refusal(415, 'the body must be multipart/related; type="application/dicom"')
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        if length > settings.RIS_STOW_MAX_BYTES:
            return _refusal(413, f"the body is over {settings.RIS_STOW_MAX_BYTES} bytes")
        body = request._request.read(settings.RIS_STOW_MAX_BYTES + 1)
        if len(body) > settings.RIS_STOW_MAX_BYTES:
            return _refusal(413, f"the body is over {settings.RIS_STOW_MAX_BYTES} bytes")
        try:
            parts = split_multipart(content_type, body)
        except MultipartError as exc:
            return _refusal(400, str(exc))
        if not any(_media_type(p.content_type) == "application/dicom" for p in parts):
            return _refusal(415, "no application/dicom part")
        actor = Actor(door=AuditEvent.Door.DICOM, user=request.user, address=request.META.get("REMOTE_ADDR", ""))
        results = [_store_part(part, actor, study) for part in parts]
        return _answer(results)


def _store_part(part: Part, actor: Actor, study: str) -> tuple[Dataset | None, Stored]:
    if _media_type(part.content_type) != "application/dicom":
        return None, Stored(CANNOT_UNDERSTAND, f"part of type {part.content_type or '(none)'} is not stored")
    try:  # forced: some writers (pydicom's dcmwrite among them) leave the preamble out
        ds = dcmread(BytesIO(part.body), force=True)
        readable = bool(ds.get("SOPClassUID")) and bool(ds.get("SOPInstanceUID"))
    except Exception:
        readable = False
    if not readable:
        return None, Stored(CANNOT_UNDERSTAND, "the part is not a DICOM file")
    if study and str(ds.get("StudyInstanceUID", "")) != study:
        return ds, Stored(DATA_SET_DOES_NOT_MATCH, "the instance belongs to another study")  # PS3.18 10.5.1
    return ds, store_dose_object(ds, part.body, actor)


def _answer(results: list[tuple[Dataset | None, Stored]]) -> Response:
    """The Store Instances Response Module (PS3.18 Table 10.5.3-1)."""
    module = Dataset()
    stored = [_reference(ds, outcome) for ds, outcome in results if outcome.ok]
    failed = [_reference(ds, outcome) for ds, outcome in results if not outcome.ok]
    if stored:
        module.ReferencedSOPSequence = Sequence(stored)
    if failed:
        module.FailedSOPSequence = Sequence(failed)
    reasons = [outcome.reason for _, outcome in results if not outcome.ok]
    for reason in reasons:
        log.warning("STOW-RS instance refused: %s", reason)
    status = 200 if not failed else (202 if stored else 409)
    response = Response(module.to_json_dict(), status=status)
    if reasons:  # PS3.18 8.3.5.1: the reasons in words, as Warning header fields
        response["Warning"] = ", ".join(f'299 RIS "{_quoted(r)}"' for r in reasons)
    return response


def _quoted(text: str) -> str:
    return text.replace("\\", "/").replace('"', "'")


def _reference(ds: Dataset | None, outcome: Stored) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = str(ds.get("SOPClassUID", "")) if ds is not None else ""
    item.ReferencedSOPInstanceUID = str(ds.get("SOPInstanceUID", "")) if ds is not None else ""
    if not outcome.ok:
        item.FailureReason = outcome.status
    return item


def _refusal(status: int, reason: str) -> Response:
    log.warning("STOW-RS request refused (%d): %s", status, reason)
    response = Response(None, status=status)
    response["Warning"] = f'299 RIS "{_quoted(reason)}"'
    return response
