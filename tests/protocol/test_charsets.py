"""Names in each MSH-18 character set, over MLLP and back out of the worklist
(which answers in UTF-8, ISO_IR 192)."""

import pytest

from ris.models import Patient
from tests.hl7_builders import orm_new_order
from tests.peers import MllpClient, ack_segments, findscu

pytestmark = pytest.mark.slow

CASES = [
    ("8859/1", "latin-1", "MÜLLER^FRANÇOIS"),
    ("UNICODE UTF-8", "utf-8", "ŁÓDŹ^ZOË"),
    ("8859/2", "iso8859-2", "DVOŘÁK^ŽOFIE"),
    ("8859/5", "iso8859-5", "ИВАНОВ^ИВАН"),
    ("8859/7", "iso8859-7", "ΠΑΠΑΔΟΠΟΥΛΟΣ^ΝΙΚΟΣ"),
    ("8859/9", "iso8859-9", "ÖZTÜRK^AYŞE"),
    ("8859/15", "iso8859-15", "ŒUVRE^€DITH"),
    ("", "ascii", "SMITH^JOHN"),
]
# HL7 Japan style: ASCII default, ISO IR87 (JIS X 0208) as the ISO 2022 alternate;
# PID-5 repetitions with XPN-8 A / I / P give the three PN component groups.
JAPANESE_PID_5 = "YAMADA^TAROU^^^^^^A~山田^太郎^^^^^^I~やまだ^たろう^^^^^^P"
JAPANESE_PN = "YAMADA^TAROU=山田^太郎=やまだ^たろう"


def _send(port: int, raw: bytes) -> list[str]:
    with MllpClient(port) as client:
        return ack_segments(client.exchange(raw), "latin-1")["MSA"]


def _worklist_name(dicom_port: int) -> str:
    responses, proc = findscu(dicom_port, ["PatientID=PAT1001", "PatientName"])
    assert proc.returncode == 0, proc.stderr
    [response] = responses
    name = str(response.PatientName)
    if not name.isascii():  # declared, so the bytes read back exactly
        assert response.SpecificCharacterSet == "ISO_IR 192"
        assert response["PatientName"].value.original_string == name.encode("utf-8")
    return name


@pytest.mark.parametrize(("msh_18", "codec", "name"), CASES, ids=[c[1] for c in CASES])
def test_name_in_each_character_set_is_stored_and_found_in_the_worklist(mllp, dicom, msh_18, codec, name):
    raw = orm_new_order("CS1", name=name, charset=msh_18).encode(codec)
    assert _send(mllp.port, raw)[1] == "AA"
    assert Patient.objects.get().name == name
    assert _worklist_name(dicom) == name


@pytest.mark.parametrize("msh_18", ["~ISO IR87", "ISO IR87"])
def test_japanese_name_fills_three_component_groups(mllp, dicom, msh_18):
    raw = orm_new_order("JP1", name=JAPANESE_PID_5, charset=msh_18).encode("iso2022_jp")
    assert b"\x1b$B" in raw  # JIS X 0208 escape sequence on the wire
    assert _send(mllp.port, raw)[1] == "AA"
    assert Patient.objects.get().dicom_name == JAPANESE_PN
    assert _worklist_name(dicom) == JAPANESE_PN


@pytest.mark.parametrize(
    ("msh_18", "codec", "escaped"),
    [
        ("8859/1", "latin-1", r"M\XDC\LLER^HANS"),
        ("UNICODE UTF-8", "utf-8", r"M\XC39C\LLER^HANS"),
        ("", "ascii", r"M\XC39C\LLER^HANS"),  # undeclared: read as UTF-8, as the message text is
    ],
)
def test_hex_escape_decodes_in_the_message_character_set(mllp, msh_18, codec, escaped):
    raw = orm_new_order("HX1", name=escaped, charset=msh_18).encode(codec)
    assert _send(mllp.port, raw)[1] == "AA"
    assert Patient.objects.get().name == "MÜLLER^HANS"


def test_hex_escape_in_cyrillic_message_decodes_as_8859_5(mllp):
    escaped = "\\X" + "Ж".encode("iso8859-5").hex().upper() + "\\UKOV^IVAN"
    raw = orm_new_order("HX2", name=escaped, charset="8859/5").encode("iso8859-5")
    assert _send(mllp.port, raw)[1] == "AA"
    assert Patient.objects.get().name == "ЖUKOV^IVAN"


def test_unknown_character_set_is_acked_ae_103_at_msh_18(mllp):
    raw = orm_new_order("CS9", charset="EBCDIC").encode()
    with MllpClient(mllp.port) as client:
        ack = ack_segments(client.exchange(raw))
    assert ack["MSA"][1] == "AE"
    assert ack["ERR"][1].startswith("MSH^1^18^103")
