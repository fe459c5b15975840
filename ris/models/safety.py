"""Safety screening per exam: what was recorded, by whom and when; and the
alerts an exam raised when it was started while breaking a rule."""

from django.conf import settings
from django.db import models


class SafetyItem(models.TextChoices):
    # What a screening records (docs/safety.md); HL7 OBX/AL1 map onto these (docs/hl7-interface.md).
    CONTRAST_ALLERGY = "CONTRAST_ALLERGY", "contrast allergy"
    EGFR = "EGFR", "eGFR"
    PREGNANCY = "PREGNANCY", "pregnancy status"
    WEIGHT = "WEIGHT", "weight"
    MR_PACEMAKER = "MR_PACEMAKER", "pacemaker or defibrillator"
    MR_IMPLANT = "MR_IMPLANT", "implants and foreign bodies"


class SafetyRecord(models.Model):
    """One recorded value of a safety item for an order's exams. Never
    changed: a new value is a new row, so the history stays; the latest row
    of an item is its current value."""

    class Source(models.TextChoices):
        UI = "UI", "screening form"
        HL7 = "HL7", "HL7 order message"
        API = "API", "REST API"

    order = models.ForeignKey("ris.ImagingOrder", on_delete=models.CASCADE, related_name="safety_records")
    item = models.CharField(max_length=16, choices=SafetyItem.choices)
    # The coded answer: yes / no / unknown for an allergy or a pacemaker;
    # none / safe / conditional / unsafe / unknown for implants; not-pregnant /
    # possible / pregnant / unknown / not-applicable for pregnancy; '' for a number.
    value = models.CharField(max_length=16, blank=True, default="")
    number = models.DecimalField(max_digits=7, decimal_places=1, null=True, blank=True)  # eGFR mL/min/1.73m2, kg
    measured_on = models.DateField(null=True, blank=True)  # when the eGFR (or weight) was measured
    detail = models.CharField(max_length=255, blank=True, default="")  # the allergen, the implant
    source = models.CharField(max_length=8, choices=Source.choices)
    recorded_by = models.CharField(max_length=150, blank=True, default="")  # the actor's label
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-recorded_at", "-pk"]
        indexes = [models.Index(fields=["order", "item", "recorded_at"], name="safety_order_item_at")]

    def __str__(self) -> str:
        return f"{self.item} {self.value or self.number} ({self.recorded_by})"


class SafetyAlert(models.Model):
    """A rule an exam broke when a modality started it anyway (MPPS IN
    PROGRESS is never refused): shown on the board until acknowledged."""

    order = models.ForeignKey("ris.ImagingOrder", on_delete=models.CASCADE, related_name="safety_alerts")
    step = models.ForeignKey("ris.ScheduledProcedureStep", null=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(max_length=500)
    raised_at = models.DateTimeField(auto_now_add=True)
    acknowledged_by = models.CharField(max_length=150, blank=True, default="")
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-raised_at"]

    def __str__(self) -> str:
        return self.reason
