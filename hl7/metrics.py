"""The HL7 door's Prometheus metrics (served by infra/metrics.py)."""

from prometheus_client import Counter, Histogram

HL7_MESSAGES_IN = Counter(
    "ris_hl7_messages_in_total", "HL7 messages received, by message type and ACK code", ["message_type", "ack"]
)
HL7_ACK_SECONDS = Histogram(
    "ris_hl7_ack_seconds",
    "Time from a complete frame to its ACK",
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
HL7_ONE_STATEMENT = Counter(
    "ris_hl7_one_statement_total",
    "HL7 messages on the one-statement path: applied there, or handed to the reference path",
    ["outcome"],
)
