"""The fast response encoder gives what pydicom's writer gives."""

from io import BytesIO

import pytest
from pydicom.dataset import Dataset
from pynetdicom.dsutils import decode, encode

from worklist.encoding import encode_response


def _response(charset: str = "ISO_IR 192") -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = charset
    ds.PatientName = "MÜLLER^HANS"
    ds.PatientID = "P1"
    ds.PatientBirthDate = ""
    ds.StudyInstanceUID = "1.2.3"  # odd length: padded with NUL
    item = Dataset()
    item.ScheduledStationAETitle = "CT01"
    item.ScheduledProcedureStepStartTime = "093000"
    code = Dataset()
    code.CodeValue = "CTHEAD"
    code.CodeMeaning = "CT head"
    item.ScheduledProtocolCodeSequence = [code]
    ds.ScheduledProcedureStepSequence = [item]
    ds.ReferencedStudySequence = []
    return ds


@pytest.mark.parametrize("implicit", [True, False])
@pytest.mark.parametrize("charset", ["ISO_IR 192", "ISO_IR 100"])
def test_fast_encoding_decodes_to_the_same_data_set_as_pydicoms(implicit, charset):
    ds = _response(charset)
    fast = encode_response(ds, implicit=implicit)
    assert fast is not None and len(fast) % 2 == 0
    assert decode(BytesIO(fast), implicit, True) == decode(BytesIO(encode(ds, implicit, True)), implicit, True)


def test_iso_2022_is_left_to_pydicom():
    ds = _response()
    ds.SpecificCharacterSet = ["", "ISO 2022 IR 87"]
    assert encode_response(ds, implicit=True) is None


def test_a_binary_value_is_left_to_pydicom():
    ds = _response()
    ds.add_new(0x00091001, "OB", b"\x01\x02")
    assert encode_response(ds, implicit=False) is None


@pytest.mark.django_db
@pytest.mark.parametrize("charset", ["ISO_IR 192", "ISO_IR 100", ""])
@pytest.mark.parametrize("implicit", [True, False])
def test_a_row_encoded_from_the_plan_is_the_data_set_the_plan_builds(charset, implicit):
    from ris.selectors.worklist import worklist_rows
    from tests.worklist_builders import schedule
    from worklist.encoding import encode_row
    from worklist.response import Context, ResponsePlan

    schedule(sps_id="S1", name="DVOŘÁK^JAN", code=("CTHEAD", "L", "CT head"))
    asked = Dataset()
    asked.PatientName = ""
    asked.PatientID = ""
    asked.RequestedProcedureCodeSequence = []
    asked.ReferencedStudySequence = []
    asked.PatientWeight = ""  # not supported: zero-length
    asked.ScheduledProcedureStepSequence = [Dataset()]
    plan = ResponsePlan(asked, character_set=charset)
    (row,) = list(worklist_rows(__import__("django.db.models", fromlist=["Q"]).Q()))
    fast = encode_row(plan, row, Context("CT01"), implicit=implicit)
    assert fast is not None
    built = plan.build(row, Context("CT01"))
    assert decode(BytesIO(fast), implicit, True) == decode(BytesIO(encode(built, implicit, True)), implicit, True)


@pytest.mark.django_db
@pytest.mark.parametrize("charset", ["ISO_IR 192", "ISO_IR 100"])
@pytest.mark.parametrize("implicit", [True, False])
@pytest.mark.parametrize(
    "item_keys", [None, ["CodeValue"], ["CodeMeaning", "CodeValue", "CodingSchemeVersion"]], ids=["all", "one", "some"]
)
def test_a_code_sequence_encoded_once_for_many_rows_is_the_one_the_plan_builds(charset, implicit, item_keys):
    from django.db.models import Q

    from ris.selectors.worklist import worklist_rows
    from tests.worklist_builders import schedule
    from worklist.encoding import encode_row
    from worklist.response import Context, ResponsePlan

    schedule(sps_id="S1", code=("CTHEAD", "L", "Kopf ČT"))
    schedule(sps_id="S2", code=("CTHEAD", "L", "Kopf ČT"))
    schedule(sps_id="S3", code=("MRKNEE", "", ""))
    schedule(sps_id="S4")
    asked = Dataset()
    item = Dataset()
    for keyword in item_keys or ():
        setattr(item, keyword, "")
    asked.RequestedProcedureCodeSequence = [item] if item_keys else []
    plan = ResponsePlan(asked, character_set=charset)
    rows = list(worklist_rows(Q()))
    assert len(rows) == 4
    for row in rows:
        fast = encode_row(plan, row, Context("CT01"), implicit=implicit)
        built = plan.build(row, Context("CT01"))
        assert fast is not None
        assert decode(BytesIO(fast), implicit, True) == decode(BytesIO(encode(built, implicit, True)), implicit, True)
