"""Reports over REST, for dictation systems: create a draft, sign, correct, add.

POST /api/reports/                      draft for a procedure (by id or accession)
POST /api/reports/{id}/sign/            {"status": "preliminary" | "final"}
POST /api/reports/{id}/correct/         {"findings", "impression"}
POST /api/reports/{id}/addendum/        {"text"}
GET  /api/reports/[?accession_number=]   reports with their versions, newest first
GET  /api/reports/{id}/
Domain refusals map to HTTP here: IllegalTransition 409, InvalidInput 400.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.authentication import BasicAuthentication, SessionAuthentication, TokenAuthentication
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response

from ris.exceptions import IllegalTransition, InvalidInput
from ris.models import AuditEvent, Report, ReportVersion, RequestedProcedure
from ris.services import reports as services
from web.access import actor_from_request
from web.api.permissions import HasCapability


class VersionSerializer(serializers.ModelSerializer):
    # Declared: a model PositiveIntegerField's bounds differ per database, the schema must not.
    number = serializers.IntegerField(read_only=True, min_value=1)
    author = serializers.StringRelatedField()
    signer = serializers.StringRelatedField()

    class Meta:
        model = ReportVersion
        fields = ["number", "status", "findings", "impression", "addenda", "author", "signer", "signed_at"]


class ReportSerializer(serializers.ModelSerializer):
    accession_number = serializers.CharField(source="order.accession_number")
    study_instance_uid = serializers.CharField(source="procedure.study_instance_uid")
    versions = VersionSerializer(many=True)

    class Meta:
        model = Report
        fields = ["id", "uid", "accession_number", "procedure", "study_instance_uid", "status", "versions"]


class DraftInput(serializers.Serializer):
    procedure = serializers.IntegerField(required=False)
    accession_number = serializers.CharField(required=False)
    requested_procedure_id = serializers.CharField(required=False)
    findings = serializers.CharField(allow_blank=True, default="")
    impression = serializers.CharField(allow_blank=True, default="")

    def validate(self, data):
        if "procedure" not in data and "accession_number" not in data:
            raise ValidationError("give the procedure id or the accession number")
        return data


class SignInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=["preliminary", "final"])


class CorrectInput(serializers.Serializer):
    findings = serializers.CharField(allow_blank=True, default="")
    impression = serializers.CharField(allow_blank=True, default="")


class AddendumInput(serializers.Serializer):
    text = serializers.CharField()


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "illegal_transition"


def find_procedure(data: dict) -> RequestedProcedure:
    if "procedure" in data:
        return get_object_or_404(RequestedProcedure, pk=data["procedure"])
    rows = RequestedProcedure.objects.filter(order__accession_number=data["accession_number"])
    if "requested_procedure_id" in data:
        rows = rows.filter(requested_procedure_id=data["requested_procedure_id"])
    if rows.count() > 1:
        raise ValidationError("the order has several procedures: give requested_procedure_id")
    return get_object_or_404(rows)


class ReportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    authentication_classes = [TokenAuthentication, SessionAuthentication, BasicAuthentication]
    permission_classes = [HasCapability]
    read_capability, write_capability = "view_patients", "write_reports"
    serializer_class = ReportSerializer
    queryset = (
        Report.objects.select_related("order", "procedure")
        .prefetch_related("versions__author", "versions__signer")
        .order_by("-pk")
    )

    def get_queryset(self):
        rows = super().get_queryset()
        accession = self.request.query_params.get("accession_number")
        return rows.filter(order__accession_number=accession) if accession else rows

    def handle_exception(self, exc):
        if isinstance(exc, IllegalTransition):
            exc = Conflict(str(exc))
        elif isinstance(exc, InvalidInput):
            exc = ValidationError({exc.field or "detail": [str(exc)]})
        return super().handle_exception(exc)

    def create(self, request):
        data = _valid(DraftInput, request)
        version = services.report_save_draft(
            procedure=find_procedure(data),
            author=request.user,
            findings=data["findings"],
            impression=data["impression"],
            actor=actor_from_request(request, AuditEvent.Door.API),
        )
        return self._answer(version.report, status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"])
    def sign(self, request, pk=None):
        data = _valid(SignInput, request)
        services.report_sign(
            report=self.get_object(),
            signer=request.user,
            status=data["status"].upper(),
            actor=actor_from_request(request, AuditEvent.Door.API),
        )
        return self._answer(self.get_object())

    @action(detail=True, methods=["post"])
    def correct(self, request, pk=None):
        data = _valid(CorrectInput, request)
        services.report_correct(
            report=self.get_object(),
            signer=request.user,
            actor=actor_from_request(request, AuditEvent.Door.API),
            **data,
        )
        return self._answer(self.get_object())

    @action(detail=True, methods=["post"])
    def addendum(self, request, pk=None):
        data = _valid(AddendumInput, request)
        services.report_addendum(
            report=self.get_object(),
            signer=request.user,
            text=data["text"],
            actor=actor_from_request(request, AuditEvent.Door.API),
        )
        return self._answer(self.get_object())

    def _answer(self, report: Report, code: int = status.HTTP_200_OK) -> Response:
        return Response(ReportSerializer(self.get_queryset().get(pk=report.pk)).data, status=code)


def _valid(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
