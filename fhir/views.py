"""The FHIR R4 read API of the RIS: metadata, read and search (FHIR R4 http.html).

Answers are `application/fhir+json`. Every interaction but `metadata` needs
an authenticated user (token, session or basic); a refusal is an
OperationOutcome with 401. Errors map to HTTP where every HTTP door's do
(the REST framework's exception handler, settings REST_FRAMEWORK), which
answers an OperationOutcome for views marked `errors_as_operation_outcome`.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import Http404
from django.urls import reverse
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from fhir.capability import capability_statement
from fhir.resources_read import KINDS, Kind
from fhir.search import search_filter
from ris.actors import request_actor
from ris.exceptions import InvalidInput
from ris.models import AuditEvent
from ris.roles import permission
from ris.services.audit import audit_view, audit_view_many

DEFAULT_COUNT, MAX_COUNT = 50, 200


class FhirJsonRenderer(JSONRenderer):
    media_type = "application/fhir+json"
    format = "json"


class FhirOnly(BaseContentNegotiation):
    """Always FHIR JSON, whatever Accept says (application/json clients included)."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class CanViewPatients(IsAuthenticated):
    """FHIR reads show patient data: the role must allow viewing patients."""

    def has_permission(self, request, view) -> bool:
        return super().has_permission(request, view) and request.user.has_perm(permission("view_patients"))


class FhirView(APIView):
    # FHIR is described by its own CapabilityStatement (/fhir/metadata), not OpenAPI.
    schema = None
    # Token, session or Basic: the project's one policy (settings REST_FRAMEWORK).
    permission_classes = [CanViewPatients]
    renderer_classes = [FhirJsonRenderer]
    content_negotiation_class = FhirOnly
    errors_as_operation_outcome = True


class MetadataView(FhirView):
    # Clients read the CapabilityStatement before they authenticate (FHIR R4 http.html#capabilities).
    permission_classes = [AllowAny]

    def get(self, request):
        base = request.build_absolute_uri(reverse("fhir:metadata")).removesuffix("metadata")
        return Response(capability_statement(base))


class ReadView(FhirView):
    def get(self, request, kind: str, resource_id: str):
        found = _kind(kind)
        row = found.find(resource_id)
        if row is None:
            raise Http404(f"{kind}/{resource_id} is not known")
        audit_view(
            actor=request_actor(request, AuditEvent.Door.FHIR),
            patient=found.patient_of(row),
            obj=row,
            detail=f"{kind}/{resource_id}",
        )
        return Response(found.render(row))


class SearchView(FhirView):
    def get(self, request, kind: str):
        found = _kind(kind)
        params = {name: request.GET.getlist(name) for name in request.GET}
        rows = found.search(search_filter(kind, params), ids=params.get("_id", []))
        count, offset = _page(request)
        page = list(rows[offset : offset + count])
        patients = [found.patient_of(row) for row in page]
        audit_view_many(
            actor=request_actor(request, AuditEvent.Door.FHIR),
            patients=patients,
            object_type=kind,
            detail=f"{kind} search",
        )
        return Response(_searchset(request, found, page, rows.count(), count, offset))


def _kind(name: str) -> Kind:
    if name not in KINDS:
        raise Http404(f"resource type {name} is not served here")
    return KINDS[name]


def _page(request) -> tuple[int, int]:
    try:
        count = min(int(request.GET.get("_count", DEFAULT_COUNT)), MAX_COUNT)
        offset = int(request.GET.get("_offset", 0))
    except ValueError:
        raise InvalidInput("_count and _offset are whole numbers", field="_count") from None
    return max(count, 0), max(offset, 0)


def _searchset(request, kind: Kind, page: list, total: int, count: int, offset: int) -> dict:
    base = request.build_absolute_uri(request.path)
    entries = [_entry(request, kind, row) for row in page]
    links = [{"relation": "self", "url": request.build_absolute_uri()}]
    if offset + count < total:
        query = {**request.GET.dict(), "_offset": offset + count, "_count": count}
        links.append({"relation": "next", "url": f"{base}?{urlencode(query)}"})
    return {"resourceType": "Bundle", "type": "searchset", "total": total, "link": links, "entry": entries}


def _entry(request, kind: Kind, row) -> dict:
    resource = kind.render(row)
    url = request.build_absolute_uri(reverse("fhir:read", args=[kind.name, resource["id"]]))
    return {"fullUrl": url, "resource": resource, "search": {"mode": "match"}}
