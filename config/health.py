"""Health and metrics endpoints for load balancers and Prometheus.

/health/live: the process answers. /health/ready: the database and the
broker answer (and, under `serve`, the MLLP and DICOM ports accept and
every child process runs: one that died is "down" until serve has started
it again, and its restarts are shown after).
Both are unauthenticated on purpose: they reveal no patient data.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import GaugeMetricFamily

from config.supervisor import read_status
from hl7.metrics import InboundCollector
from infra.metrics import register_collector
from ris.metrics import CriticalResultCollector, OutboxCollector


@require_GET
def live(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})


@require_GET
def ready(request: HttpRequest) -> HttpResponse:
    checks = {"database": _check_database(), "broker": _check_broker()}
    if settings.RIS_HEALTH_CHECK_LISTENERS:
        checks["mllp"] = _check_port(settings.RIS_MLLP_PORT)
        checks["dicom"] = _check_port(settings.RIS_DICOM_PORT)
    checks.update(_check_children())
    healthy = all(result.startswith("ok") for result in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks}, status=200 if healthy else 503
    )


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    register_collector("outbox", OutboxCollector())
    register_collector("critical-results", CriticalResultCollector())
    register_collector("hl7-inbound", InboundCollector())
    register_collector("serve", ServeCollector())
    return HttpResponse(generate_latest(), content_type=CONTENT_TYPE_LATEST)


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception as exc:
        return f"error: {type(exc).__name__}"


def _check_broker() -> str:
    from config.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return "ok"
    except Exception as exc:
        return f"error: {type(exc).__name__}"


def _check_port(port: int) -> str:
    host = settings.RIS_BIND_HOST if settings.RIS_BIND_HOST not in ("0.0.0.0", "::") else "127.0.0.1"
    try:
        with socket.create_connection((host, port), timeout=2):
            return "ok"
    except OSError as exc:
        return f"error: {exc.strerror or type(exc).__name__}"


def _check_children() -> dict[str, str]:
    """Under `serve`, each child process as the supervisor sees it."""
    children = read_status(settings.RIS_SERVE_STATUS_FILE) if settings.RIS_SERVE_STATUS_FILE else None
    return {f"serve.{name}": _describe_child(child) for name, child in (children or {}).items()}


def _describe_child(child: dict[str, object]) -> str:
    restarts = child.get("restarts") or 0
    history = f"restarted {restarts} times, last {child.get('last_exit')}" if restarts else ""
    if child.get("state") != "running":
        return f"down ({child.get('last_exit')}); restarting" + (f", {history}" if history else "")
    return f"ok ({history})" if history else "ok"


class ServeCollector:
    """Under `serve`: whether each child runs, and how often it was restarted."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily(
            "ris_serve_child_up", "A child process of serve runs (1) or waits for its restart (0)", labels=["child"]
        )
        restarts = GaugeMetricFamily(
            "ris_serve_child_restarts", "Times serve restarted a child process", labels=["child"]
        )
        children = read_status(settings.RIS_SERVE_STATUS_FILE) if settings.RIS_SERVE_STATUS_FILE else None
        for name, child in (children or {}).items():
            up.add_metric([name], 1 if child.get("state") == "running" else 0)
            restarts.add_metric([name], float(child.get("restarts") or 0))
        yield up
        yield restarts
