"""Exactly once over MLLP: resends answered from the log, concurrent senders
never doubling a patient or an order. Meaningful on PostgreSQL (CI); on
SQLite the writers are serialised and the same assertions hold."""

import threading

import pytest

from hl7.models import InboundMessage
from ris.models import ImagingOrder, Patient, RequestedProcedure, ScheduledProcedureStep
from tests.hl7_builders import orm_new_order
from tests.peers import MllpClient, ack_segments

pytestmark = pytest.mark.slow


def _at_once(port: int, messages: list[str]) -> list[list[str]]:
    """Send each message on its own connection, released together; the MSAs."""
    barrier = threading.Barrier(len(messages))
    answers: list = [None] * len(messages)

    def send(index: int) -> None:
        with MllpClient(port) as client:
            barrier.wait()
            answers[index] = ack_segments(client.exchange(messages[index]))["MSA"]

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(messages))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return answers


def test_resend_on_a_new_connection_is_answered_from_the_log(mllp):
    text = orm_new_order("R1")
    with MllpClient(mllp.port) as client:
        first = ack_segments(client.exchange(text))["MSA"]
    with MllpClient(mllp.port) as client:
        second = ack_segments(client.exchange(text))["MSA"]
    assert first[1:3] == second[1:3] == ["AA", "R1"]
    duplicate = InboundMessage.objects.get(status=InboundMessage.Status.DUPLICATE)
    original = InboundMessage.objects.get(status=InboundMessage.Status.APPLIED)
    assert duplicate.error == f"resend of message {original.pk}" and duplicate.order is None
    assert ImagingOrder.objects.count() == 1


def test_resend_after_a_refusal_is_processed_again(mllp):
    with MllpClient(mllp.port) as client:
        assert ack_segments(client.exchange(orm_new_order("R2", modality="")))["MSA"][1] == "AE"
        assert ack_segments(client.exchange(orm_new_order("R2")))["MSA"][1] == "AA"
    assert ImagingOrder.objects.count() == 1


@pytest.mark.parametrize("round_", range(3))
def test_two_connections_ordering_for_the_same_new_patient_create_one_patient(mllp, round_):
    patient_id = f"NEWPAT{round_}"
    messages = [
        orm_new_order(f"C{round_}-{n}", patient_id=patient_id, placer=f"PL{round_}{n}", accession=f"AC{round_}{n}")
        for n in range(4)
    ]
    answers = _at_once(mllp.port, messages)
    assert [msa[1] for msa in answers] == ["AA"] * 4
    assert Patient.objects.filter(patient_id=patient_id).count() == 1
    assert ImagingOrder.objects.filter(patient__patient_id=patient_id).count() == 4


def test_the_same_message_on_two_connections_at_once_is_applied_once(mllp):
    answers = _at_once(mllp.port, [orm_new_order("SAME1")] * 3)
    assert [msa[1:3] for msa in answers] == [["AA", "SAME1"]] * 3
    assert ImagingOrder.objects.count() == RequestedProcedure.objects.count() == 1
    assert ScheduledProcedureStep.objects.count() == 1
    statuses = sorted(InboundMessage.objects.values_list("status", flat=True))
    assert statuses == ["APPLIED", "DUPLICATE", "DUPLICATE"]
