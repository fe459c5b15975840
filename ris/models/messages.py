from django.db import models


class InboundMessage(models.Model):
    """Every message received, stored raw before it is parsed or applied."""

    class Status(models.TextChoices):
        RECEIVED = "RECEIVED", "received"
        APPLIED = "APPLIED", "applied"
        DUPLICATE = "DUPLICATE", "duplicate (answered from the log)"
        REJECTED = "REJECTED", "rejected (AE/AR sent)"

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
