"""What only the HL7 door keeps: the inbound message log and the senders it accepts."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class InboundMessage(models.Model):
    """Every message received, stored raw before it is parsed or applied."""

    class Status(models.TextChoices):
        RECEIVED = "RECEIVED", _("received")
        APPLIED = "APPLIED", _("applied")
        DUPLICATE = "DUPLICATE", _("duplicate (answered from the log)")
        REJECTED = "REJECTED", _("rejected (AE/AR sent)")

    protocol = models.CharField(max_length=8, default="HL7")
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    peer = models.CharField(max_length=64, blank=True, default="")
    raw = models.BinaryField()  # byte-exact, whatever its character set
    # Header fields, filled once the header could be read.
    sending_application = models.CharField(max_length=180, blank=True, default="")  # MSH-3
    sending_facility = models.CharField(max_length=180, blank=True, default="")  # MSH-4
    control_id = models.CharField(max_length=199, blank=True, default="")  # MSH-10
    message_type = models.CharField(max_length=32, blank=True, default="")  # MSH-9
    version = models.CharField(max_length=16, blank=True, default="")  # MSH-12
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED, db_index=True)
    ack_code = models.CharField(max_length=2, blank=True, default="")
    ack = models.TextField(blank=True, default="")  # the application ACK (AA/AE/AR)
    # Enhanced mode (MSH-15): the accept ACK (CA/CE/CR) when one was sent.
    commit_ack = models.TextField(blank=True, default="")
    error = models.TextField(blank=True, default="")
    order = models.ForeignKey(
        "ris.ImagingOrder", null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )

    class Meta:
        constraints = [
            # Exactly once: one applied message per sender and control ID.
            models.UniqueConstraint(
                fields=["sending_application", "sending_facility", "control_id"],
                condition=models.Q(status="APPLIED"),
                name="inbound_applied_once",
            ),
        ]
        indexes = [models.Index(fields=["sending_application", "sending_facility", "control_id"])]

    def __str__(self) -> str:
        return f"{self.message_type} {self.control_id} ({self.status})"


class HL7Sender(models.Model):
    """A sending application the RIS accepts HL7 from, and how to read it.

    When at least one sender is configured, a message from any other
    (MSH-3 / MSH-4) is refused AR. Merges are refused from every sender not
    allowed them, and so from every sender while none is configured.
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
    # Merging two patients (ADT^A40) joins two people's records: only from a
    # sender trusted with it (the master patient index), never by default.
    may_merge_patients = models.BooleanField(
        "may merge patients",
        default=False,
        help_text="accept ADT^A40 patient merges (and identifier changes) from this sender",
    )

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
