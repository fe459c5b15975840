"""Radiation dose: the dose reports (RDSR) the modalities send, their
irradiation events, the site's diagnostic reference levels and the alerts
raised when an exam exceeds one. Field comments cite the SR templates
(PS3.16) and codes (DCM) a value is read from."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class DoseReport(models.Model):
    """One Radiation Dose SR instance, kept as received (the file) and read."""

    class Kind(models.TextChoices):
        CT = "CT", _("CT (TID 10011)")
        PROJECTION = "PROJECTION", _("projection X-ray / fluoroscopy (TID 10001)")
        RADIOPHARMACEUTICAL = "RADIOPHARM", _("radiopharmaceutical (TID 10021)")

    sop_instance_uid = models.CharField(max_length=64, unique=True)  # (0008,0018)
    sop_class_uid = models.CharField(max_length=64)  # (0008,0016)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    study_instance_uid = models.CharField(max_length=64, db_index=True)  # (0020,000D)
    accession_number = models.CharField(max_length=16, blank=True, default="", db_index=True)  # (0008,0050)
    # As the SR names them (PS3.3 C.7.1.1); used to match, never to change the patient.
    patient_id = models.CharField(max_length=64, blank=True, default="")
    patient_name = models.CharField(max_length=324, blank=True, default="")
    procedure = models.ForeignKey(
        "ris.RequestedProcedure", null=True, blank=True, on_delete=models.SET_NULL, related_name="dose_reports"
    )
    # Why no exam was linked (empty when linked, or not yet tried)
    unmatched_reason = models.CharField(max_length=255, blank=True, default="")
    performed_at = models.DateTimeField(null=True, blank=True)  # Content / Study Date and Time
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    door = models.CharField(max_length=8)  # AuditEvent.Door of the sender
    sender = models.CharField(max_length=150, blank=True, default="")  # calling AE title or user
    manufacturer = models.CharField(max_length=64, blank=True, default="")  # (0008,0070)
    station_name = models.CharField(max_length=16, blank=True, default="")  # (0008,1010)
    # The SR as received (Part 10 file under RIS_VAR_DIR/dose/), with its size and SHA-256.
    path = models.CharField(max_length=255)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    # Accumulated dose data (TID 10002, TID 10012)
    total_dlp = models.FloatField(null=True, blank=True)  # mGy.cm, DCM 113813 CT Dose Length Product Total
    total_dap = models.FloatField(null=True, blank=True)  # Gy.m2, DCM 113722 Dose Area Product Total
    fluoro_time = models.FloatField(null=True, blank=True)  # s, DCM 113730 Total Fluoro Time
    reference_point_dose = models.FloatField(null=True, blank=True)  # Gy, DCM 113725 Dose (RP) Total
    event_count = models.PositiveIntegerField(default=0)  # DCM 113812 / 113731, else the events read
    # Radiopharmaceutical administration (TID 10022)
    radiopharmaceutical = models.CharField(max_length=64, blank=True, default="")  # DCM 349358000 agent
    administered_activity = models.FloatField(null=True, blank=True)  # MBq, DCM 113507

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} dose report {self.sop_instance_uid}"


class IrradiationEvent(models.Model):
    """One irradiation event of a dose report (TID 10013 CT, TID 10003 projection)."""

    report = models.ForeignKey(DoseReport, on_delete=models.CASCADE, related_name="events")
    event_uid = models.CharField(max_length=64, blank=True, default="")  # DCM 113769
    started_at = models.DateTimeField(null=True, blank=True)  # DCM 111526 DateTime Started
    protocol = models.CharField(max_length=64, blank=True, default="")  # DCM 125203 Acquisition Protocol
    target_region = models.CharField(max_length=64, blank=True, default="")  # DCM 123014 Target Region
    ctdivol = models.FloatField(null=True, blank=True)  # mGy, DCM 113830 Mean CTDIvol
    dlp = models.FloatField(null=True, blank=True)  # mGy.cm, DCM 113838 DLP
    phantom = models.CharField(max_length=64, blank=True, default="")  # DCM 113835 CTDIw Phantom Type
    scanning_length = models.FloatField(null=True, blank=True)  # mm, DCM 113825 Scanning Length
    dap = models.FloatField(null=True, blank=True)  # Gy.m2, DCM 122130 Dose Area Product
    reference_point_dose = models.FloatField(null=True, blank=True)  # Gy, DCM 113738 Dose (RP)
    exposure_time = models.FloatField(null=True, blank=True)  # s, DCM 113824 Exposure Time

    class Meta:
        ordering = ["report", "id"]

    def __str__(self) -> str:
        return f"irradiation event {self.event_uid}"


class DoseQuantity(models.TextChoices):
    """What a reference level limits, and whether per event or for the whole report."""

    CTDIVOL = "CTDIVOL", _("CTDIvol per event (mGy)")
    DLP_TOTAL = "DLP", _("total DLP (mGy·cm)")
    DAP_TOTAL = "DAP", _("total DAP (Gy·m²)")
    RP_DOSE_TOTAL = "RP_DOSE", _("total reference point dose (Gy)")
    FLUORO_TIME = "FLUORO", _("total fluoroscopy time (s)")
    ACTIVITY = "ACTIVITY", _("administered activity (MBq)")


class DiagnosticReferenceLevel(models.Model):
    """A diagnostic reference level (Directive 2013/59/Euratom art. 56): for a
    catalogue procedure, or for every exam of a modality when no procedure's
    level applies."""

    procedure = models.ForeignKey(
        "ris.Procedure",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="reference_levels",
        verbose_name=_("procedure"),
    )
    # when no procedure is named
    modality = models.CharField(_("modality"), max_length=16, blank=True, default="")
    quantity = models.CharField(_("quantity"), max_length=8, choices=DoseQuantity.choices)
    level = models.FloatField(_("level"))
    # e.g. the national DRL it comes from
    note = models.CharField(_("note"), max_length=255, blank=True, default="")

    class Meta:
        ordering = ["procedure__code", "modality", "quantity"]
        constraints = [
            models.UniqueConstraint(fields=["procedure", "quantity"], name="drl_procedure_quantity"),
            models.UniqueConstraint(
                fields=["modality", "quantity"], condition=models.Q(procedure=None), name="drl_modality_quantity"
            ),
            models.CheckConstraint(
                condition=~models.Q(procedure=None, modality=""), name="drl_names_procedure_or_modality"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.procedure or self.modality} {self.quantity} ≤ {self.level:g}"


class DoseAlert(models.Model):
    """A dose report over a reference level; kept for the medical physicist."""

    report = models.ForeignKey(DoseReport, on_delete=models.CASCADE, related_name="alerts")
    reference_level = models.ForeignKey(
        DiagnosticReferenceLevel, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts"
    )
    quantity = models.CharField(max_length=8, choices=DoseQuantity.choices)
    value = models.FloatField()
    level = models.FloatField()  # the level in force when raised
    raised_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-raised_at"]

    def __str__(self) -> str:
        return f"{self.quantity} {self.value:g} over {self.level:g}"
