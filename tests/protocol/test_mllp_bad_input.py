"""Bad input over MLLP: the right NAK, nothing half-written, the listener serving on."""

import pytest

from hl7.models import InboundMessage
from ris.models import ImagingOrder
from tests.hl7_builders import message, msh, orm_new_order, segment
from tests.peers import MllpClient, ack_segments

pytestmark = pytest.mark.slow


def test_order_without_pid_3_is_acked_ae_101_at_pid_3(mllp):
    text = orm_new_order("MSG41", patient_id="").replace("PID|1||^^^HOSP|", "PID|1|||")
    with MllpClient(mllp.port) as client:
        ack = ack_segments(client.exchange(text))
        assert ack["MSA"][1:3] == ["AE", "MSG41"]
        assert ack["ERR"][1].startswith("PID^1^3^101")  # v2.3.1 ERR-1
        # still serving on the same connection
        assert ack_segments(client.exchange(orm_new_order("MSG42")))["MSA"][1] == "AA"
    assert ImagingOrder.objects.count() == 1
    assert InboundMessage.objects.get(control_id="MSG41").status == InboundMessage.Status.REJECTED


def test_unknown_message_type_is_rejected_ar_200(mllp):
    text = message(msh("MSG51", message_type="ZZZ^Z01", version="2.5.1"), segment("PID", {3: "X"}))
    with MllpClient(mllp.port) as client:
        ack = ack_segments(client.exchange(text))
    assert ack["MSA"][1:3] == ["AR", "MSG51"]
    assert ack["ERR"][2] == "MSH^1^9^1"
    assert ack["ERR"][3].startswith("200^")


def test_garbage_inside_a_frame_gets_ar_and_the_connection_stays_open(mllp):
    with MllpClient(mllp.port) as client:
        ack = ack_segments(client.exchange(b"\x00\xffthis is not HL7\x01"))
        assert ack["MSA"][1] == "AR"
        assert "MSH" in ack["ERR"][2]
        assert ack_segments(client.exchange(orm_new_order("MSG61")))["MSA"][1:3] == ["AA", "MSG61"]
    assert InboundMessage.objects.filter(status=InboundMessage.Status.REJECTED).count() == 1


def test_half_frame_followed_by_a_good_frame_answers_the_good_one(mllp):
    good = orm_new_order("MSG71").encode()
    with MllpClient(mllp.port) as client:
        client.send_raw(b"\x0b" + good[:60])  # the sender gave up mid-frame...
        client.send_raw(b"\x0b" + good + b"\x1c\x0d")  # ...and started over
        assert ack_segments(client.read_ack())["MSA"][1:3] == ["AA", "MSG71"]
    assert ImagingOrder.objects.count() == 1


def test_oversized_frame_is_refused_with_ar_and_the_listener_serves_others(transactional_db):
    from hl7 import server as mllp_server

    server, _thread = mllp_server.start_in_thread("127.0.0.1", 0, max_message_bytes=2000)
    try:
        big = orm_new_order("MSG81") + "NTE|1||" + "x" * 5000 + "\r"
        with MllpClient(server.port) as client:
            client.send_raw(b"\x0b" + big.encode())
            ack = ack_segments(client.read_ack())
            assert ack["MSA"][1:3] == ["AR", "MSG81"]
            assert client.is_closed_by_peer()
        with MllpClient(server.port) as other:
            assert ack_segments(other.exchange(orm_new_order("MSG82")))["MSA"][1] == "AA"
    finally:
        server.stop()


def test_idle_connection_is_closed_after_the_timeout(transactional_db):
    from hl7 import server as mllp_server

    server, _thread = mllp_server.start_in_thread("127.0.0.1", 0, idle_timeout=0.5)
    try:
        with MllpClient(server.port, timeout=5) as client:
            assert client.is_closed_by_peer()
    finally:
        server.stop()
