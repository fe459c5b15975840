"""Reads for the reading screen: the patient's prior exams, the templates
offered for a procedure, and critical results still owed to a referrer."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Max, Q, QuerySet
from django.utils import timezone

from ris.models import CriticalResult, Patient, ReadingLock, ReportTemplate, RequestedProcedure


def same_person(patient: Patient) -> list[int]:
    """The patient's ids across merges (ADT A40): the surviving record and
    every record merged into it. A merge moves the orders to the survivor
    (ris/services/patients.py); the merged records are read too, so an
    order that stayed behind is not lost from the priors."""
    root, seen = patient, {patient.pk}
    while root.merged_into_id is not None and root.merged_into_id not in seen:
        seen.add(root.merged_into_id)
        root = Patient.objects.get(pk=root.merged_into_id)
    ids, frontier = {root.pk}, [root.pk]
    while frontier:
        frontier = list(
            Patient.objects.filter(merged_into_id__in=frontier).exclude(pk__in=ids).values_list("pk", flat=True)
        )
        ids.update(frontier)
    return sorted(ids)


def prior_exams(procedure: RequestedProcedure, *, limit: int = 20) -> QuerySet[RequestedProcedure]:
    """The same person's other exams, newest first, with their reports."""
    return (
        RequestedProcedure.objects.filter(order__patient_id__in=same_person(procedure.order.patient))
        .exclude(pk=procedure.pk)
        .select_related("order", "report")
        .annotate(exam_at=Max("steps__start"))
        .order_by("-exam_at", "-pk")[:limit]
    )


def report_templates_for(procedure: RequestedProcedure) -> QuerySet[ReportTemplate]:
    """Active templates and macros of the procedure's catalogue entry, and those for every procedure."""
    mine = Q(procedure__code=procedure.code_value) if procedure.code_value else Q(pk__in=[])
    return ReportTemplate.objects.filter(mine | Q(procedure__isnull=True), is_active=True).order_by("kind", "name")


def open_critical_results() -> QuerySet[CriticalResult]:
    """Critical results not yet communicated, soonest due first."""
    return (
        CriticalResult.objects.filter(completed_at__isnull=True)
        .select_related("report__order__patient", "report__procedure", "flagged_by")
        .order_by("due_at")
    )


def recently_communicated(*, days: int = 7) -> QuerySet[CriticalResult]:
    since = timezone.now() - dt.timedelta(days=days)
    return (
        CriticalResult.objects.filter(completed_at__gte=since)
        .select_related("report__order__patient", "report__procedure", "recorded_by")
        .order_by("-completed_at")
    )


def open_critical_result(report_id: int | None) -> CriticalResult | None:
    if report_id is None:
        return None
    return CriticalResult.objects.filter(report_id=report_id, completed_at__isnull=True).first()


def live_readers(procedure_ids: list[int]) -> dict[int, ReadingLock]:
    """The live reading lock of each of these exams that has one."""
    since = timezone.now() - dt.timedelta(minutes=settings.RIS_READING_LOCK_IDLE_MINUTES)
    locks = ReadingLock.objects.filter(procedure_id__in=procedure_ids, seen_at__gt=since)
    return {lock.procedure_id: lock for lock in locks.select_related("holder__staff_profile")}
