"""What a DICOMweb worklist answer may be (PS3.18 8.7.3, 6.1.1.8): DICOM
JSON, chosen for `application/dicom+json`, `application/json`, `*/*` or no
Accept at all; DICOM XML (multipart/related) where a view serves it and the
client asks it and not JSON; anything else is 406 Not Acceptable."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from rest_framework.exceptions import NotAcceptable, UnsupportedMediaType
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer

from worklist.dicomweb.json import MEDIA_TYPE
from worklist.dicomweb.xml import MEDIA_TYPE as XML_MEDIA_TYPE

ACCEPTED = {MEDIA_TYPE, "application/json", "*/*", "application/*"}


class DicomJsonRenderer(BaseRenderer):
    media_type = MEDIA_TYPE
    format = "dicom+json"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        return b"" if data is None else json.dumps(data, ensure_ascii=False).encode("utf-8")


class DicomJsonOnly(BaseContentNegotiation):
    def select_parser(self, request: Any, parsers: Iterable[BaseParser]) -> BaseParser | None:
        return None  # bodies are read by `dicom_json_body`, with their reasons

    def select_renderer(self, request: Any, renderers: Iterable[BaseRenderer], format_suffix: str | None = None) -> Any:
        renderer = next(iter(renderers))
        accept = request.META.get("HTTP_ACCEPT", "")
        view = (getattr(request, "parser_context", None) or {}).get("view")
        if acceptable(accept) or (getattr(view, "serves_xml", False) and wants_xml(accept)):
            return renderer, renderer.media_type  # an XML answer is built by the view itself
        raise NotAcceptable(f"only {MEDIA_TYPE} is served here")


def dicom_json_body(request: Any) -> bytes:
    """The body of a request that must carry DICOM JSON (else 415)."""
    content_type = str(request.content_type or "").split(";")[0].strip().lower()
    if content_type not in (MEDIA_TYPE, "application/json"):
        raise UnsupportedMediaType(content_type or "none", f"send {MEDIA_TYPE}")
    return bytes(request.body)


def wants_xml(accept: str) -> bool:
    """True when the Accept header asks DICOM XML (PS3.18 8.7.3.4) and not JSON."""
    if acceptable(accept):
        return False
    for part in accept.split(","):
        media, _, parameters = part.partition(";")
        media, parameters = media.strip().lower(), parameters.replace(" ", "").lower()
        if "q=0" in parameters.split(";")[-1:]:
            continue
        if media == XML_MEDIA_TYPE or (media == "multipart/related" and XML_MEDIA_TYPE in parameters):
            return True
    return False


def acceptable(accept: str) -> bool:
    """True when the Accept header allows DICOM JSON (any quality above zero)."""
    if not accept.strip():
        return True
    for part in accept.split(","):
        media, _, parameters = part.partition(";")
        if media.strip().lower() in ACCEPTED and "q=0" not in parameters.replace(" ", "").split(";")[-1:]:
            return True
    return False
