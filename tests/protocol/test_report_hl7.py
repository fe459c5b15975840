"""Signed reports reach a real MLLP listener playing the EHR, as ORU^R01."""

import datetime as dt
import time

import pytest
from django.utils import timezone

from ris.models import Destination, OutboundMessage
from ris.services.outbox import outbox_deliver, outbox_sweep
from ris.services.reports import report_correct
from tests.conftest import free_port
from tests.ehr import FakeEhr
from tests.factories import TEST_ACTOR, radiologist, signed_final_report
from tests.workers import running_worker

pytestmark = pytest.mark.slow
Status = OutboundMessage.Status


@pytest.fixture
def ehr():
    server = FakeEhr()
    yield server
    server.stop()


def _destination(port: int, **extra) -> Destination:
    return Destination.objects.create(
        name=f"EHR {port}",
        kind=Destination.Kind.HL7_MLLP,
        host="127.0.0.1",
        port=port,
        timeout_seconds=2,
        events=["report"],
        **extra,
    )


def _result_status(message: str) -> str:
    obr = next(s for s in message.split("\r") if s.startswith("OBR|"))
    return obr.split("|")[25]


def _make_due():
    OutboundMessage.objects.update(next_attempt_at=timezone.now() - dt.timedelta(seconds=1))


def test_final_report_arrives_once_as_f_and_its_correction_as_c(transactional_db, ehr):
    destination = _destination(ehr.port)
    final = signed_final_report()
    assert outbox_deliver(destination_id=destination.pk) == 1
    assert outbox_deliver(destination_id=destination.pk) == 0  # nothing is sent twice
    report_correct(
        actor=TEST_ACTOR, report=final.report, signer=radiologist(), findings="Small bleed.", impression="Bleed."
    )
    assert outbox_deliver(destination_id=destination.pk) == 1
    assert [_result_status(m) for m in ehr.received] == ["F", "C"]
    assert "Small bleed." in ehr.received[1]
    assert set(OutboundMessage.objects.values_list("status", flat=True)) == {Status.ACKED}


def test_an_ehr_that_refuses_gets_retries_and_the_same_msh_10_when_it_accepts(transactional_db):
    ehr = FakeEhr(ack_code="AE")
    try:
        destination = _destination(ehr.port)
        signed_final_report()
        outbox_deliver(destination_id=destination.pk)
        row = OutboundMessage.objects.get()
        assert row.status == Status.RETRYING and row.last_error.startswith("ACK AE")
        ehr.ack_code = "AA"
        _make_due()
        assert outbox_deliver(destination_id=destination.pk) == 1
        assert ehr.control_ids() == [row.control_id, row.control_id]
        row.refresh_from_db()
        assert row.status == Status.ACKED and row.attempts == 2 and "MSA|AA" in row.response
    finally:
        ehr.stop()


def test_an_ehr_that_is_down_gets_the_report_when_it_comes_back(transactional_db):
    destination = _destination(free_port())
    signed_final_report()
    assert outbox_deliver(destination_id=destination.pk) == 0
    assert OutboundMessage.objects.get().status == Status.RETRYING
    ehr = FakeEhr()
    try:
        Destination.objects.filter(pk=destination.pk).update(port=ehr.port)
        _make_due()
        assert outbox_deliver(destination_id=destination.pk) == 1
        assert [_result_status(m) for m in ehr.received] == ["F"]
    finally:
        ehr.stop()


def test_a_report_claimed_by_a_worker_that_died_is_sent_once_its_lease_expires(transactional_db, ehr):
    destination = _destination(ehr.port)
    signed_final_report()
    # A worker took the queue's lease and was killed before sending.
    Destination.objects.filter(pk=destination.pk).update(
        lease_owner="killed-worker", lease_until=timezone.now() + dt.timedelta(seconds=60)
    )
    assert outbox_deliver(destination_id=destination.pk) == 0 and outbox_sweep() == []
    Destination.objects.filter(pk=destination.pk).update(lease_until=timezone.now() - dt.timedelta(seconds=1))
    assert outbox_sweep() == [destination.pk]
    assert outbox_deliver(destination_id=destination.pk) == 1
    assert [_result_status(m) for m in ehr.received] == ["F"]


def test_a_celery_worker_delivers_a_signed_report(transactional_db, ehr):

    _destination(ehr.port)
    with running_worker():
        signed_final_report()
        deadline = time.monotonic() + 20
        while not ehr.received and time.monotonic() < deadline:
            time.sleep(0.1)
    assert [_result_status(m) for m in ehr.received] == ["F"]
    assert OutboundMessage.objects.get().status == Status.ACKED
