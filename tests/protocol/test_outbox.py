"""The transactional outbox, delivering to a real MLLP listener playing the EHR."""

import datetime as dt
import socket
import time

import pytest
from django.db import transaction
from django.utils import timezone

from ris import outbox
from ris.models import Destination, OutboundMessage
from ris.services.outbox import outbox_deliver, outbox_enqueue, outbox_sweep
from tests.ehr import FakeEhr
from tests.workers import running_worker

pytestmark = pytest.mark.slow
Status = OutboundMessage.Status


@pytest.fixture
def note_builder():
    """A minimal HL7 builder for the 'test_note' event."""

    def build(destination, context):
        control_id = context["id"]
        return outbox.Built(f"MSH|^~\\&|RIS|RAD|EHR|HOSP|20261126||ORM^O01|{control_id}|P|2.5.1\r", control_id)

    outbox.register_builder(Destination.Kind.HL7_MLLP, "test_note", build)
    yield
    outbox._builders.pop((Destination.Kind.HL7_MLLP, "test_note"), None)


@pytest.fixture
def ehr():
    server = FakeEhr()
    yield server
    server.stop()


def _destination(port: int, **extra) -> Destination:
    return Destination.objects.create(
        name=f"EHR {port}", kind=Destination.Kind.HL7_MLLP, host="127.0.0.1", port=port, timeout_seconds=2, **extra
    )


def _unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_enqueued_message_is_delivered_and_its_ack_recorded(transactional_db, note_builder, ehr):
    destination = _destination(ehr.port)
    with transaction.atomic():
        [row] = outbox_enqueue(event="test_note", context={"id": "N1"})
    assert outbox_deliver(destination_id=destination.pk) == 1
    row.refresh_from_db()
    assert row.status == Status.ACKED
    assert "MSA|AA|N1" in row.response
    assert ehr.control_ids() == ["N1"]


def test_ehr_down_keeps_messages_and_delivers_them_in_order_when_back(transactional_db, note_builder):
    port = _unused_port()
    destination = _destination(port)
    for n in range(3):
        outbox_enqueue(event="test_note", context={"id": f"D{n}"})
    assert outbox_deliver(destination_id=destination.pk) == 0
    first = OutboundMessage.objects.order_by("id").first()
    assert first.status == Status.RETRYING and first.attempts == 1
    assert first.next_attempt_at > timezone.now()
    assert OutboundMessage.objects.filter(status=Status.PENDING).count() == 2  # held behind the first

    ehr = FakeEhr()
    try:
        destination.port = ehr.port
        destination.save()
        OutboundMessage.objects.update(next_attempt_at=timezone.now() - dt.timedelta(seconds=1))
        assert outbox_deliver(destination_id=destination.pk) == 3
        assert ehr.control_ids() == ["D0", "D1", "D2"]
    finally:
        ehr.stop()


def test_refusing_ehr_is_retried_then_the_message_is_dead_with_the_reason(transactional_db, note_builder):
    ehr = FakeEhr(ack_code="AE")
    try:
        destination = _destination(ehr.port, max_attempts=2)
        outbox_enqueue(event="test_note", context={"id": "R1"})
        outbox_deliver(destination_id=destination.pk)
        OutboundMessage.objects.update(next_attempt_at=timezone.now())
        outbox_deliver(destination_id=destination.pk)
        row = OutboundMessage.objects.get()
        assert row.status == Status.DEAD
        assert row.attempts == 2
        assert row.last_error.startswith("ACK AE")
    finally:
        ehr.stop()


def test_a_queue_whose_worker_died_holding_the_lease_is_swept_once_the_lease_expires(transactional_db, note_builder):
    destination = _destination(_unused_port())
    outbox_enqueue(event="test_note", context={"id": "L1"})
    Destination.objects.filter(pk=destination.pk).update(
        lease_owner="killed-worker", lease_until=timezone.now() + dt.timedelta(seconds=60)
    )
    assert outbox_deliver(destination_id=destination.pk) == 0  # the lease holds
    assert outbox_sweep() == []
    Destination.objects.filter(pk=destination.pk).update(lease_until=timezone.now() - dt.timedelta(seconds=1))
    assert outbox_sweep() == [destination.pk]


def test_a_celery_worker_delivers_after_the_transaction_commits(transactional_db, note_builder, ehr):

    destination = _destination(ehr.port)
    with running_worker():
        with transaction.atomic():
            outbox_enqueue(event="test_note", context={"id": "C1"})
            time.sleep(0.5)
            assert ehr.received == []  # nothing leaves before the commit
        deadline = time.monotonic() + 20
        while not ehr.received and time.monotonic() < deadline:
            time.sleep(0.1)
    assert ehr.control_ids() == ["C1"]
    assert OutboundMessage.objects.get().status == Status.ACKED
    assert destination.messages.count() == 1
