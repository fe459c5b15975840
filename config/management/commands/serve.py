"""All listeners in one process, for a single node and `make run`.

Web (threaded WSGI), HL7 MLLP and DICOM in threads here; the Celery worker
as a child process. Ctrl-C (or SIGTERM) stops them all.
"""

import signal
import subprocess
import sys
import threading
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.core.wsgi import get_wsgi_application

from hl7 import server as mllp_server
from worklist import scp


class Command(BaseCommand):
    help = "Start web, HL7 MLLP, DICOM listeners and a Celery worker together."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=settings.RIS_BIND_HOST)
        parser.add_argument("--no-worker", action="store_true", help="do not start a Celery worker")

    def handle(self, *args: Any, host: str, no_worker: bool, **options: Any) -> None:
        # A flag, not an Event: setting an Event from a signal handler while
        # the main thread waits on it deadlocks on the Event's own lock.
        self.stopping = False
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._ask_to_stop)
        web = self._start_web(host)
        mllp, _ = mllp_server.start_in_thread(host, settings.RIS_MLLP_PORT)
        dicom = scp.start(host, settings.RIS_DICOM_PORT)
        worker = None if no_worker else self._start_worker()
        self._announce(host)
        while not self.stopping:
            time.sleep(0.2)
        self.stdout.write("Stopping...")
        mllp.stop()
        dicom.shutdown()
        web.shutdown()
        if worker:
            worker.terminate()
            worker.wait(timeout=20)
        self.stdout.write("Stopped.")

    def _ask_to_stop(self, *_: object) -> None:
        self.stopping = True

    def _start_web(self, host: str) -> ThreadedWSGIServer:
        web = ThreadedWSGIServer((host, settings.RIS_HTTP_PORT), WSGIRequestHandler)
        web.set_app(get_wsgi_application())
        threading.Thread(target=web.serve_forever, name="web", daemon=True).start()
        return web

    def _start_worker(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "ris",
                "worker",
                "--beat",
                "--pool=solo",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--schedule",
                str(settings.VAR_DIR / "celerybeat-schedule"),
            ],
        )

    def _announce(self, host: str) -> None:
        ae = settings.RIS_DICOM_AE_TITLE
        self.stdout.write(self.style.SUCCESS("RIS is running:"))
        self.stdout.write(f"  web         http://{host}:{settings.RIS_HTTP_PORT}/  (log in: /login/, API: /api/)")
        self.stdout.write(f"  HL7 MLLP    {host}:{settings.RIS_MLLP_PORT}")
        self.stdout.write(f"  DICOM MWL   {host}:{settings.RIS_DICOM_PORT}  AE title {ae}")
        self.stdout.write("Press Ctrl-C to stop.")
