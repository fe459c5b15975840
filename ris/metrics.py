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


CRITICAL_ESCALATIONS = Counter(
    "ris_critical_result_escalations_total",
    "Escalations sent for critical results not communicated in time",
    ["category"],
)


class CriticalResultCollector:
    """Critical results still to be communicated, by category: open, and of
    those the overdue ones (read from the database at scrape time)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from ris.models import CriticalResult
        from ris.states import CriticalCategory

        open_ = GaugeMetricFamily(
            "ris_critical_results_open", "Critical results not yet communicated", labels=["category"]
        )
        overdue = GaugeMetricFamily(
            "ris_critical_results_overdue", "Critical results past their communication time", labels=["category"]
        )
        pending = CriticalResult.objects.filter(completed_at__isnull=True)
        counts = dict(pending.values_list("category").annotate(n=Count("id")))
        late = dict(pending.filter(due_at__lt=timezone.now()).values_list("category").annotate(n=Count("id")))
        for category in CriticalCategory.values:
            if category:
                open_.add_metric([category], counts.get(category, 0))
                overdue.add_metric([category], late.get(category, 0))
        yield open_
        yield overdue
