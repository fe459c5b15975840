"""Turnaround: how long each exam took from order to final report, and which are overdue.

Times per requested procedure: ordered (the order's arrival), booked (its
step's booking), performed (the first MPPS IN PROGRESS start, and the last
MPPS end once all are final: the modality's own times, never the booked
time), preliminary and final (the first signature of each). Targets are
per priority (`report_targets()`, from settings, from the performed time to the final
report); an exam is late on the board when it is still waiting a quarter of
an hour after its start.
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Min, Q, QuerySet
from django.utils import timezone

from ris.models import RequestedProcedure, ScheduledProcedureStep
from ris.states import OrderStatus, Priority, ReportStatus, StepStatus


def report_targets() -> dict[Priority, dt.timedelta]:
    """How long a performed exam may wait for its final report, per priority
    (settings.RIS_REPORT_TARGET_HOURS): the turnaround page, the board and the
    reading list all judge "overdue" by these."""
    hours = settings.RIS_REPORT_TARGET_HOURS
    return {priority: dt.timedelta(hours=hours.get(priority.value, hours["ROUTINE"])) for priority in Priority}


def report_target(priority: str) -> dt.timedelta:
    targets = report_targets()
    return targets.get(Priority(priority), targets[Priority.ROUTINE])


EXAM_LATE_AFTER = dt.timedelta(minutes=15)
FINAL = (ReportStatus.FINAL, ReportStatus.CORRECTED, ReportStatus.ADDENDUM)
INTERVALS = (
    ("order to booked", "ordered", "booked"),
    ("order to performed", "ordered", "performed"),
    ("performed to preliminary", "performed", "preliminary"),
    ("performed to final", "performed", "final"),
    ("order to final", "ordered", "final"),
)


@dataclass
class Turnaround:
    procedure: RequestedProcedure
    ordered: dt.datetime
    booked: dt.datetime | None
    performed: dt.datetime | None
    performed_end: dt.datetime | None
    preliminary: dt.datetime | None
    final: dt.datetime | None
    due: dt.datetime | None  # when the final report is due, once performed
    overdue: bool


def report_due(priority: str, performed: dt.datetime) -> dt.datetime:
    return performed + report_target(priority)


def overdue_reports(now: dt.datetime | None = None) -> QuerySet[RequestedProcedure]:
    """Performed procedures whose final report is past its target, oldest first
    (annotated `performed_at`, the first MPPS start): for the reading list."""
    now = now or timezone.now()
    late = Q()
    for priority, target in report_targets().items():
        late |= Q(order__priority=priority, performed_at__lt=now - target)
    return (
        RequestedProcedure.objects.annotate(performed_at=Min("steps__performed_steps__start"))
        .filter(performed_at__isnull=False)
        .filter(late)
        .exclude(report__status__in=FINAL)
        .exclude(order__status__in=(OrderStatus.CANCELED, OrderStatus.DISCONTINUED))
        .select_related("order__patient")
        .order_by("performed_at", "pk")
    )


def exam_late(step: ScheduledProcedureStep, now: dt.datetime | None = None) -> bool:
    """Still waiting (not started) a quarter of an hour after its start."""
    return step.status in StepStatus.OPEN and step.start + EXAM_LATE_AFTER < (now or timezone.now())


def turnaround_rows(
    *, since: dt.datetime, until: dt.datetime, modality: str = "", limit: int = 500
) -> list[Turnaround]:
    """Procedures ordered in [since, until), newest first."""
    rows = (
        RequestedProcedure.objects.filter(order__created_at__gte=since, order__created_at__lt=until)
        .exclude(order__status=OrderStatus.CANCELED)
        .select_related("order__patient")
        .prefetch_related("steps__appointment", "steps__performed_steps", "report__versions")
        .order_by("-order__created_at", "-pk")
    )
    if modality:
        rows = rows.filter(steps__modality=modality).distinct()
    now = timezone.now()
    return [_turnaround(procedure, now) for procedure in rows[:limit]]


def _turnaround(procedure: RequestedProcedure, now: dt.datetime) -> Turnaround:
    steps = list(procedure.steps.all())
    booked = [s.appointment.booked_at for s in steps if hasattr(s, "appointment")]
    performed = [p for s in steps for p in s.performed_steps.all()]
    report = getattr(procedure, "report", None)
    versions = list(report.versions.all()) if report is not None else []
    first = min((p.start for p in performed), default=None)
    final = _first_signed(versions, FINAL)
    due = report_due(procedure.order.priority, first) if first else None
    return Turnaround(
        procedure=procedure,
        ordered=procedure.order.created_at,
        booked=min(booked, default=None),
        performed=first,
        performed_end=_end_of(performed),
        preliminary=_first_signed(versions, (ReportStatus.PRELIMINARY,)),
        final=final,
        due=due,
        overdue=due is not None and (final or now) > due,
    )


def _end_of(performed: list) -> dt.datetime | None:
    if not performed or any(not p.is_final or p.end is None for p in performed):
        return None
    return max(p.end for p in performed)


def _first_signed(versions: list, statuses: tuple[str, ...]) -> dt.datetime | None:
    return min((v.signed_at for v in versions if v.status in statuses and v.signed_at), default=None)


def medians(rows: list[Turnaround]) -> list[tuple[str, dt.timedelta | None, int]]:
    """(interval, median, how many exams have both ends) for each interval."""
    result = []
    for label, begin, finish in INTERVALS:
        spans = [
            (getattr(r, finish) - getattr(r, begin)).total_seconds()
            for r in rows
            if getattr(r, begin) and getattr(r, finish)
        ]
        median = dt.timedelta(seconds=statistics.median(spans)) if spans else None
        result.append((label, median, len(spans)))
    return result
