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
    """Depth and oldest age of each destination's open outbox queue."""

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
        yield self._dead()

    def _dead(self) -> GaugeMetricFamily:
        """Messages given up, per destination: the integration console's alert."""
        from ris.models import OutboundMessage

        dead = GaugeMetricFamily("ris_outbox_dead", "Outbound messages given up (dead letters)", labels=["destination"])
        rows = OutboundMessage.objects.filter(status="DEAD").values("destination__name").annotate(n=Count("id"))
        for row in rows:
            dead.add_metric([row["destination__name"]], row["n"])
        return dead
