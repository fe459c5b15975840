"""The images an archive says it holds, and what does not match (reconciliation)."""

from django.conf import settings
from django.db import models


class InstanceNotification(models.Model):
    """One Instance Availability Notification received (PS3.4 Annex R; IHE RAD-49)."""

    class Match(models.TextChoices):
        MATCHED = "MATCHED", "matched a requested procedure"
        UNKNOWN_STUDY = "UNKNOWN_STUDY", "names a study the RIS does not know"
        COERCED_UID = "COERCED_UID", "the study UID differs from the procedure its MPPS names"

    sop_instance_uid = models.CharField(max_length=64, unique=True)  # (0000,1000) Affected SOP Instance UID
    study_instance_uid = models.CharField(max_length=64, db_index=True)  # (0020,000D)
    # Referenced Performed Procedure Step Sequence (0008,1111): the MPPS UIDs named
    performed_step_uids = models.JSONField(default=list, blank=True)
    procedure = models.ForeignKey(
        "ris.RequestedProcedure", null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications"
    )
    match = models.CharField(max_length=16, choices=Match.choices, default=Match.MATCHED)
    sender = models.CharField(max_length=16, blank=True, default="")  # calling AE title
    dataset = models.JSONField(default=dict, blank=True)  # the whole dataset, DICOM JSON (PS3.18 F.2)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"IAN {self.study_instance_uid} from {self.sender} ({self.match})"


class AvailableInstance(models.Model):
    """One SOP instance an archive holds, as its latest notification says (PS3.3 C.4.23)."""

    class Availability(models.TextChoices):
        # (0008,0056) Instance Availability, PS3.3 C.4.23.1
        ONLINE = "ONLINE"
        NEARLINE = "NEARLINE"
        OFFLINE = "OFFLINE"
        UNAVAILABLE = "UNAVAILABLE"

    notification = models.ForeignKey(InstanceNotification, on_delete=models.CASCADE, related_name="instances")
    procedure = models.ForeignKey(
        "ris.RequestedProcedure", null=True, blank=True, on_delete=models.SET_NULL, related_name="instances"
    )
    step = models.ForeignKey(
        "ris.ScheduledProcedureStep", null=True, blank=True, on_delete=models.SET_NULL, related_name="instances"
    )
    study_instance_uid = models.CharField(max_length=64, db_index=True)  # (0020,000D)
    series_instance_uid = models.CharField(max_length=64)  # (0020,000E)
    sop_class_uid = models.CharField(max_length=64)  # (0008,1150) Referenced SOP Class UID
    sop_instance_uid = models.CharField(max_length=64, unique=True)  # (0008,1155) Referenced SOP Instance UID
    availability = models.CharField(max_length=16, choices=Availability.choices)
    retrieve_ae_title = models.CharField(max_length=64, blank=True, default="")  # (0008,0054), backslash-joined

    def __str__(self) -> str:
        return f"{self.sop_instance_uid} {self.availability}"


class Discrepancy(models.Model):
    """One thing that does not match between order, exam and images, in the
    reconciliation queue until a person links, registers or dismisses it."""

    class Kind(models.TextChoices):
        UNSCHEDULED_MPPS = "UNSCHEDULED_MPPS", "MPPS matching no scheduled step"
        QUARANTINED_MPPS = "QUARANTINED_MPPS", "MPPS from an AE not in the modality registry"
        UNKNOWN_STUDY = "UNKNOWN_STUDY", "images of a study the RIS does not know"
        COERCED_UID = "COERCED_UID", "images under another Study Instance UID than their procedure's"
        WRONG_WORKLIST_ENTRY = "WRONG_ENTRY", "exam performed on the wrong worklist entry (110514)"
        PATIENT_CONFLICT = "PATIENT_CONFLICT", "the modality names another patient than the order"
        MERGE_REVIEW = "MERGE_REVIEW", "patients merged: review the merge"

    class State(models.TextChoices):
        OPEN = "OPEN", "open"
        RESOLVED = "RESOLVED", "resolved"
        DISMISSED = "DISMISSED", "dismissed"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    state = models.CharField(max_length=12, choices=State.choices, default=State.OPEN, db_index=True)
    summary = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    performed_step = models.ForeignKey(
        "ris.PerformedProcedureStep", null=True, blank=True, on_delete=models.CASCADE, related_name="discrepancies"
    )
    quarantined = models.ForeignKey(
        "ris.QuarantinedMpps", null=True, blank=True, on_delete=models.CASCADE, related_name="discrepancies"
    )
    notification = models.ForeignKey(
        InstanceNotification, null=True, blank=True, on_delete=models.CASCADE, related_name="discrepancies"
    )
    patient = models.ForeignKey(
        "ris.Patient", null=True, blank=True, on_delete=models.SET_NULL, related_name="discrepancies"
    )
    # The order it was linked to (or made for it), once resolved
    order = models.ForeignKey(
        "ris.ImagingOrder", null=True, blank=True, on_delete=models.SET_NULL, related_name="discrepancies"
    )
    resolution = models.CharField(max_length=255, blank=True, default="")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    # What the resolution changed, so that it can be undone: {"steps": {id: status before}, ...}
    undo = models.JSONField(default=dict, blank=True)
    # Images the archive stored under the wrong study/patient: the IOCM rejection
    # the archive is asked for (PS3.3 KOS title 113038), recorded with the resolution
    rejection_request = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.summary}"

    @property
    def is_open(self) -> bool:
        return self.state == self.State.OPEN
