"""Our ACKs, read back by hl7apy: a parser we did not write."""

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message

from hl7.errors import HL7Error, Location
from hl7.read_message import read_header
from hl7.write_ack import answers_for, build_ack
from tests.hl7_builders import msh


def _header(version="2.5.1"):
    return read_header((msh("CTRL9", version=version, sender="EHR^1.2.3^ISO") + "\r").encode())


def test_aa_echoes_the_control_id_and_swaps_sender_and_receiver():
    ack = parse_message(build_ack(_header(), "AA"), validation_level=VALIDATION_LEVEL.STRICT, find_groups=False)
    assert ack.msa.msa_1.value == "AA"
    assert ack.msa.msa_2.value == "CTRL9"
    assert ack.msh.msh_5.to_er7() == "EHR^1.2.3^ISO"
    assert ack.msh.msh_3.to_er7() == "RIS"
    assert ack.msh.msh_10.value != "CTRL9"


def test_v25_error_carries_err_2_location_err_3_code_err_4_severity():
    error = HL7Error(101, "PID-3 patient identifier is missing", Location("PID", 1, 3, 1))
    text = build_ack(_header(), "AE", error)
    ack = parse_message(text, validation_level=VALIDATION_LEVEL.TOLERANT, find_groups=False)
    assert ack.err.err_2.to_er7() == "PID^1^3^1"
    assert ack.err.err_3.to_er7() == "101^Required field missing^HL70357"
    assert ack.err.err_4.value == "E"


def test_v231_error_carries_err_1_segment_sequence_field_code():
    error = HL7Error(204, "unknown order", Location("ORC", 1, 2))
    ack = parse_message(build_ack(_header("2.3.1"), "AE", error), find_groups=False)
    assert ack.err.err_1.to_er7() == "ORC^1^2^204&Unknown key identifier&HL70357"


def _enhanced_header(accept="AL", application="AL"):
    text = msh("CTRL7", version="2.5.1", accept_ack=accept, application_ack=application) + "\r"
    return read_header(text.encode())


def test_enhanced_commit_error_ce_when_the_message_could_not_be_stored():
    error = HL7Error(207, "the RIS cannot store messages now", ack_code="AR")
    answers = answers_for(_enhanced_header(), "AR", error, stored=False)
    [only] = answers.texts
    ack = parse_message(only, validation_level=VALIDATION_LEVEL.TOLERANT, find_groups=False)
    assert ack.msa.msa_1.value == "CE"
    assert ack.err.err_3.to_er7() == "207^Application internal error^HL70357"


def test_enhanced_su_sends_the_commit_ack_only_on_success():
    assert [t.split("\r")[1][:6] for t in answers_for(_enhanced_header("SU", "NE"), "AA").texts] == ["MSA|CA"]
    error = HL7Error(200, "no such type")
    assert answers_for(_enhanced_header("SU", "NE"), "AR", error).texts == []


def test_original_mode_sends_only_the_application_ack():
    answers = answers_for(_header(), "AE", HL7Error(101, "missing"))
    assert answers.commit == "" and answers.texts == [answers.application]
