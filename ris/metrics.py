"""Prometheus metrics. Counters live in each process; the outbox figures are
read from the database at scrape time, so every process reports the truth."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client import REGISTRY, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily

HL7_MESSAGES_IN = Counter(
    "ris_hl7_messages_in_total", "HL7 messages received, by message type and ACK code", ["message_type", "ack"]
)
HL7_ACK_SECONDS = Histogram(
    "ris_hl7_ack_seconds",
    "Time from a complete frame to its ACK",
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
MWL_QUERIES = Counter("ris_mwl_queries_total", "Modality worklist C-FIND queries, by final status", ["status"])
MWL_QUERY_SECONDS = Histogram(
    "ris_mwl_query_seconds",
    "C-FIND time, first request to last response",
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
MWL_RESULTS = Histogram(
    "ris_mwl_query_results", "Items returned per C-FIND", buckets=(0, 1, 2, 5, 10, 25, 50, 100, 250, 1000)
)
MPPS_RECEIVED = Counter("ris_mpps_total", "MPPS N-CREATE/N-SET received, by resulting status", ["status"])
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


_registered = False


def register_collectors() -> None:
    global _registered
    if not _registered:
        REGISTRY.register(OutboxCollector())
        _registered = True


def start_metrics_server(host: str, port: int) -> None:
    """A listener process's own /metrics (its counters live only in it)."""
    if port:
        register_collectors()
        start_http_server(port, addr=host)
