"""A delivering process killed with SIGKILL mid-send loses nothing: its lease
expires, the sweep hands the queue on, and the report is delivered with the
same MSH-10. Needs a database another process can open (PostgreSQL, as CI)."""

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from ris.models import Destination, OutboundMessage
from ris.services.outbox import outbox_deliver, outbox_sweep
from ris.services.reports import report_save_draft, report_sign
from ris.states import ReportStatus
from tests.ehr import FakeEhr
from tests.factories import TEST_ACTOR, placed_order, radiologist

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the killed process needs a shared database"),
]
ROOT = Path(__file__).resolve().parents[2]
DELIVER = (
    "import django; django.setup(); import sys; from ris.services.outbox import outbox_deliver; "
    "outbox_deliver(destination_id=int(sys.argv[1]))"
)


class SilentEhr:
    """Accepts a connection, records what arrives, never answers."""

    def __init__(self):
        self.received = threading.Event()
        self.sock = socket.create_server(("127.0.0.1", 0))
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        conn, _ = self.sock.accept()
        if conn.recv(65536):
            self.received.set()
        time.sleep(60)


def _database_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}:{s['PASSWORD'] or ''}@{s['HOST']}:{s['PORT']}/{s['NAME']}"


def _start_worker(destination_id: int) -> subprocess.Popen:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DATABASE_URL": _database_url()}
    return subprocess.Popen([sys.executable, "-c", DELIVER, str(destination_id)], cwd=ROOT, env=env)


def test_a_worker_killed_between_claim_and_ack_leaves_the_report_to_the_next(transactional_db):
    silent = SilentEhr()
    destination = Destination.objects.create(
        name="EHR",
        kind=Destination.Kind.HL7_MLLP,
        host="127.0.0.1",
        port=silent.sock.getsockname()[1],
        timeout_seconds=60,
    )
    draft = report_save_draft(
        actor=TEST_ACTOR,
        procedure=placed_order().procedures.get(),
        author=radiologist(),
        findings="No bleed.",
        impression="Normal.",
    )
    report_sign(actor=TEST_ACTOR, report=draft.report, signer=radiologist(), status=ReportStatus.FINAL)
    worker = _start_worker(destination.pk)
    assert silent.received.wait(30), "the worker never sent"
    worker.send_signal(signal.SIGKILL)
    worker.wait(10)

    destination.refresh_from_db()
    assert destination.lease_owner and destination.lease_until > timezone.now()  # held by the dead
    row = OutboundMessage.objects.get()
    assert row.status == OutboundMessage.Status.PENDING and row.attempts == 0
    assert outbox_deliver(destination_id=destination.pk) == 0 and outbox_sweep() == []

    ehr = FakeEhr()
    try:
        Destination.objects.filter(pk=destination.pk).update(
            port=ehr.port, lease_until=timezone.now() - dt.timedelta(seconds=1)
        )  # the lease ran out
        assert outbox_sweep() == [destination.pk]
        assert outbox_deliver(destination_id=destination.pk) == 1
        assert ehr.control_ids() == [row.control_id]
    finally:
        ehr.stop()
    row.refresh_from_db()
    assert row.status == OutboundMessage.Status.ACKED
