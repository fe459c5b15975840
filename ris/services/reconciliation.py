"""The reconciliation workbench: repairing what did not match between order, exam and images.

Each open item (ris.models.Discrepancy, opened by ris/services/discrepancies.py)
is resolved by a person, with a reason the audit trail keeps:

- link: an unscheduled MPPS, or images of an unknown or coerced study, are
  put under the right order. The steps follow through the state machine,
  the EHR hears the order's new status (outbox "order_status"), and the
  Image Manager a procedure update with the right patient and accession
  (outbox "procedure", XO). Where images were stored under another study,
  the rejection the archive is asked for (IOCM, KOS title 113038
  "Incorrect Modality Worklist Entry") is recorded with the resolution and
  queued (outbox "rejection_note") for Image Manager DICOM destinations,
  which receive it as a Key Object Selection rejection note (C-STORE).
  An MPPS on another patient's order is moved: the steps it was on go back
  to the worklist first.
- new order: an unscheduled MPPS becomes an order of its own (the PACS hears
  it scheduled, then updated).
- dismiss: nothing to repair (a test exam, a merge that was right).
- undo: a dismissal is reopened; a link is taken back while its steps can go
  back (a step the link completed stays completed: the state machine has no
  way back from COMPLETED, so that undo is refused with the reason), and
  while no rejection was asked of the archive (IOCM has no way to recall one).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone

from ris.exceptions import IllegalTransition, InvalidInput
from ris.models import (
    AuditEvent,
    AvailableInstance,
    Discrepancy,
    ImagingOrder,
    PerformedProcedureStep,
    RequestedProcedure,
    ScheduledProcedureStep,
)
from ris.records import Actor
from ris.services.audit import audit_record
from ris.services.images import instances_attach, steps_to_complete
from ris.services.mpps import mpps_link_to_order, mpps_register_unscheduled_exam
from ris.services.outbox import outbox_enqueue
from ris.services.procedures import UPDATED, procedure_notify
from ris.services.steps import order_follow_steps, required_reason, step_walk
from ris.states import StepStatus

log = logging.getLogger(__name__)
Kind, State = Discrepancy.Kind, Discrepancy.State
LINKABLE = frozenset(
    {Kind.UNSCHEDULED_MPPS, Kind.UNKNOWN_STUDY, Kind.COERCED_UID, Kind.WRONG_WORKLIST_ENTRY, Kind.PATIENT_CONFLICT}
)
REGISTRABLE = frozenset({Kind.UNSCHEDULED_MPPS})
# PS3.16 CID 7011 Rejected for Quality Reasons / IOCM: the KOS document title
INCORRECT_WORKLIST_ENTRY = ("113038", "DCM", "Incorrect Modality Worklist Entry")
REJECTION_NOTE = "rejection_note"


@transaction.atomic
def reconcile_link(*, item: Discrepancy, order: ImagingOrder, reason: str, actor: Actor) -> Discrepancy:
    """Put the item's exam or images under `order`; the EHR and the PACS are told."""
    item = _locked_open(item)
    reason = required_reason(reason)
    if item.kind not in LINKABLE:
        raise InvalidInput(f"a {item.get_kind_display()} is reviewed and dismissed, not linked", field="order")
    if item.kind == Kind.UNSCHEDULED_MPPS:
        undo = _link_mpps(item, order, actor)
    elif item.kind == Kind.PATIENT_CONFLICT:
        undo = _relink_mpps(item, order, actor)
    elif item.kind == Kind.WRONG_WORKLIST_ENTRY:
        undo = {"action": "record"}
        item.rejection_request = _rejection_of_series(item.performed_step, order)
    else:
        undo = _link_images(item, order, actor)
    procedure_notify(order=order, control=UPDATED, reason=f"reconciled: {item.get_kind_display()}")
    return _resolve(item, order, f"linked to order {order.accession_number}: {reason}", undo, actor)


@transaction.atomic
def reconcile_register_order(*, item: Discrepancy, reason: str, actor: Actor) -> Discrepancy:
    """An unscheduled MPPS becomes an order of its own, linked to it."""
    item = _locked_open(item)
    reason = required_reason(reason)
    if item.kind not in REGISTRABLE or item.performed_step is None:
        raise InvalidInput("only an unscheduled MPPS can become an order of its own", field="item")
    order = mpps_register_unscheduled_exam(pps=item.performed_step, actor=actor)
    undo = {"action": "register", "order_id": order.pk}
    return _resolve(item, order, f"registered as order {order.accession_number}: {reason}", undo, actor)


@transaction.atomic
def reconcile_dismiss(*, item: Discrepancy, reason: str, actor: Actor) -> Discrepancy:
    """Nothing to repair: the item leaves the queue with the reason."""
    item = _locked_open(item)
    reason = required_reason(reason)
    item.state = State.DISMISSED
    return _close(item, None, f"dismissed: {reason}", {"action": "dismiss"}, actor)


@transaction.atomic
def reconcile_undo(*, item: Discrepancy, reason: str, actor: Actor) -> Discrepancy:
    """Take a resolution back and reopen the item, where the state machines allow it."""
    item = Discrepancy.objects.select_for_update().get(pk=item.pk)
    reason = required_reason(reason)
    if item.is_open:
        raise InvalidInput("the item is open: there is nothing to undo", field="item")
    action = item.undo.get("action")
    order = item.order
    if item.rejection_request.get("instances"):
        raise IllegalTransition(
            "the archive was asked to reject the images stored under the wrong study; that is not recalled"
        )
    if action == "link_mpps":
        _unlink_mpps(item)
    elif action == "link_images":
        _unlink_images(item)
    elif action == "relink":
        raise IllegalTransition("link the exam again to the order it was on, from a new item, instead")
    elif action == "register":
        raise IllegalTransition(
            "the order made from this MPPS has been performed; cancel or correct that order instead"
        )
    if order is not None and action != "dismiss":
        procedure_notify(order=order, control=UPDATED, reason="reconciliation undone")
    detail = f"undone ({item.resolution}): {reason}"
    item.state, item.order, item.resolution, item.resolved_at, item.resolved_by = State.OPEN, None, "", None, None
    item.undo, item.rejection_request = {}, {}
    item.save()
    audit_record(actor=actor, action=AuditEvent.Action.CHANGE, patient=item.patient, obj=item, detail=detail[:500])
    return item


def _locked_open(item: Discrepancy) -> Discrepancy:
    row = Discrepancy.objects.select_for_update().get(pk=item.pk)
    if not row.is_open:
        raise InvalidInput(f"the item was {row.get_state_display()} already", field="item")
    return row


def _resolve(item: Discrepancy, order: ImagingOrder, text: str, undo: dict[str, Any], actor: Actor) -> Discrepancy:
    item.state = State.RESOLVED
    item.patient = item.patient or order.patient
    item = _close(item, order, text, undo, actor)
    if item.rejection_request.get("instances"):
        # The archive is asked to reject what it stored under the wrong study (IOCM)
        outbox_enqueue(event=REJECTION_NOTE, context={"discrepancy_id": item.pk}, order=order)
    return item


def _close(item: Discrepancy, order: ImagingOrder | None, text: str, undo: dict[str, Any], actor: Actor) -> Discrepancy:
    item.order, item.resolution, item.undo = order, text[:255], undo
    item.resolved_at, item.resolved_by = timezone.now(), actor.person
    item.save()
    patient = order.patient if order is not None else item.patient
    audit_record(actor=actor, action=AuditEvent.Action.CHANGE, patient=patient, obj=item, detail=text)
    log.info("reconciliation item %s %s", item.pk, item.state)
    return item


# An unscheduled MPPS


def _link_mpps(item: Discrepancy, order: ImagingOrder, actor: Actor) -> dict[str, Any]:
    pps = item.performed_step
    if pps is None:
        raise InvalidInput("the item names no MPPS", field="item")
    before = dict(_statuses(order))
    pps = mpps_link_to_order(pps=pps, order=order, actor=actor)
    linked = [step.pk for step in pps.steps.all()]
    item.rejection_request = _rejection_of_series(pps, order)
    return {"action": "link_mpps", "steps": {str(pk): before.get(pk, "") for pk in linked}}


def _relink_mpps(item: Discrepancy, order: ImagingOrder, actor: Actor) -> dict[str, Any]:
    """An MPPS linked to another patient's steps moves to the right order:
    the steps it was on go back to the worklist, where the state machine lets them."""
    pps = item.performed_step
    if pps is None:
        raise InvalidInput("the item names no MPPS", field="item")
    pps = PerformedProcedureStep.objects.select_for_update().get(pk=pps.pk)
    wrong = list(pps.steps.select_for_update(of=("self",)).select_related("requested_procedure"))
    if any(step.requested_procedure.order_id == order.pk for step in wrong):
        raise InvalidInput(f"the exam is already on order {order.accession_number}", field="order")
    for step in wrong:
        _walk_back(step)
    pps.steps.remove(*wrong)
    for order_id in sorted({step.requested_procedure.order_id for step in wrong}):
        procedure_notify(order=order_follow_steps(order_id=order_id), control=UPDATED, reason="exam moved away")
    mpps_link_to_order(pps=pps, order=order, actor=actor)
    item.rejection_request = _rejection_of_series(pps, order)
    return {"action": "relink", "from_steps": [step.pk for step in wrong]}


def _unlink_mpps(item: Discrepancy) -> None:
    pps = PerformedProcedureStep.objects.select_for_update().get(pk=int(item.performed_step_id or 0))
    steps = list(ScheduledProcedureStep.objects.select_for_update().filter(pk__in=[int(k) for k in item.undo["steps"]]))
    for step in steps:
        _walk_back(step)
    pps.steps.remove(*steps)
    pps.unscheduled = True
    pps.save(update_fields=["unscheduled", "updated_at"])
    for order_id in sorted({step.requested_procedure.order_id for step in steps}):
        order_follow_steps(order_id=order_id)


def _walk_back(step: ScheduledProcedureStep) -> None:
    """A started step back onto the worklist: discontinued, then scheduled (STEP_MACHINE)."""
    if step.status == StepStatus.COMPLETED:
        raise IllegalTransition(f"SPS {step.sps_id} is COMPLETED and cannot go back; correct the order instead")
    if step.status in (StepStatus.STARTED, StepStatus.DEPARTED):
        step_walk(step, [StepStatus.DISCONTINUED, StepStatus.SCHEDULED])
    elif step.status == StepStatus.DISCONTINUED:
        step_walk(step, [StepStatus.SCHEDULED])


def _statuses(order: ImagingOrder) -> list[tuple[int, str]]:
    return list(ScheduledProcedureStep.objects.filter(requested_procedure__order=order).values_list("pk", "status"))


# Images of an unknown or coerced study


def _link_images(item: Discrepancy, order: ImagingOrder, actor: Actor) -> dict[str, Any]:
    notification = item.notification
    if notification is None:
        raise InvalidInput("the item names no images", field="item")
    procedure = _procedure_for(order)
    steps = steps_to_complete(procedure)
    for step in steps:
        step_walk(step, [StepStatus.COMPLETED] if step.status in StepStatus.PERFORMING else _TO_COMPLETED)
    instances_attach(notification=notification, procedure=procedure, step=steps[0] if steps else None)
    order_follow_steps(order_id=order.pk)
    stored = AvailableInstance.objects.filter(notification=notification).order_by("pk")
    item.rejection_request = _rejection(
        notification.study_instance_uid,
        procedure,
        references=[
            {"series": i.series_instance_uid, "sop_class": i.sop_class_uid, "sop_instance": i.sop_instance_uid}
            for i in stored
        ],
    )
    return {"action": "link_images", "steps": [step.pk for step in steps]}


_TO_COMPLETED: list[str] = [StepStatus.STARTED, StepStatus.COMPLETED]


def _unlink_images(item: Discrepancy) -> None:
    if item.undo.get("steps"):
        raise IllegalTransition("the images completed the order's steps, which cannot go back; correct the order")
    if item.notification is not None:
        instances_attach(notification=item.notification, procedure=None, step=None)


def _procedure_for(order: ImagingOrder) -> RequestedProcedure:
    procedure = order.procedures.order_by("pk").first()
    if procedure is None:
        raise InvalidInput(f"order {order.accession_number} has no procedure", field="order")
    return procedure


# What the archive is asked to reject (IHE IOCM)


def _rejection_of_series(pps: PerformedProcedureStep | None, order: ImagingOrder) -> dict[str, Any]:
    """The images the MPPS says it made, under the study its modality stamped on them."""
    if pps is None or not pps.scheduled_step_refs:
        return {}
    stored_under = pps.scheduled_step_refs[0].get("study_instance_uid", "")
    procedure = _procedure_for(order)
    if not stored_under or stored_under == procedure.study_instance_uid:
        return {}
    series = [str(item.get("series_instance_uid", "")) for item in pps.performed_series if isinstance(item, dict)]
    stored_patient = {"patient_id": pps.patient_id, "patient_name": pps.patient_name}
    return _rejection(
        stored_under,
        procedure,
        series=[uid for uid in series if uid],
        references=_performed_images(pps.dataset),
        stored_patient=stored_patient,
    )


def _performed_images(dataset: dict[str, Any]) -> list[dict[str, str]]:
    """The images of the MPPS's Performed Series Sequence (0040,0340), from its DICOM JSON."""
    references = []
    for series in _values(dataset, "00400340"):
        series_uid = str(next(iter(_values(series, "0020000E")), ""))
        for image in _values(series, "00081140"):
            sop_class = str(next(iter(_values(image, "00081150")), ""))
            sop_instance = str(next(iter(_values(image, "00081155")), ""))
            if series_uid and sop_instance:
                references.append({"series": series_uid, "sop_class": sop_class, "sop_instance": sop_instance})
    return references


def _values(dataset: Any, tag: str) -> list[Any]:
    element = dataset.get(tag) if isinstance(dataset, dict) else None
    values = element.get("Value") if isinstance(element, dict) else None
    return values if isinstance(values, list) else []


def _rejection(
    stored_under: str,
    procedure: RequestedProcedure,
    *,
    series: Sequence[str] = (),
    references: Sequence[dict[str, str]] = (),
    stored_patient: dict[str, str] | None = None,
) -> dict[str, Any]:
    if stored_under == procedure.study_instance_uid:
        return {}
    code, scheme, meaning = INCORRECT_WORKLIST_ENTRY
    order = procedure.order
    return {
        "title": {"value": code, "scheme": scheme, "meaning": meaning},
        "stored_under_study": stored_under,
        "series": list(series) or sorted({r["series"] for r in references}),
        "instances": [r["sop_instance"] for r in references],
        "references": list(references),
        "stored_patient": stored_patient or {},
        "correct_study": procedure.study_instance_uid,
        "correct_accession": order.accession_number,
        "correct_patient_id": order.patient.patient_id,
        "correct_issuer": order.patient.issuer,
    }
