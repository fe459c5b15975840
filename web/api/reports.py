"""Reports over REST, for dictation systems: create a draft, sign, correct, add.

POST /api/reports/                      draft for a procedure (by id or accession)
POST /api/reports/{id}/sign/            {"status": "preliminary" | "final", "critical_category"}
POST /api/reports/{id}/correct/         {"findings", "impression", "critical_category"}
POST /api/reports/{id}/addendum/        {"text", "critical_category"}
GET  /api/reports/[?accession_number=]   reports with their versions, newest first
GET  /api/reports/{id}/
Domain refusals map to HTTP where every HTTP door's do (web/errors.py).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from ris.actors import request_actor
from ris.exceptions import InvalidInput
from ris.models import AuditEvent, Report, RequestedProcedure
from ris.roles import permission
from ris.services import reports as services
from web.api import serializers as s
from web.api.audit import AuditedReads
from web.api.permissions import HasCapability


def find_procedure(data: dict[str, Any]) -> RequestedProcedure:
    if "procedure" in data:
        return get_object_or_404(RequestedProcedure, pk=data["procedure"])
    rows = RequestedProcedure.objects.filter(order__accession_number=data["accession_number"])
    if "requested_procedure_id" in data:
        rows = rows.filter(requested_procedure_id=data["requested_procedure_id"])
    if rows.count() > 1:
        raise InvalidInput(
            "the order has several procedures: give requested_procedure_id", field="requested_procedure_id"
        )
    return get_object_or_404(rows)


ACCESSION = OpenApiParameter("accession_number", str, description="only the reports of this order")


@extend_schema_view(
    list=extend_schema(parameters=[ACCESSION]),
    retrieve=extend_schema(responses={200: s.ReportSerializer, **s.error_answers(404)}),
)
class ReportViewSet(AuditedReads, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Report]):
    permission_classes = [HasCapability]
    read_capability, write_capability = "view_patients", "write_reports"
    patient_path = "order.patient"
    serializer_class = s.ReportSerializer
    queryset = (
        Report.objects.select_related("order__patient", "procedure")
        .prefetch_related("versions__author", "versions__signer")
        .order_by("-pk")
    )

    def get_serializer_context(self) -> dict[str, Any]:
        # Unsigned text is for those who write reports; others see signed versions only.
        return {**super().get_serializer_context(), "drafts": self.request.user.has_perm(permission("write_reports"))}

    def get_queryset(self) -> QuerySet[Report]:
        rows = super().get_queryset()
        accession = self.request.query_params.get("accession_number")
        return rows.filter(order__accession_number=accession) if accession else rows

    @extend_schema(
        request=s.ReportDraftSerializer, responses={201: s.ReportSerializer, **s.error_answers(400, 404, 409)}
    )
    def create(self, request: Request) -> Response:
        data = s.valid(s.ReportDraftSerializer, request.data)
        version = services.report_save_draft(
            procedure=find_procedure(data),
            author=request.user,
            findings=data["findings"],
            impression=data["impression"],
            actor=request_actor(request, AuditEvent.Door.API),
        )
        return self._answer(version.report, status.HTTP_201_CREATED)

    @extend_schema(
        request=s.ReportSignSerializer, responses={200: s.ReportSerializer, **s.error_answers(400, 404, 409)}
    )
    @action(detail=True, methods=["post"])
    def sign(self, request: Request, pk: str | None = None) -> Response:
        data = s.valid(s.ReportSignSerializer, request.data)
        services.report_sign(
            report=self.get_object(),
            signer=request.user,
            status=data["status"].upper(),
            critical_category=data["critical_category"],
            actor=request_actor(request, AuditEvent.Door.API),
        )
        return self._answer(self.get_object())

    @extend_schema(
        request=s.ReportCorrectSerializer, responses={200: s.ReportSerializer, **s.error_answers(400, 404, 409)}
    )
    @action(detail=True, methods=["post"])
    def correct(self, request: Request, pk: str | None = None) -> Response:
        data = s.valid(s.ReportCorrectSerializer, request.data)
        services.report_correct(
            report=self.get_object(),
            signer=request.user,
            actor=request_actor(request, AuditEvent.Door.API),
            **data,
        )
        return self._answer(self.get_object())

    @extend_schema(
        request=s.ReportAddendumSerializer, responses={200: s.ReportSerializer, **s.error_answers(400, 404, 409)}
    )
    @action(detail=True, methods=["post"])
    def addendum(self, request: Request, pk: str | None = None) -> Response:
        data = s.valid(s.ReportAddendumSerializer, request.data)
        services.report_addendum(
            report=self.get_object(),
            signer=request.user,
            text=data["text"],
            critical_category=data["critical_category"],
            actor=request_actor(request, AuditEvent.Door.API),
        )
        return self._answer(self.get_object())

    def _answer(self, report: Report, code: int = status.HTTP_200_OK) -> Response:
        row = self.get_queryset().get(pk=report.pk)
        return Response(s.ReportSerializer(row, context=self.get_serializer_context()).data, status=code)
