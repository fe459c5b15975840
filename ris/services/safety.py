"""Safety screening: recording values, checking the rules before a booking or
a start, overriding them with a reason, and the alert an exam started by its
modality against a rule raises.

Every recorded value is a new `SafetyRecord` (the history stays) and an
audit event with its actor. A booking or a manual start that breaks a rule
(ris/services/safety_rules.py) is refused with `SafetyRuleBroken`, unless the
actor may override (capability `override_safety`) and gives a reason; the
override is audited with the rules it overrode. An MPPS is never refused
(the exam is already happening): it raises a `SafetyAlert` shown on the
board until someone acknowledges it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from ris.exceptions import InvalidInput, OverrideNotAllowed, SafetyRuleBroken
from ris.models import AuditEvent, ImagingOrder, SafetyAlert, SafetyItem, SafetyRecord, ScheduledProcedureStep
from ris.records import Actor, SafetyData
from ris.roles import permission
from ris.services import safety_rules as rules
from ris.services.audit import audit_record

# The coded answers each item accepts; '' where the item is a number.
CHOICES: dict[str, tuple[str, ...]] = {
    SafetyItem.CONTRAST_ALLERGY: (rules.YES, rules.NO, rules.UNKNOWN),
    SafetyItem.PREGNANCY: rules.PREGNANCY_VALUES,
    SafetyItem.MR_PACEMAKER: (rules.YES, rules.NO, rules.UNKNOWN),
    SafetyItem.MR_IMPLANT: rules.IMPLANT_VALUES,
}
NUMBERS: dict[str, tuple[Decimal, Decimal]] = {
    SafetyItem.EGFR: (Decimal(0), Decimal(250)),
    SafetyItem.WEIGHT: (Decimal("0.1"), Decimal(700)),
}
_SOURCES: dict[str, str] = {AuditEvent.Door.HL7: SafetyRecord.Source.HL7, AuditEvent.Door.API: SafetyRecord.Source.API}


@transaction.atomic
def safety_record(*, order: ImagingOrder, values: Iterable[SafetyData], actor: Actor) -> list[SafetyRecord]:
    """Record the values that differ from the order's current ones; each is audited."""
    current = rules.current_screening(order)
    recorded = []
    for data in values:
        number = _checked(data)
        if _same(current.get(data.item), data, number):
            continue
        record = SafetyRecord.objects.create(
            order=order,
            item=data.item,
            value=data.value,
            number=number,
            measured_on=data.measured_on,
            detail=data.detail[:255],
            source=_SOURCES.get(actor.door, SafetyRecord.Source.UI),
            recorded_by=actor.label[:150],
            user=actor.person,
        )
        audit_record(
            actor=actor, action=AuditEvent.Action.CHANGE, patient=order.patient, obj=record, detail=_describe(record)
        )
        recorded.append(record)
    return recorded


def _checked(data: SafetyData) -> Decimal | None:
    if data.item not in SafetyItem.values:
        raise InvalidInput(f"unknown safety item {data.item!r}", field="item")
    if data.item in NUMBERS:
        low, high = NUMBERS[data.item]
        try:
            number = Decimal(str(data.number)).quantize(Decimal("0.1")) if data.number is not None else None
        except InvalidOperation as exc:
            raise InvalidInput(f"{data.item} must be a number", field=data.item.lower()) from exc
        if number is not None and not low <= number <= high:
            raise InvalidInput(f"{data.item} must be between {low} and {high}", field=data.item.lower())
        if data.measured_on is not None and data.measured_on > timezone.localdate():
            raise InvalidInput(f"{data.item} cannot be measured in the future", field=data.item.lower())
        return number
    if data.value not in CHOICES[data.item]:
        raise InvalidInput(f"{data.item} takes one of {', '.join(CHOICES[data.item])}", field=data.item.lower())
    return None


def _same(record: SafetyRecord | None, data: SafetyData, number: Decimal | None) -> bool:
    if record is None:
        return False
    return (record.value, record.number, record.measured_on, record.detail) == (
        data.value,
        number,
        data.measured_on,
        data.detail[:255],
    )


def _describe(record: SafetyRecord) -> str:
    value = record.value or (f"{record.number}" if record.number is not None else "")
    parts = [f"screening {record.item} {value}".strip()]
    if record.measured_on:
        parts.append(f"measured {record.measured_on.isoformat()}")
    if record.detail:
        parts.append(record.detail)
    return " · ".join(parts)


def safety_check(*, order: ImagingOrder, actor: Actor, override_reason: str = "", doing: str) -> None:
    """Refuse `doing` (a booking, a start) when it breaks a rule, unless the
    actor may override and gives a reason; the override is audited."""
    broken = rules.rules_broken_by(order)
    if not broken:
        return
    messages = " ".join(flag.message for flag in broken)
    reason = (override_reason or "").strip()
    if not reason:
        raise SafetyRuleBroken(f"{messages} An override with a reason is needed.", rules=[f.rule for f in broken])
    if len(reason) > 200:
        raise InvalidInput("the reason may be at most 200 characters", field="override_reason")
    person = actor.person
    if person is None or not person.has_perm(permission("override_safety")):
        raise OverrideNotAllowed(f"{messages} You may not override safety rules.")
    names = ", ".join(flag.rule for flag in broken)
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CHANGE,
        patient=order.patient,
        obj=order,
        detail=f"safety override for {doing} ({names}): {reason}"[:400],
    )


def safety_alert_raise(*, step: ScheduledProcedureStep, actor: Actor) -> SafetyAlert | None:
    """An exam the modality started against a rule: flagged, never refused."""
    order = step.requested_procedure.order
    broken = rules.rules_broken_by(order)
    if not broken:
        return None
    alert = SafetyAlert.objects.create(order=order, step=step, reason=" ".join(flag.message for flag in broken)[:500])
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        patient=order.patient,
        obj=alert,
        detail=f"safety alert: SPS {step.sps_id} started against {', '.join(f.rule for f in broken)}",
    )
    return alert


@transaction.atomic
def safety_alert_acknowledge(*, alert: SafetyAlert, actor: Actor, now: dt.datetime | None = None) -> SafetyAlert:
    if alert.acknowledged_at is None:
        alert.acknowledged_at = now or timezone.now()
        alert.acknowledged_by = actor.label[:150]
        alert.save(update_fields=["acknowledged_at", "acknowledged_by"])
        audit_record(
            actor=actor,
            action=AuditEvent.Action.CHANGE,
            patient=alert.order.patient,
            obj=alert,
            detail="safety alert acknowledged",
        )
    return alert
