"""Content no database column can hold, over MLLP: refused, stored, answered."""

import pytest

from hl7.models import InboundMessage
from ris.models import Patient
from tests.hl7_builders import orm_new_order
from tests.peers import MllpClient, ack_segments

pytestmark = pytest.mark.slow


def test_nul_in_a_field_is_acked_ae_102_and_the_message_is_kept(mllp):
    raw = orm_new_order("NUL1", name="DOE\x00CLEAR^JOHN").encode()
    with MllpClient(mllp.port) as client:
        ack = ack_segments(client.exchange(raw))
    assert ack["MSA"][1:3] == ["AE", "NUL1"]
    assert ack["ERR"][1].startswith("PID^1^5^")  # the field that holds it
    stored = InboundMessage.objects.get(control_id="NUL1")
    assert bytes(stored.raw) == raw and stored.status == "REJECTED"
    assert Patient.objects.count() == 0


def test_nul_in_the_control_id_is_answered_and_logged(mllp):
    raw = orm_new_order("N\x00L2").encode()
    with MllpClient(mllp.port) as client:
        ack = ack_segments(client.exchange(raw))
    assert ack["MSA"][1:3] == ["AE", "N\\X00\\L2"]  # the NUL sent back escaped, as HL7 carries it
    assert InboundMessage.objects.get().control_id == "N\ufffdL2"


def test_a_new_order_without_obr_is_acked_ae_100_and_nothing_is_applied(mllp):
    # ORM^O01 (HL7 2.3.1 4.5.1): a new order's ORC is followed by its OBR.
    raw = "\r".join(s for s in orm_new_order("NOOBR1").split("\r") if not s.startswith("OBR")).encode()
    with MllpClient(mllp.port) as client:
        ack = ack_segments(client.exchange(raw))
    assert ack["MSA"][1:3] == ["AE", "NOOBR1"]
    assert ack["ERR"][1].startswith("OBR^1^^100")
    assert InboundMessage.objects.get(control_id="NOOBR1").status == "REJECTED"
    assert Patient.objects.count() == 0
