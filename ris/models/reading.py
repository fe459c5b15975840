"""What the radiologist reads with: critical results and their communication,
report templates and macros, and the reading lock of an exam.

All of it lives in the database, so every web and worker process sees the
same lock and the same open critical results (docs/critical-results.md,
docs/reading.md).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ris.states import CriticalCategory


class CriticalResult(models.Model):
    """A flagged finding the referrer must be told of, within a time per
    category; open until its communication record is complete.

    Acknowledgement is the completed record: whom the radiologist told (name,
    role), how, when, and that they read it back."""

    class Method(models.TextChoices):
        PHONE = "PHONE", _("telephone")
        IN_PERSON = "IN_PERSON", _("in person")
        SECURE_MESSAGE = "SECURE_MESSAGE", _("secure message")

    report = models.ForeignKey("ris.Report", on_delete=models.PROTECT, related_name="critical_results")
    version = models.ForeignKey("ris.ReportVersion", on_delete=models.PROTECT, related_name="critical_results")
    category = models.CharField(max_length=16, choices=CriticalCategory.choices)
    flagged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    flagged_at = models.DateTimeField()
    due_at = models.DateTimeField(db_index=True)  # flagged_at + the category's time
    # How many escalations were sent; the next is due at due_at + level x the
    # category's time (a conditional UPDATE on it keeps the sweep idempotent).
    escalation_level = models.PositiveIntegerField(default=0)
    last_escalated_at = models.DateTimeField(null=True, blank=True)
    # The communication record.
    recipient_name = models.CharField(max_length=128, blank=True, default="")
    recipient_role = models.CharField(max_length=64, blank=True, default="")
    method = models.CharField(max_length=16, choices=Method.choices, blank=True, default="")
    communicated_at = models.DateTimeField(null=True, blank=True)
    read_back = models.BooleanField(default=False)
    note = models.TextField(blank=True, default="")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    completed_at = models.DateTimeField(null=True, blank=True, db_index=True)  # null: still open

    class Meta:
        ordering = ["due_at"]
        constraints = [
            # One open duty per report: a later flagged signature joins it.
            models.UniqueConstraint(
                fields=["report"], condition=models.Q(completed_at__isnull=True), name="critical_result_one_open"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_category_display()} result of {self.report}"

    @property
    def is_open(self) -> bool:
        return self.completed_at is None


class ReportTemplate(models.Model):
    """A findings/impression skeleton (template) or a phrase (macro) the
    radiologist inserts into the report editor; for one catalogue procedure,
    or for every procedure when none is named."""

    class Kind(models.TextChoices):
        TEMPLATE = "TEMPLATE", _("template (fills findings and impression)")
        MACRO = "MACRO", _("macro (inserted where the cursor is)")

    name = models.CharField(_("name"), max_length=64)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.TEMPLATE)
    procedure = models.ForeignKey(
        "ris.Procedure",
        verbose_name=_("procedure"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="report_templates",
        help_text=_("empty: offered for every procedure"),
    )
    findings = models.TextField(_("findings"), blank=True, default="")  # a macro's text
    impression = models.TextField(_("impression"), blank=True, default="")
    is_active = models.BooleanField(_("in use"), default=True)

    class Meta:
        ordering = ["kind", "name"]
        verbose_name = _("report template")
        verbose_name_plural = _("report templates")

    def __str__(self) -> str:
        return self.name


class ReadingLock(models.Model):
    """Who is reading an exam now: taken by opening it to report, renewed by
    every page view and save, released by signing; free once idle longer
    than settings.RIS_READING_LOCK_IDLE_MINUTES. Another radiologist takes it
    only explicitly (audited)."""

    procedure = models.OneToOneField("ris.RequestedProcedure", on_delete=models.CASCADE, related_name="reading_lock")
    holder = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    taken_at = models.DateTimeField()
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.procedure} read by {self.holder}"
