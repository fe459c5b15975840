"""The HL7 writer's pieces: segments by field number, escaping, versions, names."""

import datetime as dt

import pytest
from django.test import override_settings

from hl7.er7 import Delimiters
from hl7.writer import SegmentBuilder, components, hl7_time, msh, pn_to_xcn, pn_to_xpn, version_at_least, xpn
from ris.names import PersonName


def test_fields_are_set_by_their_hl7_number_and_trailing_empty_ones_dropped():
    segment = SegmentBuilder("OBR").put(1, "1").set(4, "CT", "", "").set(7, "")
    assert segment.text() == "OBR|1|||CT"


def test_msh_numbering_starts_after_the_field_separator():
    assert SegmentBuilder("MSH").put(2, "^~\\&").put(3, "RIS").text() == "MSH|^~\\&|RIS"


def test_values_are_escaped_with_the_delimiters_of_the_message():
    d = Delimiters("#", "!", "~", "\\", "&")
    assert SegmentBuilder("NTE", d).set(3, "a#b", "c!d").text() == "NTE###a\\F\\b!c\\S\\d"
    assert components("O|BRIEN", "A^B") == "O\\F\\BRIEN^A\\S\\B"


@pytest.mark.parametrize(
    "version, minimum, expected",
    [
        ("2.3.1", "2.5", False),
        ("2.5", "2.5", True),
        ("2.5.1", "2.5", True),
        ("2.10", "2.5", True),
        ("2.4", "2.4", True),
    ],
)
def test_versions_compare_by_number(version, minimum, expected):
    assert version_at_least(version, minimum) is expected


def test_a_version_that_is_not_a_number_gets_the_current_forms():
    assert version_at_least("2.x", "2.5")


@override_settings(TIME_ZONE="Europe/Berlin")
def test_hl7_time_is_the_site_wall_clock_with_its_offset():
    assert hl7_time(dt.datetime(2026, 7, 1, 10, 0, tzinfo=dt.UTC)) == "20260701120000+0200"
    assert hl7_time(None) == ""


@override_settings(RIS_HL7_APPLICATION="RIS", RIS_HL7_FACILITY="RAD")
def test_msh_carries_sender_receiver_type_control_id_and_version():
    text = msh(message_type=("ORU", "R01"), control_id="C1", version="2.3.1", receiving_application=("EHR",)).text()
    fields = text.split("|")
    assert fields[:5] == ["MSH", "^~\\&", "RIS", "RAD", "EHR"]
    assert fields[8:12] == ["ORU^R01", "C1", "P", "2.3.1"]


def test_xpn_swaps_prefix_and_suffix_and_takes_the_alphabetic_group():
    assert pn_to_xpn("FAMILY^GIVEN^MIDDLE^PREFIX^SUFFIX=山田^太郎") == "FAMILY^GIVEN^MIDDLE^SUFFIX^PREFIX"
    assert pn_to_xcn("WHO^DOC=山田", "D1") == "D1^WHO^DOC"


def test_xpn_gives_the_ideographic_group_when_asked():
    assert xpn(PersonName.from_dicom("Yamada^Tarou=山田^太郎"), group="ideographic") == "山田^太郎"
