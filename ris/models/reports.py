"""Radiology reports: one per requested procedure, a version per signature.

Every signed version is a complete snapshot (findings, impression, addenda),
so a message built from one version never needs the others.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models

from ris.states import CriticalCategory, ReportStatus

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser


class Report(models.Model):
    """The report of one imaging study (PS3.3 C.4.11 Requested Procedure)."""

    order = models.ForeignKey("ris.ImagingOrder", on_delete=models.PROTECT, related_name="reports")
    procedure = models.OneToOneField("ris.RequestedProcedure", on_delete=models.PROTECT, related_name="report")
    # Stable for the report's life: FHIR DiagnosticReport id and identifier, so a
    # correction updates the resource the first send created.
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # The status of the latest signed version; DRAFT until one is signed.
    status = models.CharField(max_length=16, choices=ReportStatus.choices, default=ReportStatus.DRAFT, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Report {self.order.accession_number} ({self.status})"

    def draft(self) -> ReportVersion | None:
        return self.versions.filter(status=ReportStatus.DRAFT).first()

    def latest_signed(self) -> ReportVersion | None:
        return self.versions.exclude(status=ReportStatus.DRAFT).order_by("-number").first()

    @property
    def is_final(self) -> bool:
        return self.status in (ReportStatus.FINAL, ReportStatus.CORRECTED, ReportStatus.ADDENDUM)


class ReportVersion(models.Model):
    """One version of a report: the working draft, or a signed snapshot."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=ReportStatus.choices, default=ReportStatus.DRAFT)
    findings = models.TextField(blank=True, default="")
    impression = models.TextField(blank=True, default="")  # FHIR DiagnosticReport.conclusion
    addenda = models.TextField(blank=True, default="")  # every addendum so far, oldest first
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The signing radiologist: HL7 OBR-32 principal result interpreter,
    # FHIR DiagnosticReport.resultsInterpreter.
    signer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    signed_at = models.DateTimeField(null=True, blank=True)  # OBR-22, DiagnosticReport.issued
    # The signer's flag on this version (docs/critical-results.md): sent as
    # OBX-8 and as a FHIR Observation.interpretation and Flag; a flagged
    # signature opens a CriticalResult that must be communicated in time.
    critical_category = models.CharField(max_length=16, choices=CriticalCategory.choices, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["report", "number"]
        constraints = [
            models.UniqueConstraint(fields=["report", "number"], name="report_version_unique_number"),
            models.UniqueConstraint(fields=["report"], condition=models.Q(status="DRAFT"), name="report_one_draft"),
        ]

    def __str__(self) -> str:
        return f"{self.report} v{self.number} {self.status}"

    def sections(self) -> list[tuple[str, str]]:
        """(heading, text) of the non-empty parts, in reading order."""
        parts = (("FINDINGS", self.findings), ("IMPRESSION", self.impression), ("ADDENDUM", self.addenda))
        return [(heading, text.strip()) for heading, text in parts if text.strip()]

    @property
    def signed_by(self) -> str:
        """The signer as a report shows them: title, full name, credentials."""
        return signer_name(self.signer)

    def full_text(self) -> str:
        return "\n\n".join(f"{heading}:\n{text}" for heading, text in self.sections())


def person_name(user: AbstractUser | None) -> str:
    """A user as shown to people: full name, else the login."""
    return (user.get_full_name() or user.get_username()) if user else ""


def signer_name(user: AbstractUser | None) -> str:
    """A signer as a report shows them: "Dr. Greg House, MD" (title and
    credentials from the user's staff profile, when there is one)."""
    if user is None:
        return ""
    profile = getattr(user, "staff_profile", None)
    title, credentials = (profile.title, profile.credentials) if profile is not None else ("", "")
    name = " ".join(part for part in (title, person_name(user)) if part)
    return f"{name}, {credentials}" if credentials else name
