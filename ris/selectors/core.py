"""Reads the pages and the API share: one function per question asked."""

import datetime as dt

from django.db.models import Q, QuerySet
from django.utils import timezone

from ris.models import Appointment, AuditEvent, BlockedTime, Room, ScheduledProcedureStep
from ris.selectors.patients import (  # noqa: F401 (the general reads)
    merged_patients,
    name_matches,
    patient_candidates,
    patient_merges,
    patient_orders,
    patient_reports,
    patient_search,
)
from ris.selectors.scheduling import by_urgency_then_requested_time
from ris.states import StepStatus


def steps_with_context() -> QuerySet[ScheduledProcedureStep]:
    return ScheduledProcedureStep.objects.select_related("requested_procedure__order__patient", "appointment__room")


def order_queue(
    *,
    status: str = "",
    modality: str = "",
    priority: str = "",
    day: dt.date | None = None,
    referring: str = "",
    booked: str = "",
    text: str = "",
) -> QuerySet[ScheduledProcedureStep]:
    """Steps to schedule, most urgent first; every filter optional."""
    rows = steps_with_context()
    exact = {"status": status, "modality": modality, "requested_procedure__order__priority": priority}
    rows = rows.filter(**{k: v for k, v in exact.items() if v})
    if day:
        rows = rows.filter(start__range=day_bounds(day))
    if referring:
        rows = rows.filter(requested_procedure__order__referring_physician__icontains=referring)
    if booked in ("yes", "no"):
        rows = rows.filter(appointment__isnull=(booked == "no"))
    if text:
        rows = rows.filter(_text_match(text))
    return by_urgency_then_requested_time(rows)


def _text_match(text: str) -> Q:
    order = "requested_procedure__order__"
    return (
        Q(**{order + "accession_number__iexact": text})
        | Q(**{order + "patient__patient_id__iexact": text})
        | name_matches(text, prefix=order + "patient__")
        | Q(description__icontains=text)
    )


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[midnight, next midnight) of a day in the site time zone, as aware datetimes."""
    start = timezone.make_aware(dt.datetime.combine(day, dt.time()))
    return start, start + dt.timedelta(days=1) - dt.timedelta(microseconds=1)


def unbooked_steps(*, modality: str = "", text: str = "") -> QuerySet[ScheduledProcedureStep]:
    """The list to book: open steps in no room, most urgent first, then by the time the order asked for."""
    return order_queue(modality=modality, booked="no", text=text).filter(status__in=StepStatus.OPEN)


def appointments_between(start: dt.datetime, end: dt.datetime) -> QuerySet[Appointment]:
    """The bookings that hold their slot (a cancelled or no-show exam's row is history)."""
    return (
        Appointment.objects.filter(start__lt=end, end__gt=start)
        .exclude(step__status__in=StepStatus.STOPPED)
        .select_related("room", "patient", "step__requested_procedure__order")
    )


def blocked_between(start: dt.datetime, end: dt.datetime) -> QuerySet[BlockedTime]:
    return BlockedTime.objects.filter(start__lt=end, end__gt=start, room__is_active=True)


def active_rooms() -> QuerySet[Room]:
    return Room.objects.filter(is_active=True).select_related("station")


def board_steps(day: dt.date) -> QuerySet[ScheduledProcedureStep]:
    """A day's exams for the status board, in time order."""
    return steps_with_context().filter(start__range=day_bounds(day)).order_by("start")


def audit_search(
    *,
    actor: str = "",
    patient_id: str = "",
    door: str = "",
    action: str = "",
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> QuerySet[AuditEvent]:
    rows = AuditEvent.objects.select_related("patient")
    exact = {"actor__iexact": actor, "patient__patient_id__iexact": patient_id, "door": door, "action": action}
    rows = rows.filter(**{k: v for k, v in exact.items() if v})
    if since:
        rows = rows.filter(at__gte=day_bounds(since)[0])
    if until:
        rows = rows.filter(at__lte=day_bounds(until)[1])
    return rows.order_by("-at")
