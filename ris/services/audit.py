"""The audit trail: who saw or changed which patient's data, through which door.

Services record their own changes with the actor a door handed them, inside
the transaction of the change; the read services here record what a door
showed. Each event is one INSERT.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Model

from ris.models import AuditEvent, ImagingOrder, Patient
from ris.records import Actor

SYSTEM = Actor(door=AuditEvent.Door.SYSTEM, name="system")


def audit_record(
    *,
    actor: Actor,
    action: str,
    patient: Patient | None = None,
    obj: Model | None = None,
    detail: str = "",
    object_type: str = "",
) -> AuditEvent:
    """Record one access by `actor`; the detail ends with what carried it."""
    return _insert(
        actor,
        action,
        patient=patient,
        object_type=(obj._meta.model_name or "") if obj is not None else object_type,
        object_id=str(obj.pk) if obj is not None else "",
        detail=detail,
    )


def _insert(
    actor: Actor,
    action: str,
    *,
    patient: Patient | None = None,
    object_type: str = "",
    object_id: str = "",
    detail: str = "",
) -> AuditEvent:
    return AuditEvent.objects.create(
        door=actor.door,
        action=action,
        patient=patient,
        user=actor.person,
        actor=actor.label[:150],
        object_type=object_type,
        object_id=object_id,
        detail=" · ".join(part for part in (detail, actor.via) if part)[:500],
        address=actor.address[:64],
    )


def audit_view(*, actor: Actor, patient: Patient | None = None, obj: Model | None = None, detail: str = "") -> None:
    """Record that a door showed one record (of one patient)."""
    audit_record(actor=actor, action=AuditEvent.Action.VIEW, patient=patient, obj=obj, detail=detail)


def audit_view_many(
    *, actor: Actor, patients: Iterable[Patient | None], object_type: str = "", detail: str = ""
) -> AuditEvent:
    """One event for an answer that showed several records (a search, a
    worklist query): the patient when there was exactly one, and every
    patient's id in the detail."""
    shown = sorted({patient.pk: patient for patient in patients if patient is not None}.items())
    listed = f"patients {','.join(str(pk) for pk, _ in shown)}" if shown else "no patient"
    return _insert(
        actor,
        AuditEvent.Action.VIEW,
        patient=shown[0][1] if len(shown) == 1 else None,
        object_type=object_type,
        detail=f"{detail}: {listed}" if detail else listed,
    )


def patient_view(*, actor: Actor, patient: Patient) -> Patient:
    """A patient's record as a page or the API shows it."""
    audit_view(actor=actor, patient=patient, obj=patient)
    return patient


def order_view(*, actor: Actor, order: ImagingOrder) -> ImagingOrder:
    """An order as a page or the API shows it."""
    audit_view(actor=actor, patient=order.patient, obj=order)
    return order


def worklist_query_view(*, actor: Actor, items: int, patient_ids: Iterable[str], status: str) -> None:
    """One modality worklist query (C-FIND): who asked, how many steps it was
    shown, of which patients (by identifier). One INSERT, nothing read."""
    listed = ",".join(sorted(set(patient_ids))) or "none"
    detail = f"MWL C-FIND {status}: {items} item(s), patients {listed}"
    _insert(actor, AuditEvent.Action.VIEW, object_type="worklist", detail=detail)
