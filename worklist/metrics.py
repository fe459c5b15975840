"""The DICOM door's Prometheus metrics (served by infra/metrics.py)."""

from prometheus_client import Counter, Histogram

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
