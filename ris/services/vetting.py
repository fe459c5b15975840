"""Vetting and protocoling: before an order of a procedure that needs vetting
is booked, a radiologist accepts it (assigning a protocol to each procedure),
rejects it with a reason, or returns it for more information.

The vetting status moves through `VETTING_MACHINE`, the order's status
through `ORDER_MACHINE`. A rejection cancels the order and its steps and tells
the EHR (outbox event "order_status" with control "OC" and the reason); a
return holds the order (the EHR hears ORC-5 HD with the reason) until it is
vetted again. The assigned protocol is written on the procedure's open steps
(Scheduled Protocol Code Sequence on the worklist). Every decision is audited
with its actor.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ris.exceptions import IllegalTransition, InvalidInput
from ris.models import AuditEvent, ImagingOrder, Procedure, ProtocolCode, RequestedProcedure, ScheduledProcedureStep
from ris.records import Actor, ProcedureData
from ris.services.audit import audit_record
from ris.services.outbox import outbox_enqueue
from ris.services.steps import required_reason, step_move
from ris.states import ORDER_MACHINE, VETTING_MACHINE, OrderStatus, StepStatus, VettingStatus

_ENDED = (OrderStatus.CANCELED, OrderStatus.DISCONTINUED, OrderStatus.COMPLETED)


def vetting_needed(procedures: list[ProcedureData]) -> bool:
    """Whether a catalogue entry of any of these codes needs vetting (the
    statement path asks the same in SQL: ris/services/statements/orders.py)."""
    matches = Q()
    for data in procedures:
        if data.code_value:
            matches |= Q(code=data.code_value) & (Q(code_scheme=data.code_scheme) | Q(code_scheme=""))
    return bool(matches) and Procedure.objects.filter(matches, needs_vetting=True).exists()


def initial_vetting(procedures: list[ProcedureData]) -> str:
    return VettingStatus.PENDING if vetting_needed(procedures) else VettingStatus.NOT_REQUIRED


@transaction.atomic
def order_vet_accept(
    *, order: ImagingOrder, actor: Actor, protocols: dict[int, ProtocolCode | None] | None = None
) -> ImagingOrder:
    """Accept the order; `protocols` maps a requested procedure's id to the
    protocol assigned to it (None: keep what its steps carry)."""
    order = _locked(order)
    _vet(order, VettingStatus.ACCEPTED, actor, "")
    for procedure in order.procedures.order_by("pk"):
        protocol = (protocols or {}).get(procedure.pk)
        if protocol is not None:
            protocol_assign(procedure=procedure, protocol=protocol, actor=actor)
    if order.status == OrderStatus.ON_HOLD:  # it had been returned for information
        _order_move(order, OrderStatus.SCHEDULED, "")
    _audit(actor, order, "vetting accepted")
    return order


@transaction.atomic
def order_vet_reject(*, order: ImagingOrder, reason: str, actor: Actor) -> ImagingOrder:
    """Reject the order: it is cancelled with its steps, and the EHR hears ORC-1 OC with the reason."""
    reason = required_reason(reason)
    order = _locked(order)
    _vet(order, VettingStatus.REJECTED, actor, reason)
    for step in ScheduledProcedureStep.objects.select_for_update().filter(requested_procedure__order=order):
        if step.status not in StepStatus.ENDED:
            step_move(step, StepStatus.CANCELED)
            step.status_reason = f"rejected at vetting: {reason}"[:255]
            step.save(update_fields=["status_reason"])
    _order_move(order, OrderStatus.CANCELED, reason, control="OC")
    _audit(actor, order, f"vetting rejected: {reason}")
    return order


@transaction.atomic
def order_vet_return(*, order: ImagingOrder, reason: str, actor: Actor) -> ImagingOrder:
    """Return the order for more information: held (the EHR hears HD with the reason) until vetted again."""
    reason = required_reason(reason)
    order = _locked(order)
    _vet(order, VettingStatus.RETURNED, actor, reason)
    if order.status != OrderStatus.ON_HOLD:
        _order_move(order, OrderStatus.ON_HOLD, reason)
    _audit(actor, order, f"vetting returned for information: {reason}")
    return order


def order_vet_again(*, order: ImagingOrder, actor: Actor) -> None:
    """An order returned for information that the EHR changed (XO) waits for vetting again."""
    if order.vetting_status != VettingStatus.RETURNED:
        return
    VETTING_MACHINE.check(order.vetting_status, VettingStatus.PENDING)
    order.vetting_status = VettingStatus.PENDING
    order.save(update_fields=["vetting_status", "updated_at"])
    _audit(actor, order, "waits for vetting again (changed by its placer)")


@transaction.atomic
def protocol_assign(*, procedure: RequestedProcedure, protocol: ProtocolCode, actor: Actor) -> RequestedProcedure:
    """Give the procedure's steps not yet started this protocol (PS3.3 C.4.10 (0040,0008))."""
    if not _protocol_fits(procedure, protocol):
        raise InvalidInput(
            f"protocol {protocol.code_value} is not one of procedure {procedure.code_value}", field="protocol"
        )
    procedure.steps.filter(status__in=StepStatus.OPEN).update(
        protocol_code_value=protocol.code_value,
        protocol_code_scheme=protocol.code_scheme,
        protocol_code_meaning=protocol.code_meaning,
    )
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CHANGE,
        patient=procedure.order.patient,
        obj=procedure,
        detail=f"protocol {protocol.code_value} ({protocol.code_meaning}) assigned",
    )
    return procedure


def _protocol_fits(procedure: RequestedProcedure, protocol: ProtocolCode) -> bool:
    entry = protocol.procedure
    return entry.code == procedure.code_value and entry.code_scheme in (procedure.code_scheme, "")


def _locked(order: ImagingOrder) -> ImagingOrder:
    return ImagingOrder.objects.select_for_update().select_related("patient").get(pk=order.pk)


def _vet(order: ImagingOrder, status: str, actor: Actor, reason: str) -> None:
    if order.status in _ENDED:  # e.g. the EHR cancelled it while it waited
        raise IllegalTransition(f"imaging order {order.accession_number} is {order.status} and cannot be vetted")
    VETTING_MACHINE.check(order.vetting_status, status)
    order.vetting_status = status
    order.vetting_reason = reason[:255]
    order.vetted_by = actor.person
    order.vetted_at = timezone.now()
    order.save(update_fields=["vetting_status", "vetting_reason", "vetted_by", "vetted_at", "updated_at"])


def _order_move(order: ImagingOrder, status: str, reason: str, control: str = "SC") -> None:
    ORDER_MACHINE.check(order.status, status)
    order.status = status
    order.save(update_fields=["status", "updated_at"])
    context: dict[str, object] = {"order_id": order.pk, "status": status}
    if reason:
        context["reason"] = reason
    if control != "SC":
        context["control"] = control
    outbox_enqueue(event="order_status", context=context, order=order)


def _audit(actor: Actor, order: ImagingOrder, detail: str) -> None:
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CHANGE,
        patient=order.patient,
        obj=order,
        detail=f"order {order.accession_number} {detail}"[:400],
    )
