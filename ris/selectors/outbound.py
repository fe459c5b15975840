"""Reads of the outbox for the integration console: the queue by state and
the destinations with their counts (the dead letters: ris/selectors/outbox.py)."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from ris.models import Destination, OutboundMessage

DEAD = OutboundMessage.Status.DEAD
OPEN = (OutboundMessage.Status.PENDING, OutboundMessage.Status.RETRYING)


def outbound_messages(
    *, status: str = "", destination: str = "", event: str = "", text: str = ""
) -> QuerySet[OutboundMessage]:
    rows = OutboundMessage.objects.select_related("destination", "order").order_by("-id")
    if status:
        rows = rows.filter(status=status)
    if destination:
        rows = rows.filter(destination__name=destination)
    if event:
        rows = rows.filter(event=event)
    if text:
        rows = rows.filter(Q(control_id__icontains=text) | Q(order__accession_number__iexact=text))
    return rows


def destinations_with_counts() -> QuerySet[Destination]:
    return Destination.objects.annotate(
        open_count=Count("messages", filter=Q(messages__status__in=OPEN)),
        dead_count=Count("messages", filter=Q(messages__status=DEAD)),
    ).order_by("name")
