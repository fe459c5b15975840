from django.db import models

from ris.states import OrderStatus, Priority, StepStatus, VettingStatus


class ImagingOrder(models.Model):
    """An imaging service request (PS3.3 C.4.11; HL7 ORC/OBR)."""

    patient = models.ForeignKey("ris.Patient", on_delete=models.PROTECT, related_name="orders")
    # Who placed it: the sending application/facility (MSH-3/MSH-4) or "UI".
    placer_system = models.CharField(max_length=180, blank=True, default="")
    placer_number = models.CharField(max_length=64, blank=True, default="")  # ORC-2, (0040,2016)
    filler_number = models.CharField(max_length=64, blank=True, default="")  # ORC-3, (0040,2017)
    # OBR-18 / IPC-1, (0008,0050); NULL only inside the transaction that assigns one.
    accession_number = models.CharField(max_length=16, unique=True, null=True, blank=True)
    ordering_physician = models.CharField(max_length=320, blank=True, default="")  # OBR-16, (0032,1032)
    referring_physician = models.CharField(max_length=320, blank=True, default="")  # PV1-8, (0008,0090)
    reason = models.CharField(max_length=255, blank=True, default="")  # OBR-31, (0040,1002)
    priority = models.CharField(max_length=8, choices=Priority.choices, default=Priority.ROUTINE)
    admission_id = models.CharField(max_length=64, blank=True, default="")  # PV1-19, (0038,0010)
    status = models.CharField(max_length=16, choices=OrderStatus.choices, default=OrderStatus.SCHEDULED)
    # Vetting and protocoling (ris/services/vetting.py): PENDING when a
    # procedure of the catalogue needs vetting, else NOT_REQUIRED.
    vetting_status = models.CharField(
        max_length=16, choices=VettingStatus.choices, default=VettingStatus.NOT_REQUIRED, db_index=True
    )
    vetting_reason = models.CharField(max_length=255, blank=True, default="")  # why rejected or returned
    vetted_by = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    vetted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            # HL7 ORC-2 is unique per placer (HL7 2.5.1 4.5.1.2).
            models.UniqueConstraint(
                fields=["placer_system", "placer_number"],
                condition=~models.Q(placer_number=""),
                name="order_unique_placer_number",
            ),
        ]

    def __str__(self) -> str:
        return f"Order {self.accession_number}"


class RequestedProcedure(models.Model):
    """PS3.3 C.4.11 Requested Procedure; one per imaging study."""

    order = models.ForeignKey(ImagingOrder, on_delete=models.CASCADE, related_name="procedures")
    requested_procedure_id = models.CharField(max_length=16)  # OBR-19 / IPC-2, (0040,1001)
    # Requested Procedure Code Sequence (0032,1064) from OBR-4
    code_value = models.CharField(max_length=64, blank=True, default="")
    code_scheme = models.CharField(max_length=64, blank=True, default="")
    code_meaning = models.CharField(max_length=64, blank=True, default="")
    description = models.CharField(max_length=64, blank=True, default="")  # (0032,1060)
    # Assigned once, never changed (ZDS-1 / IPC-3 or made by the RIS).
    study_instance_uid = models.CharField(max_length=64, unique=True)  # (0020,000D)

    def __str__(self) -> str:
        return f"{self.requested_procedure_id} {self.description}"


class ScheduledProcedureStep(models.Model):
    """PS3.3 C.4.10 Scheduled Procedure Step: one worklist item."""

    requested_procedure = models.ForeignKey(RequestedProcedure, on_delete=models.CASCADE, related_name="steps")
    sps_id = models.CharField(max_length=16)  # OBR-20 / IPC-4, (0040,0009)
    # Both are looked up with a start time: sps_modality_start and sps_station_start serve them.
    modality = models.CharField(max_length=16)  # OBR-24 / IPC-5, (0008,0060)
    station_ae_title = models.CharField(max_length=16, blank=True, default="")  # (0040,0001)
    station_name = models.CharField(max_length=16, blank=True, default="")  # (0040,0010)
    location = models.CharField(max_length=16, blank=True, default="")  # (0040,0011)
    start = models.DateTimeField(db_index=True)  # (0040,0002)+(0040,0003): the booked time, else the requested one
    requested_start = models.DateTimeField(null=True, blank=True)  # ORC-7.4 / TQ1-7: what the order asked for
    expected_duration_minutes = models.PositiveIntegerField(null=True, blank=True)
    performing_physician = models.CharField(max_length=320, blank=True, default="")  # OBR-34, (0040,0006)
    description = models.CharField(max_length=64, blank=True, default="")  # (0040,0007)
    # Scheduled Protocol Code Sequence (0040,0008): OBR-4 components 4-6
    protocol_code_value = models.CharField(max_length=64, blank=True, default="")
    protocol_code_scheme = models.CharField(max_length=64, blank=True, default="")
    protocol_code_meaning = models.CharField(max_length=64, blank=True, default="")
    status = models.CharField(max_length=16, choices=StepStatus.choices, default=StepStatus.SCHEDULED)
    # Why a person stopped or started it by hand (cancelled, no-show, started outside the modality).
    status_reason = models.CharField(max_length=255, blank=True, default="")
    # Set when the scheduler must look at it again: an order change its booking
    # could not follow (the rule it broke); cleared by the next booking.
    scheduling_note = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        indexes = [
            models.Index(fields=["station_ae_title", "start"], name="sps_station_start"),
            models.Index(fields=["modality", "start"], name="sps_modality_start"),
        ]

    def __str__(self) -> str:
        return f"SPS {self.sps_id} {self.modality} {self.start:%Y-%m-%d %H:%M}"
