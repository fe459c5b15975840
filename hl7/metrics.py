"""The HL7 door's Prometheus metrics (served by infra/metrics.py)."""

from collections.abc import Iterator

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily

HL7_MESSAGES_IN = Counter(
    "ris_hl7_messages_in_total", "HL7 messages received, by message type and ACK code", ["message_type", "ack"]
)
HL7_ACK_SECONDS = Histogram(
    "ris_hl7_ack_seconds",
    "Time from a complete frame to its ACK",
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
HL7_STATEMENTS_PER_COMMIT = Histogram(
    "ris_hl7_statements_per_commit",
    "Messages' statements sent together as one transaction by the MLLP listener (group commit)",
    buckets=(1, 2, 3, 4, 6, 8, 16, 32),
)
HL7_ONE_STATEMENT = Counter(
    "ris_hl7_one_statement_total",
    "HL7 messages on the one-statement path: applied there, or handed to the reference path",
    ["outcome"],
)


class InboundCollector:
    """Inbound messages someone must look at, read at scrape time from the log."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from hl7.selectors import inbound_recovery_failed_count, inbound_unanswered_count

        yield GaugeMetricFamily(
            "ris_hl7_inbound_unanswered",
            "Messages stored over a minute ago and still unanswered (RECEIVED): a crash left them",
            value=inbound_unanswered_count(),
        )
        yield GaugeMetricFamily(
            "ris_hl7_inbound_recovery_failed",
            "Messages a crash left unanswered that failed again when processed anew",
            value=inbound_recovery_failed_count(),
        )
