import contextlib
import signal
import subprocess
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from infra.metrics import start_metrics_server
from ris.metrics import OutboxCollector
from worklist import scp
from worklist.processes import Spawn


class Command(BaseCommand):
    help = "Run the DICOM listener (Verification, Modality Worklist C-FIND, MPPS)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=settings.RIS_BIND_HOST)
        parser.add_argument(
            "--metrics-port",
            type=int,
            default=0,
            help="serve Prometheus metrics on this port (with --processes N, worker i on this port + 1 + i)",
        )
        parser.add_argument("--port", type=int, default=settings.RIS_DICOM_PORT)
        parser.add_argument("--ae-title", default=settings.RIS_DICOM_AE_TITLE)
        parser.add_argument(
            "--processes",
            type=int,
            default=settings.RIS_DICOM_PROCESSES,
            help="listener processes on the one port (default RIS_DICOM_PROCESSES: CPU count in production, else 1)",
        )
        parser.add_argument("--worker-fd", type=int, default=None, help="internal: run as a worker of --processes")

    def handle(
        self,
        *args: Any,
        host: str,
        port: int,
        ae_title: str,
        metrics_port: int,
        processes: int,
        worker_fd: int | None,
        **options: Any,
    ) -> None:
        # SIGTERM ends the listener as Ctrl-C does: associations closed, the query log written.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        if worker_fd is not None:
            start_metrics_server(host, metrics_port, {})
            with contextlib.suppress(KeyboardInterrupt):
                scp.serve_worker(worker_fd)
            return
        start_metrics_server(host, metrics_port, {"outbox": OutboxCollector()})
        self.stdout.write(
            f"DICOM SCP {ae_title} listening on {host}:{port}" + (f", {processes} processes" if processes > 1 else "")
        )
        with contextlib.suppress(KeyboardInterrupt):
            if processes > 1:
                scp.start_processes(host, port, processes, _spawner(host, ae_title, metrics_port))
            else:
                scp.start(host, port, block=True, ae_title=ae_title)


def _spawner(host: str, ae_title: str, metrics_port: int) -> Spawn:
    def spawn(index: int, fd: int) -> "subprocess.Popen[bytes]":
        argv = [
            sys.executable,
            str(settings.BASE_DIR / "manage.py"),
            "dicomscp",
            "--host",
            host,
            "--ae-title",
            ae_title,
        ]
        if metrics_port:
            argv += ["--metrics-port", str(metrics_port + 1 + index)]
        return subprocess.Popen([*argv, "--worker-fd", str(fd)], pass_fds=[fd])

    return spawn
