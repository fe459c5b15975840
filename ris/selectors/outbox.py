"""Reads of the outbox for pages and alerts: the dead letters.

A dead letter is an outbound message given up on (DEAD): the receiver
refused it, it could not be built, or the receiver stayed unreachable.
It stays counted until someone sends it again, so a page can raise the
alert (`outbox_dead_letter_count`) and list them
(`outbox_dead_letters`); the same count is the `ris_outbox_dead_letters`
metric.
"""

from __future__ import annotations

from django.db.models import Count, QuerySet

from ris.models import OutboundMessage


def outbox_dead_letters() -> QuerySet[OutboundMessage]:
    """The dead letters, newest first, with their destination and order."""
    return (
        OutboundMessage.objects.filter(status=OutboundMessage.Status.DEAD)
        .select_related("destination", "order")
        .order_by("-id")
    )


def outbox_dead_letter_count() -> int:
    """How many messages are given up on: non-zero is an alert."""
    return OutboundMessage.objects.filter(status=OutboundMessage.Status.DEAD).count()


def outbox_dead_letters_by_destination() -> dict[str, int]:
    """Dead letters per destination name (only destinations that have some)."""
    rows = (
        OutboundMessage.objects.filter(status=OutboundMessage.Status.DEAD)
        .values("destination__name")
        .annotate(n=Count("id"))
    )
    return {row["destination__name"]: row["n"] for row in rows}
