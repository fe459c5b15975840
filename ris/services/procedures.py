"""The Image Manager hears what is scheduled (IHE RAD-4) and what changes (RAD-13).

The domain decides *that* a PACS must hear of a procedure: when an order is
placed, when its procedures change (time, room, procedure code, station),
when it is cancelled or discontinued, and when the patient data it carries
changes (demographics, a merge, a reconciliation). Each is one outbox row
(event "procedure") per Image Manager destination, written in the caller's
transaction; the HL7 door builds the message from the order as it is when
the worker runs (hl7/write_procedure.py). The control says what happened,
in HL7's words because the Image Manager reads them: NW new, XO changed,
CA cancelled, DC discontinued (HL7 2.5.1 table 0119).
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from ris.models import Destination, ImagingOrder, OutboundMessage, Patient
from ris.services.outbox import outbox_enqueue
from ris.states import OrderStatus

EVENT = "procedure"
SCHEDULED, UPDATED, CANCELLED, DISCONTINUED = "NW", "XO", "CA", "DC"
# The orders whose procedures a PACS still has to place images under
OPEN_ORDERS = (OrderStatus.SCHEDULED, OrderStatus.IN_PROGRESS, OrderStatus.ON_HOLD)


def procedure_notify(*, order: ImagingOrder, control: str, reason: str = "") -> None:
    """Queue the procedure message for every Image Manager, once per
    transaction and control: a second change before the worker builds it is
    carried by the same message, built from the order as it is then."""
    if not _image_managers().exists():
        return
    pending = OutboundMessage.objects.filter(
        order=order, event=EVENT, built_at__isnull=True, status=OutboundMessage.Status.PENDING
    )
    if pending.filter(context__control=control).exists():
        return
    context = {"order_id": order.pk, "control": control, "reason": reason[:200]}
    outbox_enqueue(event=EVENT, context=context, order=order)


def procedure_notify_patient(*, patient: Patient, reason: str = "patient data changed") -> None:
    """The patient's data changed: every open order of theirs is updated (XO)."""
    if not _image_managers().exists():
        return
    for order in ImagingOrder.objects.filter(patient=patient, status__in=OPEN_ORDERS).order_by("pk"):
        procedure_notify(order=order, control=UPDATED, reason=reason)


def procedure_notify_status(*, order: ImagingOrder) -> None:
    """An order that ended without being performed is cancelled at the PACS too."""
    if order.status == OrderStatus.CANCELED:
        procedure_notify(order=order, control=CANCELLED)
    elif order.status == OrderStatus.DISCONTINUED:
        procedure_notify(order=order, control=DISCONTINUED)


def _image_managers() -> QuerySet[Destination]:
    return Destination.objects.filter(Q(enabled=True), role=Destination.Role.IMAGE_MANAGER)
