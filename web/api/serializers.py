"""What the API shows and accepts. Input serializers decode into service arguments."""

from rest_framework import serializers

from hl7.models import InboundMessage
from ris.models import Appointment, ImagingOrder, Patient, Procedure, RequestedProcedure, Room, ScheduledProcedureStep
from ris.states import Priority, StepStatus


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


class OrderSerializer(serializers.ModelSerializer):
    patient = PatientSerializer(read_only=True)
    procedures = RequestedProcedureSerializer(many=True, read_only=True)

    class Meta:
        model = ImagingOrder
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
            "procedures",
            "created_at",
            "updated_at",
        ]


class OrderPlaceSerializer(serializers.Serializer):
    """A manual order: the patient and one catalogue procedure."""

    patient_id = serializers.CharField(max_length=64)
    issuer = serializers.CharField(max_length=64, required=False, default="")
    patient_name = serializers.CharField(max_length=320, help_text="DICOM PN, e.g. DOE^JANE")
    birth_date = serializers.DateField(required=False, allow_null=True, default=None)
    sex = serializers.ChoiceField(choices=["", "F", "M", "O"], required=False, default="")
    procedure_code = serializers.SlugRelatedField(
        slug_field="code", queryset=Procedure.objects.all(), source="procedure"
    )
    priority = serializers.ChoiceField(choices=Priority.choices, default=Priority.ROUTINE)
    placer_number = serializers.CharField(max_length=64, required=False, default="")
    accession_number = serializers.CharField(max_length=16, required=False, default="")
    referring_physician = serializers.CharField(max_length=320, required=False, default="")
    reason = serializers.CharField(max_length=255, required=False, default="")


class StepStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=StepStatus.choices)


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
        fields = ["id", "step", "room", "patient", "start", "end", "duration_minutes", "booked_by", "updated_at"]

    def get_duration_minutes(self, appointment) -> int:
        return int((appointment.end - appointment.start).total_seconds() // 60)


class BookingCreateSerializer(serializers.Serializer):
    step = serializers.PrimaryKeyRelatedField(queryset=ScheduledProcedureStep.objects.all())
    room = serializers.PrimaryKeyRelatedField(queryset=Room.objects.all())
    start = serializers.DateTimeField()
    duration_minutes = serializers.IntegerField(min_value=1, max_value=1440, required=False, allow_null=True)


class BookingChangeSerializer(serializers.Serializer):
    """Give `start` (and optionally `room`) to move, `duration_minutes` to resize."""

    room = serializers.PrimaryKeyRelatedField(queryset=Room.objects.all(), required=False)
    start = serializers.DateTimeField(required=False)
    duration_minutes = serializers.IntegerField(min_value=1, max_value=1440, required=False)


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
