import io

import pytest
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pynetdicom.dsutils import decode, encode

from worklist.keys import IdentifierMismatch, UndecodableKey, check_identifier
from worklist.matching import InvalidKey
from worklist.query import unsupported_keys


def identifier(**top) -> tuple[Dataset, Dataset]:
    ds, item = Dataset(), Dataset()
    for keyword, value in top.items():
        setattr(ds, keyword, value)
    return ds, item


def test_supported_return_and_matching_keys_are_not_flagged():
    ds, item = identifier(PatientName="DOE*", PatientBirthDate="", SpecificCharacterSet="ISO_IR 192")
    item.Modality = "CT"
    assert unsupported_keys(ds, item) == []


def test_unknown_keys_and_values_on_return_only_keys_are_flagged():
    ds, item = identifier(PatientWeight="", PatientBirthDate="19700101")
    item.ScheduledProcedureStepEndDate = ""
    assert unsupported_keys(ds, item) == [
        "PatientBirthDate",
        "PatientWeight",
        "ScheduledProcedureStepSequence/ScheduledProcedureStepEndDate",
    ]


# --- keys checked against their VR before any database work (worklist/keys.py)


def received(ds: Dataset, *, implicit: bool = True) -> Dataset:
    """The identifier as the SCP gets it: decoded lazily from the bytes sent."""
    return decode(io.BytesIO(encode(ds, implicit, True)), implicit, True, False)


def test_a_modalitys_usual_identifier_passes():
    ds, item = identifier(PatientName="DOE*", PatientID="", PatientBirthDate="", SpecificCharacterSet="ISO_IR 192")
    item.ScheduledStationAETitle, item.ScheduledProcedureStepStartDate = "CT01", "20261126-20261127"
    ds.ScheduledProcedureStepSequence = [item]
    check_identifier(received(ds))


@pytest.mark.parametrize(
    "keyword, value",
    [("PatientID", "1" * 65), ("AccessionNumber", "A" * 17), ("PatientName", "A=B=C=D"), ("PatientSex", "X" * 17)],
)
@pytest.mark.filterwarnings("ignore::UserWarning")  # pydicom warns the sender too
def test_values_longer_than_their_vr_are_invalid_keys(keyword, value):
    ds, _ = identifier(**{keyword: value})
    with pytest.raises(InvalidKey):
        check_identifier(received(ds))


def test_bytes_that_are_not_utf_8_are_undecodable():
    ds, _ = identifier(SpecificCharacterSet="ISO_IR 192")
    ds.add(DataElement(0x00100010, "PN", b"M\xc3(LLER"))
    with pytest.raises(UndecodableKey):
        check_identifier(received(ds, implicit=False))


def test_a_step_sequence_as_text_is_an_identifier_mismatch():
    ds, _ = identifier()
    ds.add(DataElement(0x00400100, "LO", "CT01"))
    for implicit in (True, False):
        with pytest.raises(IdentifierMismatch):
            check_identifier(received(ds, implicit=implicit))
