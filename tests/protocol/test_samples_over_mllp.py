"""Every public sample message, sent as it is over one connection: each gets an ACK."""
import pytest

from hl7.parse import read_header
from ris.models import ImagingOrder, InboundMessage
from tests.conftest import SAMPLES
from tests.peers import MllpClient, ack_segments

pytestmark = pytest.mark.slow


def test_each_sample_gets_an_ack_naming_its_control_id_and_nothing_is_lost(mllp):
    names = sorted(p.name for p in SAMPLES.glob("*.hl7"))
    answers = {}
    with MllpClient(mllp.port) as client:
        for name in names:
            raw = (SAMPLES / name).read_bytes()
            ack = ack_segments(client.exchange(raw), "latin-1")
            answers[name] = ack["MSA"][1]
            try:
                control_id = read_header(raw).control_id
            except Exception:
                control_id = ""
            assert ack["MSA"][2] == control_id, name
            assert ack["MSA"][1] in {"AA", "AE", "AR"}
            if ack["MSA"][1] != "AA":
                assert "ERR" in ack, name
    assert answers["dcm4che_ORM_O01_ihe_mesa_v231.hl7"] == "AA"
    assert answers["lfh_ADT_A01_broken_doubled_backslash.hl7"] == "AR"
    assert InboundMessage.objects.count() == len(names)  # every one stored raw
    assert ImagingOrder.objects.filter(accession_number="MOF5026").exists()
