"""Reads for vetting: the radiologist's queue and the protocols a procedure may get."""

from __future__ import annotations

from django.db.models import QuerySet

from ris.models import ImagingOrder, ProtocolCode, RequestedProcedure
from ris.states import OrderStatus, VettingStatus

ENDED = (OrderStatus.CANCELED, OrderStatus.DISCONTINUED, OrderStatus.COMPLETED)


def orders_to_vet() -> QuerySet[ImagingOrder]:
    """Orders waiting for a radiologist (or returned for information), oldest first; not those since ended."""
    return (
        ImagingOrder.objects.filter(vetting_status__in=VettingStatus.UNVETTED)
        .exclude(status__in=ENDED)
        .select_related("patient")
        .prefetch_related("procedures__steps")
        .order_by("created_at", "pk")
    )


def protocols_for(procedure: RequestedProcedure) -> list[ProtocolCode]:
    """The catalogue's protocols of a requested procedure, the default (the suggestion) first."""
    return list(
        ProtocolCode.objects.filter(
            procedure__code=procedure.code_value, procedure__code_scheme__in=[procedure.code_scheme, ""]
        )
        .select_related("procedure")
        .order_by("-is_default", "code_value")
    )
