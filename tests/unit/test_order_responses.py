"""Each order message is answered in its own response structure (HL7 2.5.1
4.4 / 4.13), read back strictly by hl7apy, a parser we did not write; the
accept acknowledgment of enhanced mode stays the general ACK."""

import pytest
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message

from hl7.errors import HL7Error, Location
from hl7.read_message import read_header
from hl7.write_ack import answers_for
from tests.hl7_builders import msh


def _header(message_type: str, version: str = "2.5.1", accept: str = "", application: str = ""):
    text = msh("CTRL5", message_type=message_type, version=version, accept_ack=accept, application_ack=application)
    return read_header((text + "\r").encode())


@pytest.mark.parametrize(
    ("message_type", "version", "answer"),
    [
        ("ORM^O01", "2.3.1", "ORR^O02^ORR_O02"),
        ("ORM^O01", "2.5.1", "ORR^O02^ORR_O02"),
        ("OMI^O23^OMI_O23", "2.5.1", "ORI^O24^ORI_O24"),
        ("OMG^O19^OMG_O19", "2.5.1", "ORG^O20^ORG_O20"),
    ],
)
def test_each_order_message_is_answered_in_its_own_structure(message_type, version, answer):
    [text] = answers_for(_header(message_type, version), "AA").texts
    response = parse_message(text, validation_level=VALIDATION_LEVEL.STRICT)
    assert response.msh.msh_9.to_er7() == answer
    assert response.name == answer.rsplit("^", 1)[1]  # hl7apy read it as that structure
    assert (response.msa.msa_1.value, response.msa.msa_2.value) == ("AA", "CTRL5")


def test_a_refused_order_response_carries_err_in_its_structure():
    error = HL7Error(204, "unknown order", Location("ORC", 1, 2))
    [text] = answers_for(_header("OMI^O23^OMI_O23"), "AE", error).texts
    response = parse_message(text, validation_level=VALIDATION_LEVEL.STRICT)
    assert response.msh.msh_9.to_er7() == "ORI^O24^ORI_O24"
    assert response.err.err_3.to_er7() == "204^Unknown key identifier^HL70357"


def test_enhanced_mode_accepts_with_ack_then_responds_with_the_order_response():
    commit, application = answers_for(_header("OMG^O19^OMG_O19", accept="AL", application="AL"), "AA").texts
    assert parse_message(commit, validation_level=VALIDATION_LEVEL.STRICT).msh.msh_9.to_er7() == "ACK^O19^ACK"
    assert parse_message(application, validation_level=VALIDATION_LEVEL.STRICT).msh.msh_9.to_er7() == "ORG^O20^ORG_O20"


def test_other_messages_keep_the_general_ack():
    [text] = answers_for(_header("ADT^A08^ADT_A01"), "AA").texts
    assert parse_message(text, validation_level=VALIDATION_LEVEL.STRICT).msh.msh_9.to_er7() == "ACK^A08^ACK"
