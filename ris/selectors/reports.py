"""What radiologists read: performed exams waiting for a report, recent reports."""

from __future__ import annotations

import datetime as dt

from django.db.models import Case, Exists, IntegerField, Max, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from ris.models import (
    ImagingOrder,
    OutboundMessage,
    PerformedProcedureStep,
    Report,
    ReportVersion,
    RequestedProcedure,
    ScheduledProcedureStep,
)
from ris.selectors.turnaround import report_target
from ris.states import PerformedStepStatus, Priority, ReportStatus, StepStatus

SIGNED_FINAL = (ReportStatus.FINAL, ReportStatus.CORRECTED, ReportStatus.ADDENDUM)
_URGENCY = [Priority.STAT, Priority.HIGH, Priority.MEDIUM, Priority.ROUTINE, Priority.LOW]


def reading_worklist(
    *, modality: str = "", priority: str = "", min_age_hours: float | None = None, limit: int = 200
) -> QuerySet[RequestedProcedure]:
    """Procedures with a completed step and no final report, most urgent and oldest first.

    `performed_at` is when the modality said the exam ended (MPPS end, else
    its start); `mpps_end` is None for an exam completed by hand, whose
    performed time falls back to the step's booked start."""
    performed = ScheduledProcedureStep.objects.filter(requested_procedure=OuterRef("pk"), status=StepStatus.COMPLETED)
    mpps = PerformedProcedureStep.objects.filter(
        steps__requested_procedure=OuterRef("pk"), status=PerformedStepStatus.COMPLETED
    ).order_by("-end")
    rows = (
        RequestedProcedure.objects.filter(Exists(performed))
        .exclude(report__status__in=SIGNED_FINAL)
        .select_related("order__patient", "report")
        .annotate(
            mpps_end=Subquery(mpps.values("end")[:1]),
            mpps_start=Subquery(mpps.values("start")[:1]),
            booked_at=Max("steps__start", filter=Q(steps__status=StepStatus.COMPLETED)),
        )
        .annotate(performed_at=Coalesce("mpps_end", "mpps_start", "booked_at"), urgency=_urgency())
    )
    if modality:
        rows = rows.filter(steps__modality=modality, steps__status=StepStatus.COMPLETED)
    if priority:
        rows = rows.filter(order__priority=priority)
    if min_age_hours is not None:
        rows = rows.filter(performed_at__lte=timezone.now() - dt.timedelta(hours=min_age_hours))
    return rows.distinct().order_by("urgency", "performed_at", "pk")[:limit]


def is_overdue(priority: str, performed_at: dt.datetime | None, *, now: dt.datetime | None = None) -> bool:
    if performed_at is None:
        return False
    return (now or timezone.now()) - performed_at > report_target(priority)


def report_versions(report: Report) -> QuerySet[ReportVersion]:
    """Every signed version, oldest first, with its signer's profile."""
    return (
        report.versions.exclude(status=ReportStatus.DRAFT)
        .select_related("signer__staff_profile", "author")
        .order_by("number")
    )


def _urgency() -> Case:
    whens = [When(order__priority=p, then=Value(rank)) for rank, p in enumerate(_URGENCY)]
    return Case(*whens, default=Value(len(_URGENCY)), output_field=IntegerField())


def recently_signed(*, limit: int = 20) -> QuerySet[Report]:
    return (
        Report.objects.filter(status__in=SIGNED_FINAL)
        .select_related("order__patient", "procedure")
        .order_by("-updated_at")[:limit]
    )


def modalities_performed() -> list[str]:
    return sorted(
        set(ScheduledProcedureStep.objects.filter(status=StepStatus.COMPLETED).values_list("modality", flat=True))
    )


def report_deliveries(order: ImagingOrder) -> QuerySet[OutboundMessage]:
    """The order's report messages with their delivery state, newest first."""
    return order.outbound_messages.filter(event="report").select_related("destination").order_by("-id")


def performed_steps(procedure: RequestedProcedure) -> QuerySet[PerformedProcedureStep]:
    """What the modality reported for the procedure (MPPS), latest first."""
    return PerformedProcedureStep.objects.filter(steps__requested_procedure=procedure).distinct().order_by("-start")
