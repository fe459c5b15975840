"""The modality registry: who may query the worklist, and what each asked."""

from django.db import models
from django.utils.translation import gettext_lazy as _

UTF8 = "ISO_IR 192"


class ModalityAE(models.Model):
    """A modality that queries the worklist, known by its calling AE title."""

    class CharacterSet(models.TextChoices):
        # (0008,0005) of the answers it gets (PS3.3 C.12.1.1.2)
        UTF8 = UTF8, "Unicode UTF-8 (ISO_IR 192)"
        LATIN1 = "ISO_IR 100", _("Latin-1 (ISO_IR 100)")
        ASCII = "", _("ASCII, default repertoire")
        JAPANESE = "\\ISO 2022 IR 87", _("Japanese Kanji (ISO 2022 IR 87)")
        CYRILLIC = "ISO_IR 144", _("Cyrillic (ISO_IR 144)")
        GREEK = "ISO_IR 126", _("Greek (ISO_IR 126)")

    ae_title = models.CharField("AE title", max_length=16, unique=True)  # calling AE title
    description = models.CharField(max_length=64, blank=True, default="")
    allowed = models.BooleanField(default=True, help_text="Refused at association when not allowed.")
    character_set = models.CharField(max_length=64, choices=CharacterSet.choices, default=UTF8, blank=True)
    own_worklist_when_unspecified = models.BooleanField(
        "only its own stations when Scheduled Station AE Title is empty",
        default=True,
        help_text="Modalities commonly send (0040,0001) empty; answer with the steps of its stations.",
    )
    may_change_any_mpps = models.BooleanField(
        "may change MPPS that other AEs created",
        default=False,
        help_text="An MPPS is otherwise changed (N-SET) only by the AE that created it, "
        "or by an AE whose stations include the station it was performed on.",
    )
    # The worklists it sees; none means the steps scheduled on its own AE title.
    # Modality, station name and room are the stations' own (ris.Station).
    stations = models.ManyToManyField("ris.Station", blank=True, related_name="modality_aes")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["ae_title"]
        verbose_name = "modality AE"

    def __str__(self) -> str:
        return self.ae_title


class WorklistQueryLog(models.Model):
    """One row per C-FIND, written once when the answer is complete."""

    at = models.DateTimeField()
    calling_ae_title = models.CharField(max_length=16)
    modality_ae = models.ForeignKey(ModalityAE, null=True, blank=True, on_delete=models.SET_NULL)
    keys = models.TextField(blank=True, default="")  # the identifier's keys, keyword=value per line
    items_returned = models.PositiveIntegerField(default=0)
    duration_ms = models.FloatField()
    status = models.CharField(max_length=4)  # final C-FIND status, hex (PS3.4 C.4.1.1.4)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["calling_ae_title", "-at"], name="mwl_log_ae_at")]

    def __str__(self) -> str:
        return f"{self.calling_ae_title} {self.at:%Y-%m-%d %H:%M:%S} {self.items_returned} items"


class UpsWorkitem(models.Model):
    """The UPS-RS view of a scheduled step (PS3.18 ch. 11, PS3.4 CC): its
    workitem UID, and while it is claimed, the locking Transaction UID."""

    step = models.OneToOneField("ris.ScheduledProcedureStep", on_delete=models.CASCADE, related_name="ups_workitem")
    uid = models.CharField(max_length=64, unique=True)  # (0008,0018) of the UPS
    # (0008,1195) Transaction UID, known only to the performer that claimed it (PS3.4 CC.1.1)
    transaction_uid = models.CharField(max_length=64, blank=True, default="")
    claimed_by = models.CharField(max_length=150, blank=True, default="")
    progress = models.JSONField(default=dict, blank=True)  # (0074,1002) Progress Information Sequence item, DICOM JSON
    cancel_requested = models.BooleanField(default=False)
    reported_state = models.CharField(max_length=16, blank=True, default="")  # the last State Report's (0074,1000)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.uid


class UpsSubscription(models.Model):
    """A subscriber's interest in workitem events (PS3.4 CC.2.3): one
    workitem, all of them (global), or those matching a filter."""

    ae_title = models.CharField("AE title", max_length=16)
    workitem_uid = models.CharField(max_length=64, blank=True, default="")  # "": global or filtered
    filter = models.JSONField(default=dict, blank=True)  # query parameters of a filtered subscription
    deletion_lock = models.BooleanField(default=False)
    suspended = models.BooleanField(default=False)  # global: no new workitems (CC.2.3.3 suspend)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["ae_title", "workitem_uid"], name="ups_subscription_once")]

    def __str__(self) -> str:
        return f"{self.ae_title} {self.workitem_uid or 'global'}"


class UpsEvent(models.Model):
    """An event report (PS3.4 CC.2.4) for the event channel to deliver;
    every process reads them from here, so none depends on another's memory."""

    class Type(models.IntegerChoices):  # (0000,1002) Event Type ID, PS3.4 Table CC.2.4-1
        STATE_REPORT = 1, "UPS State Report"
        CANCEL_REQUESTED = 2, "UPS Cancel Requested"
        PROGRESS_REPORT = 3, "UPS Progress Report"
        SCP_STATUS_CHANGE = 4, "SCP Status Change"
        ASSIGNED = 5, "UPS Assigned"

    at = models.DateTimeField(auto_now_add=True)
    workitem_uid = models.CharField(max_length=64, blank=True, default="")  # "": about the SCP itself
    event_type = models.PositiveSmallIntegerField(choices=Type.choices)
    report = models.JSONField(default=dict)  # the event information, DICOM JSON

    class Meta:
        indexes = [models.Index(fields=["workitem_uid", "id"], name="ups_event_workitem")]

    def __str__(self) -> str:
        return f"{self.get_event_type_display()} {self.workitem_uid}"
