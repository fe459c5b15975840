import datetime as dt
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from hl7.prefork import Prefork
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
        parser.add_argument(
            "--processes",
            type=int,
            default=settings.RIS_MLLP_PROCESSES,
            help="processes accepting on the one port (each its own interpreter); with metrics, child n serves"
            " them on metrics-port + n",
        )

    def handle(self, *args: Any, host: str, port: int, metrics_port: int, processes: int, **options: Any) -> None:
        if processes < 1:
            raise CommandError("--processes must be 1 or more")
        if processes == 1:
            start_metrics_server(host, metrics_port, {"outbox": OutboxCollector()})
        # Messages an earlier crash left unanswered (over a minute old: not
        # another listener's message in flight) are processed again first.
        recovered = inbound_recover(older_than=dt.timedelta(minutes=1))
        if recovered:
            self.stdout.write(f"HL7 messages left unanswered by a crash, processed again: {recovered}")
        server = MllpServer(host, port)
        self.stdout.write(
            f"HL7 MLLP listening on {host}:{server.port}" + (f", {processes} processes" if processes > 1 else "")
        )
        if processes > 1:
            Prefork(server, processes, lambda n: _child_metrics(host, metrics_port, n)).run()
            return
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()


def _child_metrics(host: str, metrics_port: int, number: int) -> None:
    """Each child's counters live in it: child n serves them on metrics_port + n."""
    if metrics_port:
        start_metrics_server(host, metrics_port + number, {"outbox": OutboxCollector()} if number == 0 else {})
