"""Each ACK form over MLLP: original AA/AE/AR with ERR per version, enhanced
mode CA/CR with the application ACK as MSH-15/16 ask."""

import pytest

from hl7.models import InboundMessage
from ris.models import ImagingOrder
from tests.hl7_builders import message, msh, orm_new_order, segment
from tests.peers import MllpClient, ack_segments

pytestmark = pytest.mark.slow


def _enhanced(control_id: str, accept: str, application: str, **options) -> str:
    text = orm_new_order(control_id, **options)
    _head, rest = text.split("\r", 1)
    return msh(control_id, accept_ack=accept, application_ack=application) + "\r" + rest


def _quiet(client: MllpClient) -> bool:
    """Nothing more arrives: a probe message's ACK is the next frame."""
    probe = message(msh("PROBE", message_type="ZZZ^Z01"), segment("PID", {3: "X"}))
    return ack_segments(client.exchange(probe))["MSA"][2] == "PROBE"


def test_original_mode_aa_ae_ar_and_the_v231_err_1(mllp):
    with MllpClient(mllp.port) as client:
        assert ack_segments(client.exchange(orm_new_order("O1")))["MSA"][1] == "AA"
        ae = ack_segments(client.exchange(orm_new_order("O2", placer="PL2", accession="A2", modality="")))
        ar = ack_segments(client.exchange(message(msh("O3", message_type="QRY^A19"), segment("QRD", {1: "x"}))))
    assert ae["MSA"][1] == "AE" and ae["ERR"][1] == "OBR^1^24^101&Required field missing&HL70357"
    assert ar["MSA"][1] == "AR" and ar["ERR"][1].startswith("MSH^1^9^200&")


def test_v251_err_carries_location_code_and_severity(mllp):
    text = message(
        msh("V1", version="2.5.1"),
        segment("PID", {3: "P1^^^H"}),
        segment("ORC", {1: "CA", 2: "NOPE"}),
    )
    with MllpClient(mllp.port) as client:
        err = ack_segments(client.exchange(text))["ERR"]
    assert err[1:5] == ["", "ORC^1^2", "204^Unknown key identifier^HL70357", "E"]


def test_enhanced_al_al_sends_commit_ca_then_application_aa(mllp):
    with MllpClient(mllp.port) as client:
        client.send_raw(b"\x0b" + _enhanced("E1", "AL", "AL").encode() + b"\x1c\x0d")
        first, second = ack_segments(client.read_ack()), ack_segments(client.read_ack())
        assert _quiet(client)
    assert (first["MSA"][1:3], second["MSA"][1:3]) == (["CA", "E1"], ["AA", "E1"])
    stored = InboundMessage.objects.get(control_id="E1")
    assert "MSA|CA|E1" in stored.commit_ack and "MSA|AA|E1" in stored.ack


def test_enhanced_al_ne_sends_only_the_commit_ack(mllp):
    with MllpClient(mllp.port) as client:
        assert ack_segments(client.exchange(_enhanced("E2", "AL", "NE")))["MSA"][1] == "CA"
        assert _quiet(client)
    assert ImagingOrder.objects.count() == 1


def test_enhanced_ne_er_is_silent_on_success_and_sends_ae_on_error(mllp):
    with MllpClient(mllp.port) as client:
        client.send_raw(b"\x0b" + _enhanced("E3", "NE", "ER").encode() + b"\x1c\x0d")
        assert _quiet(client)
        bad = _enhanced("E4", "NE", "ER", placer="PL2", accession="A2", modality="")
        ack = ack_segments(client.exchange(bad))
    assert ack["MSA"][1:3] == ["AE", "E4"]
    assert ack["ERR"][1].startswith("OBR^1^24^101")


def test_enhanced_unsupported_type_is_commit_rejected_cr_without_application_ack(mllp):
    text = message(msh("E5", message_type="QRY^A19", accept_ack="AL", application_ack="AL"), segment("QRD", {}))
    with MllpClient(mllp.port) as client:
        ack = ack_segments(client.exchange(text))
        assert _quiet(client)
    assert ack["MSA"][1:3] == ["CR", "E5"]
    assert ack["ERR"][1].startswith("MSH^1^9^200")


def test_enhanced_er_er_is_silent_for_a_good_message(mllp):
    with MllpClient(mllp.port) as client:
        client.send_raw(b"\x0b" + _enhanced("E6", "ER", "ER").encode() + b"\x1c\x0d")
        assert _quiet(client)
    assert InboundMessage.objects.get(control_id="E6").status == InboundMessage.Status.APPLIED


# The outage is simulated inside the reference path (test_faults takes a real database away from both).
@pytest.mark.parametrize("mllp", ["reference"], indirect=True)
def test_database_unavailable_is_commit_error_ce_in_enhanced_mode_and_ar_207_in_original(mllp, monkeypatch):
    from django.db import OperationalError

    from hl7 import log as messages

    def unavailable(**kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(messages, "inbound_store", unavailable)
    with MllpClient(mllp.port) as client:
        enhanced = ack_segments(client.exchange(_enhanced("E7", "AL", "AL")))
        original = ack_segments(client.exchange(orm_new_order("E8")))
    assert enhanced["MSA"][1:3] == ["CE", "E7"] and enhanced["ERR"][1].startswith("^^^207")  # v2.3.1 ERR-1
    assert original["MSA"][1:3] == ["AR", "E8"] and original["ERR"][1].startswith("^^^207")
    assert InboundMessage.objects.count() == 0
