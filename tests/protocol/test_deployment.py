"""The commands the container files run, run here: gunicorn, the listeners
with their metrics ports, the health checks, the Celery worker and beat."""

import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from django.db import transaction

from ris import outbox
from ris.models import Destination, OutboundMessage
from ris.services.outbox import outbox_enqueue
from tests.ehr import FakeEhr
from tests.note_worker import register_note_builder
from tests.processes import ROOT, child_log, database_url, free_port, start_command, stop, wait_for_port
from tests.workers import purge_queue

pytestmark = pytest.mark.slow
HEALTHCHECK = [sys.executable, str(ROOT / "docker" / "healthcheck.py")]
BIN = Path(sys.executable).parent


def _healthy(*args: str) -> bool:
    return subprocess.run([*HEALTHCHECK, *args], timeout=30).returncode == 0


def test_compose_file_gives_every_service_a_health_check():
    compose = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "web", "worker", "beat", "mllp", "dicom", "migrate"} <= set(services)
    assert all("healthcheck" in spec for name, spec in services.items() if name != "migrate")


def test_gunicorn_serves_the_app_and_the_http_health_check_passes(transactional_db):
    port = free_port()
    env = {"DATABASE_URL": database_url()}
    proc = subprocess.Popen(
        [str(BIN / "gunicorn"), "ris.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=ROOT,
        env={**__import__("os").environ, **env},
        stdout=child_log("gunicorn"),
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, proc)
        assert _healthy("http", f"http://127.0.0.1:{port}/health/live")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/admin/login/", timeout=10) as page:
            assert page.status == 200
    finally:
        stop(proc)


def test_listener_commands_serve_their_ports_and_metrics(transactional_db):
    mllp_port, dicom_port, m1, m2 = free_port(), free_port(), free_port(), free_port()
    mllp = start_command(["mllp", "--port", str(mllp_port), "--metrics-port", str(m1)], mllp_port)
    dicom = start_command(["dicomscp", "--port", str(dicom_port), "--metrics-port", str(m2)], dicom_port)
    try:
        assert _healthy("tcp", "127.0.0.1", str(mllp_port))
        assert _healthy("tcp", "127.0.0.1", str(dicom_port))
        for port in (m1, m2):
            wait_for_port(port)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as page:
                assert b"ris_" in page.read()
    finally:
        stop(mllp)
        stop(dicom)
    assert not _healthy("tcp", "127.0.0.1", str(mllp_port))


@pytest.fixture
def note_builder():
    """The test_note builder, here and (tests.note_worker) in the worker that builds the payload."""
    register_note_builder()
    yield
    outbox._builders.pop((Destination.Kind.HL7_MLLP, "test_note"), None)


def _celery(*args: str) -> subprocess.Popen:
    env = {**__import__("os").environ, "DATABASE_URL": database_url(), "RIS_OUTBOX_SWEEP_SECONDS": "1"}
    return subprocess.Popen(
        [str(BIN / "celery"), "-A", "ris", *args],
        cwd=ROOT,
        env=env,
        stdout=child_log("celery"),
        stderr=subprocess.STDOUT,
    )


def _worker_and_beat_until_received(ehr: FakeEhr, tmp_path) -> None:
    """Start `celery worker` and `celery beat` (their queued task gone: only
    the sweep can deliver), wait for the EHR to receive, stop them all."""
    purge_queue()
    # --include: the worker builds payloads, so it must know the test_note builder too.
    worker = _celery("worker", "--pool=solo", "--without-mingle", "--without-gossip", "--include", "tests.note_worker")
    beat = _celery("beat", "--schedule", str(tmp_path / "beat-schedule"))
    try:
        deadline = time.monotonic() + 60
        while not ehr.received and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        stop(worker)
        stop(beat)
        ehr.stop()


def test_worker_and_beat_commands_deliver_what_waited_while_they_were_down(transactional_db, note_builder, tmp_path):
    ehr = FakeEhr()
    Destination.objects.create(name="EHR", kind=Destination.Kind.HL7_MLLP, host="127.0.0.1", port=ehr.port)
    with transaction.atomic():  # no worker runs: the queued task may be lost, the row is not
        outbox_enqueue(event="test_note", context={"id": "W1"})
    _worker_and_beat_until_received(ehr, tmp_path)
    assert ehr.control_ids() == ["W1"]
    assert OutboundMessage.objects.get().status == OutboundMessage.Status.ACKED


def test_broker_down_at_commit_keeps_the_message_and_the_sweep_delivers_it(transactional_db, note_builder, tmp_path):
    from config.celery import app

    ehr = FakeEhr()
    Destination.objects.create(name="EHR", kind=Destination.Kind.HL7_MLLP, host="127.0.0.1", port=ehr.port)
    working_broker = app.conf.broker_url
    _use_broker(app, f"amqp://guest:guest@127.0.0.1:{free_port()}//")  # nothing listens there
    try:
        with transaction.atomic():
            outbox_enqueue(event="test_note", context={"id": "B1"})
    finally:
        _use_broker(app, working_broker)
    assert OutboundMessage.objects.get().status == OutboundMessage.Status.PENDING
    _worker_and_beat_until_received(ehr, tmp_path)
    assert ehr.control_ids() == ["B1"]


def _use_broker(app, url: str) -> None:
    app._pool = None  # the pools are made anew from the URL on next use
    app.amqp._producer_pool = None
    app.conf.broker_url = url
