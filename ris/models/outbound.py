from django.db import models
from django.utils.translation import gettext_lazy as _

# The families only an Image Manager / Archive receives (IHE SWF.b): the
# procedure scheduled and update messages (RAD-4, RAD-13) and the requests to
# reject images stored under the wrong order (IOCM). What an Image Manager
# receives when its `events` list is empty: those and the forwarded MPPS (RAD-7).
IMAGE_MANAGER_EVENTS = frozenset({"procedure", "rejection_note"})
IMAGE_MANAGER_DEFAULT_EVENTS = frozenset({"procedure", "rejection_note", "mpps"})


class Destination(models.Model):
    """A system the RIS sends to: an EHR's MLLP listener, a FHIR server, a PACS."""

    class Kind(models.TextChoices):
        HL7_MLLP = "HL7_MLLP", _("HL7 v2 over MLLP")
        FHIR = "FHIR", _("FHIR R4 REST")
        DICOM = "DICOM", _("DICOM AE (MPPS forwarded)")

    class Role(models.TextChoices):
        # The IHE actor the destination plays (IHE RAD TF-1 SWF.b)
        ORDER_PLACER = "ORDER_PLACER", "order placer (EHR) or other receiver"
        IMAGE_MANAGER = "IMAGE_MANAGER", "image manager / archive (PACS)"

    name = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    enabled = models.BooleanField(default=True)
    # Which events it receives, e.g. ["order_status", "report"]; empty = all
    # but the OPT_IN ones, which a destination receives only when it lists them.
    events = models.JSONField(default=list, blank=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.ORDER_PLACER)
    host = models.CharField(max_length=255, blank=True, default="")
    port = models.PositiveIntegerField(null=True, blank=True)
    base_url = models.URLField(blank=True, default="")
    ae_title = models.CharField(max_length=16, blank=True, default="")  # called AE title, DICOM destinations
    hl7_version = models.CharField(max_length=8, blank=True, default="2.5.1")
    receiving_application = models.CharField(max_length=180, blank=True, default="")  # MSH-5
    receiving_facility = models.CharField(max_length=180, blank=True, default="")  # MSH-6

    class Ordering(models.TextChoices):
        # What a message that fails holds back (docs/hl7-interface.md, ordering policy).
        DESTINATION = "DESTINATION", _("strict order for the destination: a failure holds every later message")
        PATIENT = "PATIENT", _("strict order per patient: a refused message holds only its patient's later messages")
        NONE = "NONE", _("no order: a refused message holds nothing back")

    timeout_seconds = models.FloatField(default=10.0)
    max_attempts = models.PositiveIntegerField(default=10)
    # A message the receiver refuses (HL7 AE/AR) or that cannot be built goes
    # to the dead letters after this many attempts; an unreachable receiver
    # is retried up to max_attempts.
    max_refusals = models.PositiveIntegerField(default=3)
    ordering = models.CharField(max_length=16, choices=Ordering.choices, default=Ordering.PATIENT)
    # One worker at a time delivers a destination's queue, in order: it holds
    # a lease taken with a conditional UPDATE and renewed per message.
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=64, blank=True, default="")

    def __str__(self) -> str:
        return self.name

    # Patient identity changes (merge, un-merge, identifier change: ADT A40,
    # A47, A31) and appointment notifications (SIU, IHE RAD-48) go only where
    # listed, so a destination configured before they existed is unchanged.
    OPT_IN_EVENTS = frozenset({"patient", "appointment"})

    def wants(self, event: str) -> bool:
        """An Image Manager takes its own families (all of them when `events`
        is empty); other destinations take any event but those, and the
        opt-in families only when listed."""
        if not self.enabled:
            return False
        if self.role == self.Role.IMAGE_MANAGER:
            return event in (self.events or IMAGE_MANAGER_DEFAULT_EVENTS)
        if event in IMAGE_MANAGER_EVENTS:
            return False
        if event in self.events:
            return True
        return not self.events and event not in self.OPT_IN_EVENTS


class OutboundMessage(models.Model):
    """A message to send, written in the same transaction as its cause (outbox).

    The row records the event and what its builder needs (`context`); the
    worker builds the payload on the first delivery attempt and freezes it
    with its control ID (`built_at`), so every retry and resend sends the
    same bytes with the same MSH-10 or resource id.
    """

    class Status(models.TextChoices):
        PENDING = "PENDING", _("waiting to be sent")
        RETRYING = "RETRYING", _("failed, will retry")
        SENT = "SENT", _("sent (no acknowledgement expected)")
        ACKED = "ACKED", _("acknowledged")
        DEAD = "DEAD", _("given up")

    destination = models.ForeignKey(Destination, on_delete=models.PROTECT, related_name="messages")
    event = models.CharField(max_length=32)
    context = models.JSONField(default=dict, blank=True)  # what the event's builder reads, e.g. {"order_id": 7}
    payload = models.TextField(blank=True, default="")  # empty until built
    content_type = models.CharField(max_length=64, blank=True, default="")
    control_id = models.CharField(max_length=64, blank=True, default="")  # MSH-10 or resource id
    built_at = models.DateTimeField(null=True, blank=True)  # payload and control ID frozen from then on
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    response = models.TextField(blank=True, default="")  # the ACK or HTTP response received
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    order = models.ForeignKey(
        "ris.ImagingOrder", null=True, blank=True, on_delete=models.SET_NULL, related_name="outbound_messages"
    )

    class Meta:
        indexes = [models.Index(fields=["destination", "status", "id"], name="outbound_queue")]

    def __str__(self) -> str:
        return f"{self.event} to {self.destination} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in (self.Status.PENDING, self.Status.RETRYING)

    @property
    def is_built(self) -> bool:
        return self.built_at is not None
