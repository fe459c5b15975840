"""What the API shows and accepts. Input serializers decode into service
arguments; the error bodies are described here for the schema."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import build_array_type, build_object_type
from drf_spectacular.utils import OpenApiResponse, extend_schema_field
from rest_framework import serializers

from hl7.models import InboundMessage
from ris.models import (
    Appointment,
    ImagingOrder,
    Patient,
    Procedure,
    Report,
    ReportVersion,
    RequestedProcedure,
    Room,
    SafetyRecord,
    ScheduledProcedureStep,
)
from ris.names import PersonName, group_problem
from ris.services.safety_rules import current_screening, flags_for_orders, safety_flags, screenings_for_orders
from ris.states import CriticalCategory, Priority, ReportStatus, StepStatus, VettingStatus

LO_MAX = 64  # PS3.5 Table 6.2-1 LO


def valid(serializer_class: type[serializers.Serializer[Any]], data: Any, **kwargs: Any) -> dict[str, Any]:
    """The decoded input, or a 400 naming each input at fault."""
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class PatientSerializer(serializers.ModelSerializer):
    class Meta:
        model = Patient
        fields = [
            "id",
            "patient_id",
            "issuer",
            "name",
            "name_ideographic",
            "name_phonetic",
            "birth_date",
            "sex",
            "merged_into",
            "created_at",
            "updated_at",
        ]


class StepSerializer(serializers.ModelSerializer):
    accession_number = serializers.CharField(source="requested_procedure.order.accession_number", read_only=True)
    room = serializers.IntegerField(source="appointment.room_id", read_only=True, default=None)
    expected_duration_minutes = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = ScheduledProcedureStep
        fields = [
            "id",
            "sps_id",
            "requested_procedure",
            "accession_number",
            "modality",
            "station_ae_title",
            "station_name",
            "location",
            "start",
            "expected_duration_minutes",
            "performing_physician",
            "description",
            "status",
            "room",
            "status_reason",
            "scheduling_note",
            "protocol_code_value",
            "protocol_code_scheme",
            "protocol_code_meaning",
        ]
        read_only_fields = [
            "status_reason",
            "scheduling_note",
            "protocol_code_value",
            "protocol_code_scheme",
            "protocol_code_meaning",
        ]


class RequestedProcedureSerializer(serializers.ModelSerializer):
    steps = StepSerializer(many=True, read_only=True)

    class Meta:
        model = RequestedProcedure
        fields = [
            "id",
            "requested_procedure_id",
            "code_value",
            "code_scheme",
            "code_meaning",
            "description",
            "study_instance_uid",
            "steps",
        ]


class ScreeningValueSerializer(serializers.ModelSerializer):
    """The current value of one safety screening item, with who recorded it and when."""

    class Meta:
        model = SafetyRecord
        fields = ["item", "value", "number", "measured_on", "detail", "source", "recorded_by", "recorded_at"]


class SafetyFlagSerializer(serializers.Serializer):
    rule = serializers.CharField(
        help_text="contrast_egfr, contrast_allergy, contrast_weight, mr_safety, "
        "pregnancy_radiation, or alert (an exam started against a rule)"
    )
    message = serializers.CharField()


class OrderListSerializer(serializers.ListSerializer):
    """A page of orders reads its screening and flags in a few queries, not per order."""

    def to_representation(self, data: Any) -> list[Any]:
        orders = list(data.all() if hasattr(data, "all") else data)
        ids = [order.pk for order in orders]
        context = self.context  # the root's, which the child reads too
        assert isinstance(context, dict)
        context["screenings"] = screenings_for_orders(ids)
        context["safety_flags"] = flags_for_orders(ids)
        return super().to_representation(orders)


class OrderSerializer(serializers.ModelSerializer):
    patient = PatientSerializer(read_only=True)
    procedures = RequestedProcedureSerializer(many=True, read_only=True)
    vetting_status = serializers.ChoiceField(choices=VettingStatus.choices, read_only=True)
    vetting_reason = serializers.CharField(read_only=True)
    vetted_at = serializers.DateTimeField(read_only=True, allow_null=True)
    screening = serializers.SerializerMethodField()
    safety_flags = serializers.SerializerMethodField()

    @extend_schema_field(ScreeningValueSerializer(many=True))
    def get_screening(self, order: ImagingOrder) -> list[dict[str, Any]]:
        batch = self.context.get("screenings")
        current = batch.get(order.pk, {}) if batch is not None else current_screening(order)
        return [dict(ScreeningValueSerializer(record).data) for _item, record in sorted(current.items())]

    @extend_schema_field(SafetyFlagSerializer(many=True))
    def get_safety_flags(self, order: ImagingOrder) -> list[dict[str, Any]]:
        batch = self.context.get("safety_flags")
        flags = batch.get(order.pk, []) if batch is not None else safety_flags(order)
        return [{"rule": flag.rule, "message": flag.message} for flag in flags]

    class Meta:
        model = ImagingOrder
        list_serializer_class = OrderListSerializer
        fields = [
            "id",
            "accession_number",
            "placer_system",
            "placer_number",
            "filler_number",
            "patient",
            "ordering_physician",
            "referring_physician",
            "reason",
            "priority",
            "status",
            "vetting_status",
            "vetting_reason",
            "vetted_at",
            "screening",
            "safety_flags",
            "procedures",
            "created_at",
            "updated_at",
        ]


class VettingSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["accept", "reject", "return"])
    reason = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default="", help_text="to reject or return"
    )
    protocols = serializers.DictField(
        child=serializers.IntegerField(), required=False, default=dict, help_text="requested procedure id: protocol id"
    )


class OrderPlaceSerializer(serializers.Serializer):
    """A manual order: the patient and one catalogue procedure."""

    patient_id = serializers.CharField(max_length=64)
    issuer = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    patient_name = serializers.CharField(max_length=320, help_text="DICOM PN, e.g. DOE^JANE")
    birth_date = serializers.DateField(required=False, allow_null=True, default=None)
    sex = serializers.ChoiceField(choices=["", "F", "M", "O"], required=False, allow_blank=True, default="")
    procedure_code = serializers.SlugRelatedField(
        slug_field="code", queryset=Procedure.objects.all(), source="procedure"
    )
    priority = serializers.ChoiceField(choices=Priority.choices, default=Priority.ROUTINE)
    placer_number = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    accession_number = serializers.CharField(max_length=16, required=False, allow_blank=True, default="")
    referring_physician = serializers.CharField(max_length=320, required=False, allow_blank=True, default="")
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")

    # What reaches DICOM must fit it: PN 64 characters per component group,
    # Reason for the Requested Procedure (0040,1002) LO 64 (PS3.5 Table 6.2-1).
    def validate_patient_name(self, value: str) -> str:
        return _person_name(value, "The patient's name")

    def validate_referring_physician(self, value: str) -> str:
        return _person_name(value, "The referring physician's name")

    def validate_reason(self, value: str) -> str:
        if len(value) > LO_MAX:
            raise serializers.ValidationError(f"The reason is {len(value)} characters long; at most {LO_MAX} fit")
        return value


def _person_name(value: str, label: str) -> str:
    name = PersonName.from_dicom(value)
    for group in (name.alphabetic, name.ideographic, name.phonetic):
        problem = group_problem(label, group)
        if problem:
            raise serializers.ValidationError(problem)
    return value


class StepStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=StepStatus.choices)


class ReasonSerializer(serializers.Serializer):
    """Why a person cancels, unbooks, records a no-show or starts an exam outside the modality."""

    reason = serializers.CharField(max_length=200)


class SlotSerializer(serializers.Serializer):
    room = serializers.IntegerField(source="room.pk")
    room_code = serializers.CharField(source="room.code")
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()


class ProcedureSerializer(serializers.ModelSerializer):
    class Meta:
        model = Procedure
        fields = ["id", "code", "name", "modality", "default_duration_minutes", "preparation_instructions", "rooms"]


class RoomSerializer(serializers.ModelSerializer):
    class Meta:
        model = Room
        fields = ["id", "code", "name", "modality", "station", "capacity", "is_active"]


class BookingSerializer(serializers.ModelSerializer):
    duration_minutes = serializers.SerializerMethodField()

    class Meta:
        model = Appointment
        fields = [
            "id",
            "step",
            "room",
            "patient",
            "start",
            "end",
            "duration_minutes",
            "booked_by",
            "booked_at",
            "no_show",
            "updated_at",
        ]

    def get_duration_minutes(self, appointment) -> int:
        return int((appointment.end - appointment.start).total_seconds() // 60)


class BookingCreateSerializer(serializers.Serializer):
    step = serializers.PrimaryKeyRelatedField(queryset=ScheduledProcedureStep.objects.all())
    room = serializers.PrimaryKeyRelatedField(queryset=Room.objects.all())
    start = serializers.DateTimeField()
    duration_minutes = serializers.IntegerField(min_value=1, max_value=1440, required=False, allow_null=True)
    safety_override = serializers.CharField(
        max_length=200, required=False, help_text="the reason to book against a safety rule (override_safety)"
    )


class BookingChangeSerializer(serializers.Serializer):
    """Give `start` (and optionally `room`) to move, `duration_minutes` to resize."""

    room = serializers.PrimaryKeyRelatedField(queryset=Room.objects.all(), required=False)
    start = serializers.DateTimeField(required=False)
    duration_minutes = serializers.IntegerField(min_value=1, max_value=1440, required=False)
    reason = serializers.CharField(
        max_length=200, required=False, help_text="with a move: a reschedule the EHR hears of"
    )


class MessageSerializer(serializers.ModelSerializer):
    raw = serializers.SerializerMethodField()

    class Meta:
        model = InboundMessage
        fields = [
            "id",
            "protocol",
            "received_at",
            "peer",
            "sending_application",
            "sending_facility",
            "control_id",
            "message_type",
            "version",
            "status",
            "ack_code",
            "ack",
            "error",
            "order",
            "raw",
        ]

    def get_raw(self, message) -> str:
        return bytes(message.raw).decode("latin-1")


class VersionSerializer(serializers.ModelSerializer[ReportVersion]):
    # Declared: a model PositiveIntegerField's bounds differ per database, the schema must not.
    number = serializers.IntegerField(read_only=True, min_value=1)
    # Null until the version is signed (signer), or where no person wrote it (author).
    author: serializers.StringRelatedField[Any] = serializers.StringRelatedField(allow_null=True)
    signer: serializers.StringRelatedField[Any] = serializers.StringRelatedField(allow_null=True)

    class Meta:
        model = ReportVersion
        fields = [
            "number",
            "status",
            "findings",
            "impression",
            "addenda",
            "author",
            "signer",
            "signed_at",
            "critical_category",
        ]


class ReportSerializer(serializers.ModelSerializer[Report]):
    accession_number = serializers.CharField(source="order.accession_number")
    study_instance_uid = serializers.CharField(source="procedure.study_instance_uid")
    versions = VersionSerializer(many=True)

    class Meta:
        model = Report
        fields = ["id", "uid", "accession_number", "procedure", "study_instance_uid", "status", "versions"]

    def to_representation(self, instance: Report) -> dict[str, Any]:
        """An unsigned draft's text only for roles that write reports (context `drafts`)."""
        data = super().to_representation(instance)
        if not self.context.get("drafts", False):
            data["versions"] = [v for v in data["versions"] if v["status"] != ReportStatus.DRAFT]
        return data


class ReportDraftSerializer(serializers.Serializer[Any]):
    """A draft for a procedure, named by its id or by the order's accession number."""

    procedure = serializers.IntegerField(required=False, help_text="the requested procedure's id")
    accession_number = serializers.CharField(required=False)
    requested_procedure_id = serializers.CharField(
        required=False, help_text="with accession_number, when the order has several procedures"
    )
    findings = serializers.CharField(allow_blank=True, default="")
    impression = serializers.CharField(allow_blank=True, default="")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "procedure" not in attrs and "accession_number" not in attrs:
            raise serializers.ValidationError("give the procedure id or the accession number")
        return attrs


def _critical_category() -> serializers.ChoiceField:
    return serializers.ChoiceField(
        choices=CriticalCategory.choices,
        allow_blank=True,
        default="",
        help_text="a critical finding: CRITICAL, URGENT or UNEXPECTED (docs/critical-results.md); empty: none",
    )


class ReportSignSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=["preliminary", "final"])
    critical_category = _critical_category()


class ReportCorrectSerializer(serializers.Serializer[Any]):
    findings = serializers.CharField(allow_blank=True, default="")
    impression = serializers.CharField(allow_blank=True, default="")
    critical_category = _critical_category()


class ReportAddendumSerializer(serializers.Serializer[Any]):
    text = serializers.CharField()
    critical_category = _critical_category()


class RefusalSerializer(serializers.Serializer[Any]):
    """A refused request: which refusal, and why in words."""

    error = serializers.CharField(help_text="the refusal's name: IllegalTransition, RoomFull, NotFound...")
    detail = serializers.CharField()
    field = serializers.CharField(required=False, help_text="the input at fault, when one is")


class FieldErrorsSerializer(serializers.Serializer[Any]):
    """A 400: each input at fault with its messages, `non_field_errors` for the body as a whole."""


class FieldErrorsSchema(OpenApiSerializerExtension):
    target_class = FieldErrorsSerializer

    def map_serializer(self, auto_schema: AutoSchema, direction: Any) -> dict[str, Any]:
        messages = build_array_type({"type": "string"})
        schema: dict[str, Any] = build_object_type(additionalProperties=messages, description=self.target.__doc__)
        return schema


ERROR_ANSWERS = {
    400: "The input is not acceptable: each input at fault with its messages.",
    401: "No credentials, or bad ones.",
    403: "The user's role does not allow this.",
    404: "No such row (or a referenced one is not known).",
    409: "A rule refuses the change: the state machine, a scheduling rule, a duplicate identifier, a row in use.",
    429: "Too many failed logins for this user name or address: try later.",
}


def error_answers(*statuses: int) -> dict[int, OpenApiResponse]:
    """An endpoint's error answers, for its schema (extend_schema responses)."""
    return {
        status: OpenApiResponse(
            FieldErrorsSerializer if status == 400 else RefusalSerializer,
            description=ERROR_ANSWERS.get(status, HTTPStatus(status).phrase),
        )
        for status in statuses
    }
