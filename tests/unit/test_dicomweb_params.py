"""MWL-RS query parameters to the identifier a C-FIND carries (no database)."""

import pytest

from worklist.dicomweb.json import InvalidDicomJson, datasets_from_body
from worklist.dicomweb.negotiation import acceptable
from worklist.dicomweb.params import InvalidParameter, search_from_parameters

SPS = "ScheduledProcedureStepSequence"


def test_keywords_and_tags_set_the_same_keys():
    by_keyword = search_from_parameters([("PatientID", "P1"), (f"{SPS}.Modality", "CT")]).identifier
    by_tag = search_from_parameters([("00100020", "P1"), ("00400100.00080060", "CT")]).identifier
    assert by_keyword.PatientID == by_tag.PatientID == "P1"
    assert by_keyword[SPS][0].Modality == by_tag[SPS][0].Modality == "CT"


def test_every_returned_key_is_asked_zero_length_beside_the_matching_ones():
    identifier = search_from_parameters([("PatientName", "DOE*")]).identifier
    assert identifier.PatientName == "DOE*"
    assert identifier["AccessionNumber"].is_empty and identifier["StudyInstanceUID"].is_empty
    step = identifier[SPS][0]
    assert step["ScheduledStationAETitle"].is_empty and step["ScheduledProcedureStepStatus"].is_empty


def test_a_backslash_makes_a_list_of_uids():
    identifier = search_from_parameters([("StudyInstanceUID", "1.2.3\\1.2.4")]).identifier
    assert list(identifier.StudyInstanceUID) == ["1.2.3", "1.2.4"]


def test_includefield_adds_keys_and_paging_and_fuzzy_are_read():
    search = search_from_parameters(
        [("includefield", "PatientAge,00101030"), ("limit", "5"), ("offset", "10"), ("fuzzymatching", "true")]
    )
    assert "PatientAge" in search.identifier and "PatientWeight" in search.identifier
    assert (search.limit, search.offset, search.fuzzy_matching) == (5, 10, True)


@pytest.mark.parametrize(
    "parameters",
    [
        [("NotAKeyword", "1")],
        [("PatientID.Modality", "CT")],  # PatientID is no sequence
        [(SPS, "CT")],  # a sequence takes no value
        [("limit", "-1")],
        [("fuzzymatching", "maybe")],
    ],
)
def test_parameters_that_cannot_be_a_key_are_refused(parameters):
    with pytest.raises(InvalidParameter):
        search_from_parameters(parameters)


@pytest.mark.parametrize(
    "accept, expected",
    [
        ("", True),
        ("application/dicom+json", True),
        ("application/json, text/plain", True),
        ("*/*", True),
        ("application/dicom+xml", False),
        ('multipart/related; type="application/dicom+xml"', False),
        ("application/dicom+json;q=0", False),
    ],
)
def test_dicom_json_is_acceptable_only_when_asked_or_allowed(accept, expected):
    assert acceptable(accept) is expected


@pytest.mark.parametrize("body", [b"[1]", b'{"not-a-tag": {"vr": "LO"}}', b"\xff", b"{"])
def test_bodies_that_are_not_dicom_json_are_refused_with_a_reason(body):
    with pytest.raises(InvalidDicomJson):
        datasets_from_body(body)


def test_a_body_may_be_one_object_or_an_array():
    one = b'{"00100020": {"vr": "LO", "Value": ["P1"]}}'
    assert datasets_from_body(one)[0].PatientID == "P1"
    assert [ds.PatientID for ds in datasets_from_body(b"[" + one + b"," + one + b"]")] == ["P1", "P1"]
