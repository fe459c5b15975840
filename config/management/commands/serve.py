"""All listeners on one node, for a department and `make run`.

Web (threaded WSGI), HL7 MLLP, DICOM, the UPS-RS event channel and the Celery worker (with beat) each
run in a child process of their own, watched by this one
(config/supervisor.py): a child that dies is started again after a backoff,
and `/health/ready` reports it meanwhile. Messages a crash left stored but
unanswered (RECEIVED) are processed again at start and then periodically
(hl7/recovery.py). Ctrl-C (or SIGTERM) stops them all.

`serve --child web|mllp|dicom|events` runs one door in the foreground: what the
supervisor starts.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.core.wsgi import get_wsgi_application
from django.db import connection

from config.supervisor import Child, Supervisor
from hl7 import recovery
from hl7 import server as mllp_server
from worklist import scp
from worklist.dicomweb import events

DOORS = ("web", "mllp", "dicom", "events")


class Command(BaseCommand):
    help = "Start web, HL7 MLLP, DICOM listeners and a Celery worker together, each in its own process."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=settings.RIS_BIND_HOST)
        parser.add_argument("--no-worker", action="store_true", help="do not start a Celery worker")
        parser.add_argument("--child", choices=DOORS, help="run one door in the foreground (serve starts these)")

    def handle(self, *args: Any, host: str, no_worker: bool, child: str | None, **options: Any) -> None:
        # A flag, not an Event: setting an Event from a signal handler while
        # the main thread waits on it deadlocks on the Event's own lock.
        self.stopping = False
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._ask_to_stop)
        if child:
            self._run_child(child, host)
        else:
            self._supervise(host, no_worker)

    def _ask_to_stop(self, *_: object) -> None:
        self.stopping = True

    # --- the supervisor ---------------------------------------------------

    def _supervise(self, host: str, no_worker: bool) -> None:
        status_file = Path(settings.RIS_SERVE_STATUS_FILE or settings.VAR_DIR / "serve-status.json")
        supervisor = Supervisor(
            self._children(host, no_worker, str(status_file)),
            status_file,
            backoff_seconds=settings.RIS_SERVE_RESTART_BACKOFF_SECONDS,
        )
        # Before the MLLP child starts, every RECEIVED row was left by a crash.
        self._recover(dt.timedelta(0))
        supervisor.start_all()
        self._announce(host)
        sweeper = threading.Thread(target=self._sweep_periodically, name="recovery", daemon=True)
        sweeper.start()
        while not self.stopping:
            supervisor.poll()
            time.sleep(0.2)
        self.stdout.write("Stopping...")
        supervisor.stop_all()
        self.stdout.write("Stopped.")

    def _children(self, host: str, no_worker: bool, status_file: str) -> list[Child]:
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py"), "serve", "--host", host, "--child"]
        env = {"RIS_SERVE_STATUS_FILE": status_file, "RIS_HEALTH_CHECK_LISTENERS": "true"}
        children = [Child(door, [*manage, door], env) for door in DOORS]
        if not no_worker:
            children.append(Child("worker", self._worker_argv(), env))
        return children

    def _worker_argv(self) -> list[str]:
        return [
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
        ]

    def _sweep_periodically(self) -> None:
        every = settings.RIS_HL7_RECOVERY_SECONDS
        while not self.stopping:
            time.sleep(every)
            # Older than a minute: a message in flight takes milliseconds.
            self._recover(dt.timedelta(seconds=max(every, 60)))

    def _recover(self, older_than: dt.timedelta) -> None:
        try:
            counts = recovery.inbound_recover(older_than=older_than)
        except Exception as exc:  # the database away: the next sweep tries again
            self.stderr.write(f"recovery of unanswered HL7 messages failed: {type(exc).__name__}: {exc}")
            return
        finally:
            connection.close()
        if counts:
            self.stdout.write(f"HL7 messages left unanswered by a crash, processed again: {counts}")

    def _announce(self, host: str) -> None:
        ae = settings.RIS_DICOM_AE_TITLE
        self.stdout.write(self.style.SUCCESS("RIS is running:"))
        self.stdout.write(f"  web         http://{host}:{settings.RIS_HTTP_PORT}/  (log in: /login/, API: /api/)")
        self.stdout.write(f"  HL7 MLLP    {host}:{settings.RIS_MLLP_PORT}")
        self.stdout.write(f"  DICOM MWL   {host}:{settings.RIS_DICOM_PORT}  AE title {ae}")
        self.stdout.write(
            f"  DICOMweb    http://{host}:{settings.RIS_HTTP_PORT}/dicomweb/  (MWL-RS, MPPS-RS, UPS-RS), "
            f"UPS events ws://{host}:{settings.RIS_DICOMWEB_EVENTS_PORT}/dicomweb/subscribers/{{AETitle}}"
        )
        self.stdout.write("Press Ctrl-C to stop.")

    # --- one door ---------------------------------------------------------

    def _run_child(self, door: str, host: str) -> None:
        stop = self._start_door(door, host)
        parent = os.getppid()
        while not self.stopping and os.getppid() == parent:  # also gone when the supervisor is
            time.sleep(0.5)
        stop()

    def _start_door(self, door: str, host: str) -> Any:
        if door == "web":
            web = ThreadedWSGIServer((host, settings.RIS_HTTP_PORT), WSGIRequestHandler)
            web.set_app(get_wsgi_application())
            threading.Thread(target=web.serve_forever, name="web", daemon=True).start()
            return web.shutdown
        if door == "mllp":
            mllp, _ = mllp_server.start_in_thread(host, settings.RIS_MLLP_PORT)
            return mllp.stop
        if door == "dicom":
            return scp.start(host, settings.RIS_DICOM_PORT).shutdown
        if door == "events":  # the UPS-RS event channel (WebSocket)
            return events.start(host, settings.RIS_DICOMWEB_EVENTS_PORT)
        raise CommandError(f"unknown door {door!r}")
