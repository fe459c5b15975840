"""Every message answered for what it is, through the real listener: values
too long for what they become, control characters, a reused control ID, a
version we do not speak, a broken header, a group without its OBR, start
bytes without end; the same answers on SQLite and PostgreSQL."""

import logging

import pytest
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message

from hl7.models import InboundMessage
from ris.models import ImagingOrder, Patient
from tests.hl7_builders import message, msh, omi_order, orm_new_order, segment
from tests.peers import MllpClient, ack_segments

pytestmark = pytest.mark.slow


def _v251(text: str) -> str:
    """The builder's ORM^O01 as v2.5.1, so that the ACK carries ERR-2 and ERR-3."""
    return text.replace("|2.3.1", "|2.5.1", 1)


def _exchange(port: int, text: str | bytes) -> dict[str, list[str]]:
    raw = text.encode("utf-8") if isinstance(text, str) else text
    with MllpClient(port) as client:
        ack = client.exchange(raw)
    parse_message(ack.decode("ascii"), validation_level=VALIDATION_LEVEL.TOLERANT)  # a reader we did not write
    return ack_segments(ack)


def _refused_102(ack: dict[str, list[str]], location: str, *words: str) -> None:
    assert ack["MSA"][1] == "AE"
    assert ack["ERR"][2] == location
    assert ack["ERR"][3].startswith("102^")
    for word in words:
        assert word in ack["ERR"][8]


@pytest.mark.parametrize(
    ("fields", "location", "words"),
    [
        ({"name": "A" * 400 + "^HANS"}, "PID^1^5", ("PID-5", "patient name", "64", "PN")),
        ({"patient_id": "P" * 65}, "PID^1^3^1", ("PID-3.1", "patient identifier", "64", "LO")),
        ({"placer": "X" * 65}, "ORC^1^2^1", ("ORC-2.1", "placer order number", "LO")),
    ],
    ids=["PID-5 of 400", "PID-3 of 65", "placer number of 65"],
)
def test_a_value_too_long_for_its_dicom_vr_is_acked_ae_102_with_its_location(mllp, fields, location, words):
    ack = _exchange(mllp.port, _v251(orm_new_order("LONG1", **fields)))
    _refused_102(ack, location, *words)
    assert Patient.objects.count() == 0 and ImagingOrder.objects.count() == 0
    assert InboundMessage.objects.get(control_id="LONG1").status == "REJECTED"


def _with_obr(text: str, number: int, value: str) -> str:
    lines = text.split("\r")
    for i, line in enumerate(lines):
        if line.startswith("OBR"):
            fields = line.split("|")
            fields += [""] * (number + 1 - len(fields))
            fields[number] = value
            lines[i] = "|".join(fields)
    return "\r".join(lines)


def test_a_reason_of_300_characters_is_acked_ae_102_and_again_on_resend(mllp):
    text = _with_obr(_v251(orm_new_order("LONG2")), 31, "^" + "R" * 300)
    first = _exchange(mllp.port, text)
    again = _exchange(mllp.port, text)  # never AR: it would fail again, and an engine would hold its queue
    for ack in (first, again):
        _refused_102(ack, "OBR^1^31^2", "OBR-31.2", "reason", "64")
    assert ImagingOrder.objects.count() == 0


def test_a_procedure_code_of_100_characters_is_acked_ae_102(mllp):
    text = _with_obr(_v251(orm_new_order("LONG3")), 4, "C" * 100 + "^CT Head^LOCAL")
    _refused_102(_exchange(mllp.port, text), "OBR^1^4^1", "OBR-4.1", "procedure code value")


@pytest.mark.parametrize("escaped", ["\\X00\\", "\\X01\\", "\\X0B\\", "\\X1C\\"])
def test_a_control_character_sent_escaped_is_acked_ae_102(mllp, escaped):
    text = _v251(orm_new_order("CTL1", name=f"DOE{escaped}X^JOHN"))
    _refused_102(_exchange(mllp.port, text), "PID^1^5^1", "PID-5.1", "control character")
    assert Patient.objects.count() == 0


def test_the_log_names_the_field_and_the_rule_never_the_value(mllp, caplog):
    caplog.set_level(logging.INFO)
    _exchange(mllp.port, _v251(orm_new_order("LOG1", name="SECRETNAME" + "Z" * 70 + "^JOHN")))
    _exchange(mllp.port, _v251(orm_new_order("LOG2", birth_date="SECRETDOB")))
    text = caplog.text
    assert "PID-5" in text and "PID-7" in text
    assert "SECRETNAME" not in text and "SECRETDOB" not in text


def test_a_control_id_reused_for_other_content_is_acked_ae_205_and_a_resend_aa(mllp):
    assert _exchange(mllp.port, orm_new_order("SAME1"))["MSA"][1] == "AA"
    resend = _exchange(mllp.port, orm_new_order("SAME1"))
    other = _exchange(mllp.port, _v251(orm_new_order("SAME1", placer="PL9", accession="ACC9", patient_id="P9")))
    assert resend["MSA"][1:3] == ["AA", "SAME1"]
    assert other["MSA"][1:3] == ["AE", "SAME1"]
    assert other["ERR"][2] == "MSH^1^10" and other["ERR"][3].startswith("205^")
    assert "control ID reused" in other["ERR"][8]
    assert list(ImagingOrder.objects.values_list("placer_number", flat=True)) == ["PL1001"]
    statuses = list(InboundMessage.objects.order_by("pk").values_list("status", flat=True))
    assert statuses == ["APPLIED", "DUPLICATE", "REJECTED"]


def test_a_version_we_do_not_speak_is_acked_ar_203(mllp):
    ack = _exchange(mllp.port, orm_new_order("VER1").replace("|2.3.1", "|9.9", 1))
    assert ack["MSA"][1:3] == ["AR", "VER1"]
    assert ack["MSH"][11] == "2.5.1"  # answered in a version we speak
    assert ack["ERR"][2] == "MSH^1^12" and ack["ERR"][3].startswith("203^")
    assert ImagingOrder.objects.count() == 0


def test_an_omi_group_without_its_obr_is_acked_ae_100(mllp):
    text = omi_order("NOOBR2", ipcs=[{1: "ACC7", 2: "RP7", 3: "1.2.3.7", 4: "SPS7", 5: "MR"}])
    text = "\r".join(line for line in text.split("\r") if not line.startswith("OBR"))
    ack = _exchange(mllp.port, text)
    assert ack["MSA"][1:3] == ["AE", "NOOBR2"]
    assert ack["ERR"][3].startswith("100^")
    assert ImagingOrder.objects.count() == 0


def test_a_status_change_without_obr_for_an_unknown_order_is_ae_not_ar(mllp):
    text = message(msh("SCX1", version="2.5.1"), segment("PID", {3: "P1"}), segment("ORC", {1: "SC", 2: "NONE^EHR"}))
    ack = _exchange(mllp.port, text)
    assert ack["MSA"][1] == "AE"


@pytest.mark.parametrize("run", [990, 5000])
def test_a_run_of_start_bytes_before_a_frame_is_dropped_and_the_frame_answered(mllp, run):
    with MllpClient(mllp.port) as client:
        client.send_raw(b"\x0b" * run + orm_new_order("RUN1").encode() + b"\x1c\x0d")
        ack = ack_segments(client.read_ack())
        assert ack["MSA"][1:3] == ["AA", "RUN1"]
        assert ack_segments(client.exchange(orm_new_order("RUN2", placer="PL2", accession="A2")))["MSA"][1] == "AA"


def test_the_answer_to_a_broken_msh2_echoes_the_fields_that_could_be_read(mllp):
    text = orm_new_order("BAD2").replace("MSH|^~\\&|", "MSH|^^|", 1)
    ack = _exchange(mllp.port, text)
    assert ack["MSA"][1:3] == ["AR", "BAD2"]
    assert ack["MSH"][4:6] == ["EHR", "HOSP"]  # MSH-5/6 from the message's MSH-3/4
    assert ack["ERR"][1].startswith("MSH^1^2^102")


def test_a_message_asking_for_no_ack_is_logged_as_none_requested(mllp):
    header = msh("NENE1", version="2.5.1", accept_ack="NE", application_ack="NE")
    text = "\r".join([header, *orm_new_order("NENE1").split("\r")[1:]])
    probe = orm_new_order("NENE2", placer="PL2", accession="A2")
    with MllpClient(mllp.port) as client:
        client.send_raw(b"\x0b" + text.encode() + b"\x1c\x0d")
        assert ack_segments(client.exchange(probe))["MSA"][2] == "NENE2"  # nothing came for the first
    silent = InboundMessage.objects.get(control_id="NENE1")
    assert silent.status == "APPLIED"
    assert "no ACK requested" in silent.error


def _many_groups(control_id: str, count: int) -> str:
    lines = _v251(orm_new_order(control_id)).rstrip("\r").split("\r")
    head, orc, obr = lines[:3], lines[3], lines[4]
    groups = []
    for n in range(count):
        groups += [orc.replace("PL1001^", f"PL{n}^"), obr.replace("PL1001^", f"PL{n}^").replace("ACC1001", f"ACC{n}")]
    return "\r".join(head + groups) + "\r"


def test_a_message_with_more_order_groups_than_one_transaction_takes_is_acked_ae(mllp, settings):
    # On SQLite one message's transaction holds every other sender until it commits.
    settings.RIS_HL7_MAX_ORDER_GROUPS = 3
    ack = _exchange(mllp.port, _many_groups("MANY1", 4))
    assert ack["MSA"][1:3] == ["AE", "MANY1"]
    assert ack["ERR"][2] == "ORC^4" and ack["ERR"][3].startswith("102^")
    assert "send them split" in ack["ERR"][8]
    assert _exchange(mllp.port, _many_groups("MANY2", 3))["MSA"][1] == "AA"
    assert ImagingOrder.objects.count() == 3
