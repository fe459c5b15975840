"""The metrics endpoint of a listener process (the web process serves /metrics itself)."""

from __future__ import annotations

from prometheus_client import REGISTRY, start_http_server
from prometheus_client.registry import Collector

_registered: set[str] = set()


def register_collector(name: str, collector: Collector) -> None:
    """Register a collector once per process (the outbox's reads the database at scrape time)."""
    if name not in _registered:
        REGISTRY.register(collector)
        _registered.add(name)


def start_metrics_server(host: str, port: int, collectors: dict[str, Collector] | None = None) -> None:
    """A listener process's own /metrics (its counters live only in it)."""
    if port:
        for name, collector in (collectors or {}).items():
            register_collector(name, collector)
        start_http_server(port, addr=host)
