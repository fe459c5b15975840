import datetime as dt
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from hl7.recovery import inbound_recover
from hl7.server import MllpServer
from infra.metrics import start_metrics_server
from ris.metrics import OutboxCollector


class Command(BaseCommand):
    help = "Run the HL7 v2 MLLP listener (orders and ADT in, ACKs out)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=settings.RIS_BIND_HOST)
        parser.add_argument("--metrics-port", type=int, default=0, help="serve Prometheus metrics on this port")
        parser.add_argument("--port", type=int, default=settings.RIS_MLLP_PORT)

    def handle(self, *args: Any, host: str, port: int, metrics_port: int, **options: Any) -> None:
        start_metrics_server(host, metrics_port, {"outbox": OutboxCollector()})
        # Messages an earlier crash left unanswered (over a minute old: not
        # another listener's message in flight) are processed again first.
        recovered = inbound_recover(older_than=dt.timedelta(minutes=1))
        if recovered:
            self.stdout.write(f"HL7 messages left unanswered by a crash, processed again: {recovered}")
        server = MllpServer(host, port)
        self.stdout.write(f"HL7 MLLP listening on {host}:{server.port}")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
