"""One event loop serves all of a listener's MLLP connections (hl7/server.py):
a message that waits (on a worker thread, the reference way) holds up no
other connection, a sender that streams without reading its ACKs holds up
no one either, a sender that closes its side after its messages still
gets every ACK, and a fault in one connection's handling ends only that
connection."""

from __future__ import annotations

import socket
import threading

import pytest

from hl7 import server as mllp_server
from hl7.mllp import FrameDecoder
from hl7.models import InboundMessage
from tests.hl7_builders import orm_new_order
from tests.peers import MllpClient, ack_segments, mllp_frame


def _order(control_id: str) -> str:
    return orm_new_order(control_id, patient_id=f"P{control_id}", placer=f"PL{control_id}", accession="")


@pytest.fixture
def held_back(monkeypatch):
    """The reference way, with the message LOOP-SLOW kept waiting until the test lets it go."""
    release = threading.Event()
    real = mllp_server.receive

    def receive(raw: bytes, peer: str = "", **options) -> list[bytes]:
        if b"|LOOP-SLOW|" in raw:
            assert release.wait(timeout=30), "the test never let the message go"
        return real(raw, peer, **options)

    monkeypatch.setattr(mllp_server, "receive", receive)
    return release


def test_a_message_waiting_on_a_worker_holds_up_no_other_connection(transactional_db, held_back):
    server, _ = mllp_server.start_in_thread("127.0.0.1", 0, idle_timeout=30, write_path="reference")
    try:
        with MllpClient(server.port) as slow, MllpClient(server.port) as other:
            slow.send_raw(mllp_frame(_order("LOOP-SLOW")))
            # Answered while LOOP-SLOW still waits: if the loop waited with it, this would time out.
            assert ack_segments(other.exchange(_order("LOOP-OTHER")))["MSA"][1:3] == ["AA", "LOOP-OTHER"]
            assert ack_segments(other.exchange(_order("LOOP-OTHER2")))["MSA"][1] == "AA"
            held_back.set()
            assert ack_segments(slow.read_ack())["MSA"][1:3] == ["AA", "LOOP-SLOW"]
    finally:
        held_back.set()
        server.stop()


def test_a_sender_streaming_without_reading_its_acks_holds_up_no_other_sender(mllp):
    backlog = 300
    with MllpClient(mllp.port) as streaming, MllpClient(mllp.port) as other:
        streaming.send_raw(b"".join(mllp_frame(_order(f"LOOP-S{n}")) for n in range(backlog)))
        assert ack_segments(other.exchange(_order("LOOP-O1")))["MSA"][1] == "AA"
        applied_meanwhile = InboundMessage.objects.filter(control_id__startswith="LOOP-S").count()
        assert applied_meanwhile < backlog  # answered in between, not after the whole backlog
        acks = [ack_segments(streaming.read_ack())["MSA"][1:3] for _ in range(backlog)]
    assert acks == [["AA", f"LOOP-S{n}"] for n in range(backlog)]  # every one, in the order sent


def test_messages_sent_before_the_sender_closes_its_side_are_all_answered_then_the_connection_ends(mllp):
    with MllpClient(mllp.port) as client:
        client.send_raw(b"".join(mllp_frame(_order(f"LOOP-H{n}")) for n in range(3)))
        client.sock.shutdown(socket.SHUT_WR)  # no more to send; still reading
        acks = [ack_segments(client.read_ack())["MSA"][1:3] for _ in range(3)]
        assert acks == [["AA", "LOOP-H0"], ["AA", "LOOP-H1"], ["AA", "LOOP-H2"]]
        assert client.is_closed_by_peer()
    assert InboundMessage.objects.filter(control_id__startswith="LOOP-H", status="APPLIED").count() == 3


def test_a_fault_in_one_connections_handling_ends_that_connection_and_the_listener_serves_on(mllp, monkeypatch):
    real = FrameDecoder.feed

    def feed(self, data: bytes) -> list[bytes]:
        if b"LOOP-FAULT" in data:
            raise RuntimeError("a fault of ours")
        return real(self, data)

    monkeypatch.setattr(FrameDecoder, "feed", feed)
    with MllpClient(mllp.port) as faulty, MllpClient(mllp.port) as other:
        faulty.send_raw(mllp_frame(_order("LOOP-FAULT")))
        assert faulty.is_closed_by_peer()
        assert ack_segments(other.exchange(_order("LOOP-AFTER")))["MSA"][1:3] == ["AA", "LOOP-AFTER"]
    with MllpClient(mllp.port) as later:
        assert ack_segments(later.exchange(_order("LOOP-LATER")))["MSA"][1] == "AA"
