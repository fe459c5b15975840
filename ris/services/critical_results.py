"""Critical results, closed loop (docs/critical-results.md).

A signature flagged critical, urgent or unexpected significant opens a
CriticalResult, due within the category's time. It is acknowledged only by
completing its communication record (whom, how, when, read back), audited
with its actor. Until then the periodic sweep escalates it once the due
time has passed and again each further period: one outbox event
"critical_overdue" per escalation, taken with a conditional UPDATE on the
escalation level so two sweeps never send the same one twice.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ris import metrics
from ris.exceptions import IllegalTransition, InvalidInput
from ris.models import AuditEvent, CriticalResult, ReportVersion
from ris.records import Actor
from ris.services.audit import SYSTEM, audit_record
from ris.services.outbox import outbox_enqueue
from ris.states import CriticalCategory, ReportStatus

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

OVERDUE_EVENT = "critical_overdue"


def category_window(category: str) -> dt.timedelta:
    """The time within which a finding of this category must be communicated."""
    return dt.timedelta(minutes=settings.RIS_CRITICAL_RESULT_MINUTES[category])


def critical_category_check(category: str) -> str:
    """The category as stored; refuses a value that is not one."""
    if category not in CriticalCategory.values:
        raise InvalidInput(f"{category!r} is not a critical result category", field="critical_category")
    return category


SEVERITY = [CriticalCategory.CRITICAL, CriticalCategory.URGENT, CriticalCategory.UNEXPECTED]  # most severe first


def at_least_as_severe(category: str, than: str) -> bool:
    return SEVERITY.index(CriticalCategory(category)) <= SEVERITY.index(CriticalCategory(than))


def critical_result_flag(*, version: ReportVersion, actor: Actor) -> CriticalResult | None:
    """Open the communication duty of a flagged, just signed version (inside
    the signature's transaction). A report already owing one keeps it; a
    more severe category makes it due sooner. A final signed after a
    preliminary whose finding was already communicated, at the same or a
    more severe category, owes nothing new; a correction or an addendum
    flagged is new content and always owes its own."""
    report, category = version.report, version.critical_category
    assert version.signer is not None  # _sign sets it before flagging
    now = version.signed_at or timezone.now()
    due = now + category_window(category)
    result = CriticalResult.objects.select_for_update().filter(report=report, completed_at__isnull=True).first()
    if result is None and _already_told(version):
        _audit_version(actor, version, f"{category} flagged on version {version.number}: already communicated")
        return None
    action = AuditEvent.Action.CHANGE if result else AuditEvent.Action.CREATE
    if result is None:
        result = CriticalResult.objects.create(
            report=report, version=version, category=category, flagged_by=version.signer, flagged_at=now, due_at=due
        )
    elif due < result.due_at:
        result.category, result.version, result.due_at = category, version, due
        result.save(update_fields=["category", "version", "due_at"])
    what = f"{category} flagged on version {version.number}, due {result.due_at:%Y-%m-%d %H:%M %Z}"
    _audit(actor, action, result, what)
    return result


def _already_told(version: ReportVersion) -> bool:
    if version.status not in (ReportStatus.PRELIMINARY, ReportStatus.FINAL):
        return False
    told = CriticalResult.objects.filter(report=version.report, completed_at__isnull=False)
    return any(at_least_as_severe(r.category, version.critical_category) for r in told)


def _audit_version(actor: Actor, version: ReportVersion, what: str) -> None:
    report = version.report
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CHANGE,
        patient=report.order.patient,
        obj=report,
        detail=f"critical result: {what}",
    )


@transaction.atomic
def critical_result_record(
    *,
    result: CriticalResult,
    recorded_by: User | AnonymousUser,
    recipient_name: str,
    recipient_role: str,
    method: str,
    communicated_at: dt.datetime,
    read_back: bool,
    actor: Actor,
    note: str = "",
) -> CriticalResult:
    """Complete the communication record: the only acknowledgement of a critical result."""
    result = CriticalResult.objects.select_for_update().select_related("report__order__patient").get(pk=result.pk)
    if not result.is_open:
        raise IllegalTransition("this critical result's communication is already recorded")
    if not recorded_by.is_authenticated:
        raise InvalidInput("a communication is recorded by a person", field="recorded_by")
    _require_record(recipient_name, recipient_role, method, communicated_at, read_back)
    result.recipient_name, result.recipient_role, result.method = recipient_name.strip(), recipient_role.strip(), method
    result.communicated_at, result.read_back, result.note = communicated_at, read_back, note.strip()
    result.recorded_by, result.completed_at = recorded_by, timezone.now()
    result.save()
    outbox_enqueue(event="critical_communicated", context={"critical_result_id": result.pk}, order=result.report.order)
    detail = f"communicated to {result.recipient_name} ({result.recipient_role}) by {method}, read back"
    _audit(actor, AuditEvent.Action.CHANGE, result, detail)
    return result


def _require_record(name: str, role: str, method: str, at: dt.datetime, read_back: bool) -> None:
    if not name.strip():
        raise InvalidInput("say whom the result was communicated to", field="recipient_name")
    if not role.strip():
        raise InvalidInput("say the recipient's role", field="recipient_role")
    if method not in CriticalResult.Method.values:
        raise InvalidInput("say how the result was communicated", field="method")
    if timezone.is_naive(at) or at > timezone.now() + dt.timedelta(minutes=5):
        raise InvalidInput("the communication time cannot be in the future", field="communicated_at")
    if not read_back:
        raise InvalidInput("a critical result is acknowledged only once it was read back", field="read_back")


def next_escalation_at(result: CriticalResult) -> dt.datetime:
    return result.due_at + result.escalation_level * category_window(result.category)


def critical_results_escalate(*, now: dt.datetime | None = None) -> list[int]:
    """Escalate every open critical result past its next escalation time;
    returns their ids. Safe to run in several workers at once."""
    now = now or timezone.now()
    open_due = CriticalResult.objects.filter(completed_at__isnull=True, due_at__lte=now).select_related("report")
    return [result.pk for result in open_due if next_escalation_at(result) <= now and _escalate(result, now)]


@transaction.atomic
def _escalate(result: CriticalResult, now: dt.datetime) -> bool:
    level = result.escalation_level + 1
    won = CriticalResult.objects.filter(
        pk=result.pk, completed_at__isnull=True, escalation_level=result.escalation_level
    ).update(escalation_level=F("escalation_level") + 1, last_escalated_at=now)
    if won != 1:
        return False  # another sweep sent this escalation, or the record was completed meanwhile
    context = {"critical_result_id": result.pk, "report_version_id": result.version_id, "level": level}
    outbox_enqueue(event=OVERDUE_EVENT, context=context, order=result.report.order)
    metrics.CRITICAL_ESCALATIONS.labels(category=result.category).inc()
    _audit(
        SYSTEM, AuditEvent.Action.CHANGE, result, f"overdue since {result.due_at:%Y-%m-%d %H:%M %Z}: escalation {level}"
    )
    return True


def _audit(actor: Actor, action: str, result: CriticalResult, what: str) -> None:
    patient = result.report.order.patient
    audit_record(actor=actor, action=action, patient=patient, obj=result, detail=f"critical result {result.pk}: {what}")
