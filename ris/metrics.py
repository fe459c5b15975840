"""The outbox's Prometheus metrics: delivery attempts counted in the worker,
queue depth and age read from the database at scrape time, so every
process reports the truth. The doors count their own (hl7/metrics.py,
worklist/metrics.py); infra/metrics.py serves them all."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily

OUTBOUND_SENT = Counter(
    "ris_outbound_messages_total", "Outbound delivery attempts, by event and result", ["event", "result"]
)


class OutboxCollector:
    """Depth and oldest age of each destination's open outbox queue, and its dead letters."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from ris.models import OutboundMessage

        depth = GaugeMetricFamily("ris_outbox_depth", "Open outbound messages", labels=["destination"])
        age = GaugeMetricFamily(
            "ris_outbox_oldest_age_seconds", "Age of the oldest open message", labels=["destination"]
        )
        now = timezone.now()
        open_rows = OutboundMessage.objects.filter(status__in=("PENDING", "RETRYING"))
        for row in open_rows.values("destination__name").annotate(n=Count("id"), oldest=Min("created_at")):
            depth.add_metric([row["destination__name"]], row["n"])
            age.add_metric([row["destination__name"]], (now - row["oldest"]).total_seconds())
        yield depth
        yield age
        yield self._dead_letters()

    def _dead_letters(self) -> GaugeMetricFamily:
        from ris.selectors.outbox import outbox_dead_letters_by_destination

        dead = GaugeMetricFamily(
            "ris_outbox_dead_letters", "Outbound messages given up on (DEAD) until sent again", labels=["destination"]
        )
        for name, count in outbox_dead_letters_by_destination().items():
            dead.add_metric([name], count)
        return dead
