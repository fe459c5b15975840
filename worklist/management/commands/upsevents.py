import contextlib
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from worklist.dicomweb import events


class Command(BaseCommand):
    help = "Run the UPS-RS event channel (WebSocket: /dicomweb/subscribers/{AETitle})."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=settings.RIS_BIND_HOST)
        parser.add_argument("--port", type=int, default=settings.RIS_DICOMWEB_EVENTS_PORT)

    def handle(self, *args: Any, host: str, port: int, **options: Any) -> None:
        stop = events.start(host, port)
        self.stdout.write(f"UPS-RS event channel on ws://{host}:{port}/dicomweb/subscribers/{{AETitle}}")
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(1)
        stop()
