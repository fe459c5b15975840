import contextlib
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from infra.metrics import start_metrics_server
from ris.metrics import OutboxCollector
from worklist import scp


class Command(BaseCommand):
    help = "Run the DICOM listener (Verification, Modality Worklist C-FIND, MPPS)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=settings.RIS_BIND_HOST)
        parser.add_argument("--metrics-port", type=int, default=0, help="serve Prometheus metrics on this port")
        parser.add_argument("--port", type=int, default=settings.RIS_DICOM_PORT)
        parser.add_argument("--ae-title", default=settings.RIS_DICOM_AE_TITLE)

    def handle(self, *args: Any, host: str, port: int, ae_title: str, metrics_port: int, **options: Any) -> None:
        start_metrics_server(host, metrics_port, {"outbox": OutboxCollector()})
        self.stdout.write(f"DICOM SCP {ae_title} listening on {host}:{port}")
        with contextlib.suppress(KeyboardInterrupt):
            scp.start(host, port, block=True, ae_title=ae_title)
