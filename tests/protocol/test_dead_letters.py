"""A message the EHR refuses goes to the dead letters after its attempts,
without holding back what its destination's ordering policy lets pass; the
dead letters are counted for the console and the metrics."""

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from ris.models import Destination, OutboundMessage
from ris.selectors.outbox import outbox_dead_letter_count, outbox_dead_letters
from ris.services.outbox import outbox_deliver, outbox_enqueue
from tests.conftest import free_port
from tests.ehr import FakeEhr
from tests.factories import placed_order

pytestmark = pytest.mark.slow
Status = OutboundMessage.Status
Ordering = Destination.Ordering


class RefusingEhr(FakeEhr):
    """Refuses (AR) every message about one patient, accepts the others."""

    def __init__(self, refused_patient: str):
        super().__init__()
        self.refused_patient = refused_patient

    def ack_for(self, message: str) -> str:
        self.ack_code = "AR" if f"|{self.refused_patient}^" in message else "AA"
        return super().ack_for(message)


@pytest.fixture
def ehr():
    server = RefusingEhr("PATA")
    yield server
    server.stop()


def _destination(port: int, ordering: str, **extra) -> Destination:
    return Destination.objects.create(
        name="EHR",
        kind=Destination.Kind.HL7_MLLP,
        host="127.0.0.1",
        port=port,
        timeout_seconds=10,
        events=["order_status"],
        max_refusals=2,
        ordering=ordering,
        **extra,
    )


def _orders():
    a = placed_order(patient_id="PATA", accession="ACCA", placer="PLA")
    b = placed_order(patient_id="PATB", accession="ACCB", placer="PLB")
    return a, b


def _status(*orders) -> list[OutboundMessage]:
    rows = []
    with transaction.atomic():
        for order in orders:
            rows += outbox_enqueue(
                event="order_status", context={"order_id": order.pk, "status": "CANCELED"}, order=order
            )
    return rows


def _make_due():
    OutboundMessage.objects.filter(status=Status.RETRYING).update(
        next_attempt_at=timezone.now() - dt.timedelta(seconds=1)
    )


def _statuses(rows) -> list[str]:
    return [OutboundMessage.objects.get(pk=row.pk).status for row in rows]


def test_a_refused_message_holds_only_its_patient_and_is_a_dead_letter_after_its_attempts(transactional_db, ehr):
    destination = _destination(ehr.port, Ordering.PATIENT)
    a, b = _orders()
    rows = _status(a, b, a, b)
    assert outbox_deliver(destination_id=destination.pk) == 2
    assert _statuses(rows) == [Status.RETRYING, Status.ACKED, Status.PENDING, Status.ACKED]
    _make_due()
    outbox_deliver(destination_id=destination.pk)
    first = OutboundMessage.objects.get(pk=rows[0].pk)
    assert (first.status, first.attempts) == (Status.DEAD, 2) and first.last_error.startswith("ACK AR")
    # the patient's next message is next in line once the refused one is given up on (and refused in turn)
    assert OutboundMessage.objects.get(pk=rows[2].pk).attempts == 1
    assert outbox_dead_letter_count() == 1 and list(outbox_dead_letters()) == [first]


def test_strict_order_for_the_destination_holds_everything_behind_a_refused_message(transactional_db, ehr):
    destination = _destination(ehr.port, Ordering.DESTINATION)
    a, b = _orders()
    rows = _status(a, b)
    assert outbox_deliver(destination_id=destination.pk) == 0
    assert _statuses(rows) == [Status.RETRYING, Status.PENDING]


class FirstRefusedEhr(FakeEhr):
    """Refuses (AR) the first message it gets, accepts the others."""

    def ack_for(self, message: str) -> str:
        self.ack_code = "AR" if not self.received[:-1] else "AA"
        return super().ack_for(message)


def test_no_order_lets_the_same_patients_next_message_pass(transactional_db):
    ehr = FirstRefusedEhr()
    try:
        destination = _destination(ehr.port, Ordering.NONE)
        a, _ = _orders()
        rows = _status(a, a)
        assert outbox_deliver(destination_id=destination.pk) == 1
        assert _statuses(rows) == [Status.RETRYING, Status.ACKED]
    finally:
        ehr.stop()


def test_an_unreachable_ehr_holds_every_message_whatever_the_policy(transactional_db):
    destination = _destination(free_port(), Ordering.NONE)
    a, b = _orders()
    rows = _status(a, b)
    assert outbox_deliver(destination_id=destination.pk) == 0
    assert _statuses(rows) == [Status.RETRYING, Status.PENDING]


def test_dead_letters_are_a_metric(transactional_db, ehr, client):
    destination = _destination(ehr.port, Ordering.PATIENT, max_attempts=1)
    a, _ = _orders()
    _status(a)
    outbox_deliver(destination_id=destination.pk)
    assert 'ris_outbox_dead_letters{destination="EHR"} 1.0' in client.get("/metrics").content.decode()


class EnqueuingEhr(FakeEhr):
    """Accepts everything; while the first message is being sent, the RIS queues another."""

    def __init__(self, order):
        super().__init__()
        self.order = order

    def ack_for(self, message: str) -> str:
        if len(self.received) == 1:
            from django.db import connection

            _status(self.order)
            connection.close()  # this listener thread's own connection
        return super().ack_for(message)


def test_a_message_queued_during_a_delivery_goes_in_the_same_delivery(transactional_db):
    a, _ = _orders()
    ehr = EnqueuingEhr(a)
    try:
        destination = _destination(ehr.port, Ordering.PATIENT)
        _status(a)
        assert outbox_deliver(destination_id=destination.pk) == 2  # its own task finds the lease taken
        assert set(OutboundMessage.objects.values_list("status", flat=True)) == {Status.ACKED}
    finally:
        ehr.stop()
