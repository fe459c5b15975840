from django.db import models


class HL7Sender(models.Model):
    """A sending application the RIS accepts HL7 from, and how to read it.

    When at least one sender is configured, a message from any other
    (MSH-3 / MSH-4) is refused AR.
    """

    application = models.CharField(max_length=180)  # MSH-3 as sent (namespace^universal ID^type)
    facility = models.CharField(max_length=180, blank=True, default="", help_text="MSH-4; empty: any facility")
    mrn_authority = models.CharField(
        "MRN assigning authority",
        max_length=64,
        blank=True,
        default="",
        help_text="PID-3 repetition whose CX-4 names this authority is the patient ID; empty: the first",
    )
    description = models.CharField(max_length=255, blank=True, default="")
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["application", "facility"], name="hl7_sender_unique"),
        ]
        ordering = ["application", "facility"]

    def __str__(self) -> str:
        return f"{self.application} / {self.facility or '*'}"


class SenderStationRule(models.Model):
    """Where a sender's orders go when they name no station: by procedure code
    first, then by modality. A rule with no sender applies to every sender."""

    sender = models.ForeignKey(HL7Sender, null=True, blank=True, on_delete=models.CASCADE, related_name="station_rules")
    procedure_code = models.CharField(max_length=64, blank=True, default="", help_text="OBR-4.1; empty: any")
    modality = models.CharField(max_length=16, blank=True, default="", help_text="empty: any")
    station = models.ForeignKey("ris.Station", on_delete=models.CASCADE, related_name="+")

    class Meta:
        ordering = ["sender_id", "procedure_code", "modality"]

    def __str__(self) -> str:
        return f"{self.procedure_code or '*'} / {self.modality or '*'} -> {self.station.ae_title}"
