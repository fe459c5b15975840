from django.db import models

from ris.states import PerformedStepStatus


class PerformedProcedureStep(models.Model):
    """PS3.3 C.4.13-C.4.17 Modality Performed Procedure Step, as the modality reports it."""

    sop_instance_uid = models.CharField(max_length=64, unique=True)  # (0000,1000) Affected SOP Instance UID
    status = models.CharField(  # (0040,0252)
        max_length=16, choices=PerformedStepStatus.choices, default=PerformedStepStatus.IN_PROGRESS
    )
    pps_id = models.CharField(max_length=64)  # (0040,0253)
    station_ae_title = models.CharField(max_length=16, db_index=True)  # (0040,0241)
    station_name = models.CharField(max_length=64, blank=True, default="")  # (0040,0242)
    location = models.CharField(max_length=64, blank=True, default="")  # (0040,0243)
    start = models.DateTimeField()  # (0040,0244) + (0040,0245)
    end = models.DateTimeField(null=True, blank=True)  # (0040,0250) + (0040,0251)
    modality = models.CharField(max_length=16)  # (0008,0060)
    description = models.CharField(max_length=64, blank=True, default="")  # (0040,0254)
    patient_id = models.CharField(max_length=64, blank=True, default="")  # (0010,0020), as sent
    patient_name = models.CharField(max_length=320, blank=True, default="")  # (0010,0010), as sent
    # Scheduled Step Attributes Sequence (0040,0270): the items as sent, fixed at creation
    scheduled_step_refs = models.JSONField(default=list, blank=True)
    # Performed Series Sequence (0040,0340), replaced whole by each N-SET that carries it
    performed_series = models.JSONField(default=list, blank=True)
    # Dose-related attributes, PS3.3 C.4.16 Radiation Dose Module; stored when present
    fluoroscopy_time_seconds = models.PositiveIntegerField(null=True, blank=True)  # (0040,0300)
    exposure_count = models.PositiveIntegerField(null=True, blank=True)  # (0040,0301)
    entrance_dose_mgy = models.FloatField(null=True, blank=True)  # (0040,8302), or (0040,0302) dGy
    area_dose_product = models.FloatField(null=True, blank=True)  # (0018,115E) dGy*cm2
    exposure_dose = models.JSONField(default=list, blank=True)  # (0040,030E), retired
    # Discontinuation Reason Code Sequence (0040,0281), DICOM CID 9300
    discontinuation_reason_value = models.CharField(max_length=16, blank=True, default="")
    discontinuation_reason_scheme = models.CharField(max_length=16, blank=True, default="")
    discontinuation_reason_meaning = models.CharField(max_length=64, blank=True, default="")
    steps = models.ManyToManyField("ris.ScheduledProcedureStep", blank=True, related_name="performed_steps")
    # No scheduled step matched: kept and waiting for a person to reconcile it.
    unscheduled = models.BooleanField(default=False, db_index=True)
    dataset = models.JSONField(default=dict, blank=True)  # the whole dataset, DICOM JSON (PS3.18 F.2)
    sender = models.CharField(max_length=16, blank=True, default="")  # calling AE title
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "performed procedure step (MPPS)"

    def __str__(self) -> str:
        return f"MPPS {self.pps_id} {self.modality} {self.status}"

    @property
    def is_final(self) -> bool:
        return self.status != PerformedStepStatus.IN_PROGRESS

    @property
    def discontinuation_reason(self) -> str:
        if not self.discontinuation_reason_value:
            return ""
        return f"{self.discontinuation_reason_value} {self.discontinuation_reason_meaning}".strip()


class QuarantinedMpps(models.Model):
    """An MPPS operation received and kept aside, never applied: its sender is
    not in the modality registry. Waits here for a person to reconcile it."""

    class Operation(models.TextChoices):
        CREATE = "N-CREATE"
        SET = "N-SET"

    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    operation = models.CharField(max_length=8, choices=Operation.choices)
    sop_instance_uid = models.CharField(max_length=64, db_index=True)  # (0000,1000) / (0000,1001)
    calling_ae_title = models.CharField(max_length=16, db_index=True)
    address = models.CharField(max_length=64, blank=True, default="")  # the peer's IP address
    reason = models.CharField(max_length=200)
    # the attributes received, DICOM JSON (PS3.18 F.2), bounded as the MPPS's own
    dataset = models.JSONField(default=dict, blank=True)
    answered = models.CharField(max_length=4)  # the DIMSE status the sender got, hex
    reconciled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        verbose_name = "quarantined MPPS"
        verbose_name_plural = "quarantined MPPS"

    def __str__(self) -> str:
        return f"{self.operation} {self.sop_instance_uid} from {self.calling_ae_title}"
