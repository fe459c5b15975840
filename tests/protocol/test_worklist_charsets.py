"""Character sets (PS3.5 6.1): requests decoded with their (0008,0005),
answers in the set configured for the calling AE."""

import pytest
from pydicom.dataset import Dataset

from tests.factories import TEST_ACTOR
from tests.peers import findscu
from tests.worklist_builders import schedule
from tests.worklist_peers import identifiers, mwl_find, mwl_identifier
from worklist.registry import modality_register

pytestmark = pytest.mark.slow

YAMADA = "Yamada^Tarou=山田^太郎=やまだ^たろう"
JAPANESE = "\\ISO 2022 IR 87"


def register(ae_title: str, character_set: str) -> None:
    """A modality that sees every station's steps, answered in `character_set`."""
    modality_register(
        actor=TEST_ACTOR, ae_title=ae_title, character_set=character_set, own_worklist_when_unspecified=False
    )


def test_latin1_request_matches_and_latin1_modality_gets_latin1(dicom, transactional_db):
    schedule(name="MÜLLER^HANS")
    register("OLDCT", "ISO_IR 100")
    asked = mwl_identifier({"PatientName": "MÜLL*"}, charset="ISO_IR 100")
    responses = mwl_find(dicom, asked, calling_ae="OLDCT")
    ds = identifiers(responses)[0]
    assert ds.SpecificCharacterSet == "ISO_IR 100"
    assert str(ds.PatientName) == "MÜLLER^HANS"


def test_findscu_latin1_bytes_are_decoded_before_matching(dicom, transactional_db):
    schedule(name="MÜLLER^HANS")
    register("OLDCT", "ISO_IR 100")
    responses, proc = findscu(
        dicom, ["SpecificCharacterSet=ISO_IR 100", "PatientName=MÜLL*".encode("latin-1")], calling_ae="OLDCT"
    )
    assert proc.returncode == 0, proc.stderr
    assert [(r.SpecificCharacterSet, str(r.PatientName)) for r in responses] == [("ISO_IR 100", "MÜLLER^HANS")]


def test_utf8_is_the_default_answer(dicom, transactional_db):
    schedule(name="ŁUKASZ^ŻÓŁW")
    responses, proc = findscu(dicom, ["SpecificCharacterSet=ISO_IR 192", "PatientName=ŁUK*"])
    assert proc.returncode == 0, proc.stderr
    assert [(r.SpecificCharacterSet, str(r.PatientName)) for r in responses] == [("ISO_IR 192", "ŁUKASZ^ŻÓŁW")]


def test_iso_2022_ir_87_name_with_three_groups_survives_the_round_trip(dicom, transactional_db):
    schedule(name="Yamada^Tarou", ideographic="山田^太郎", phonetic="やまだ^たろう")
    register("JPMR", JAPANESE)
    asked = mwl_identifier({"PatientName": "=山田*"}, charset=["", "ISO 2022 IR 87"])
    ds = identifiers(mwl_find(dicom, asked, calling_ae="JPMR"))[0]
    assert ds.SpecificCharacterSet == ["", "ISO 2022 IR 87"]
    assert str(ds.PatientName) == YAMADA


def test_findscu_reads_the_iso_2022_ir_87_answer(dicom, transactional_db):
    schedule(name="Yamada^Tarou", ideographic="山田^太郎", phonetic="やまだ^たろう")
    register("JPMR", JAPANESE)
    request = Dataset()
    request.SpecificCharacterSet = ["", "ISO 2022 IR 87"]
    request.PatientName = "=山田^太郎"
    key = b"PatientName=" + request["PatientName"].value.encode(["iso8859", "iso2022_jp"])
    responses, proc = findscu(dicom, ["SpecificCharacterSet=\\ISO 2022 IR 87", key], calling_ae="JPMR")
    assert proc.returncode == 0, proc.stderr
    assert len(responses) == 1
    assert b"\x1b$B" in responses[0].get_item("PatientName").value  # JIS X 0208 escape, as sent
    assert str(responses[0].PatientName) == YAMADA


def test_groups_a_set_cannot_carry_are_dropped_and_accents_stripped(dicom, transactional_db):
    schedule(name="DVOŘÁK^ANTONÍN", ideographic="德沃夏克")
    register("OLDCT", "ISO_IR 100")
    ds = identifiers(mwl_find(dicom, mwl_identifier({"PatientName": ""}), calling_ae="OLDCT"))[0]
    assert ds.SpecificCharacterSet == "ISO_IR 100"
    assert str(ds.PatientName) == "DVORÁK^ANTONÍN"


def test_ascii_modality_gets_question_marks_for_letters_without_a_base(dicom, transactional_db):
    schedule(name="ŁUKASZ^ANNA")
    register("ASCIICT", "")
    ds = identifiers(mwl_find(dicom, mwl_identifier({"PatientName": ""}), calling_ae="ASCIICT"))[0]
    assert str(ds.PatientName) == "?UKASZ^ANNA"
