"""Reads for the reconciliation workbench: the queue, and the orders an item may belong to."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from ris.models import Discrepancy, ImagingOrder
from ris.states import OrderStatus, StepStatus

_RELATED = (
    "performed_step",
    "quarantined",
    "notification",
    "patient",
    "order__patient",
    "resolved_by",
)


def reconciliation_queue() -> QuerySet[Discrepancy]:
    """The open items, oldest first: the queue a person works through."""
    return Discrepancy.objects.filter(state=Discrepancy.State.OPEN).select_related(*_RELATED).order_by("created_at")


def reconciliation_recent(limit: int = 20) -> list[Discrepancy]:
    """The items resolved or dismissed last, newest first (each may be undone)."""
    done = Discrepancy.objects.exclude(state=Discrepancy.State.OPEN).select_related(*_RELATED)
    return list(done.order_by("-resolved_at", "-pk")[:limit])


def reconciliation_item(pk: int) -> Discrepancy:
    return Discrepancy.objects.select_related(*_RELATED).get(pk=pk)


def reconciliation_candidates(item: Discrepancy, limit: int = 10) -> list[ImagingOrder]:
    """Orders the item may belong to: the patient's the modality named, then
    orders on its modality with steps not yet performed, latest first."""
    pps = item.performed_step
    wanted = Q(pk__in=[])
    if pps is not None and pps.patient_id:
        wanted |= Q(patient__patient_id=pps.patient_id)
    if item.patient_id:
        wanted |= Q(patient_id=item.patient_id)
    if pps is not None:
        wanted |= Q(procedures__steps__modality=pps.modality, procedures__steps__status__in=StepStatus.OPEN)
    orders = ImagingOrder.objects.filter(wanted).exclude(status__in=(OrderStatus.CANCELED, OrderStatus.DISCONTINUED))
    return list(orders.select_related("patient").distinct().order_by("-created_at")[:limit])


def order_by_accession(accession_number: str) -> ImagingOrder | None:
    return ImagingOrder.objects.select_related("patient").filter(accession_number=accession_number.strip()).first()
