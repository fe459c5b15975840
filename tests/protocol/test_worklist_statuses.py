"""Statuses and return keys of the worklist (PS3.4 K.4.1.1.4, Table K.6-1)."""

import time

import pytest
from pydicom.dataset import Dataset
from pynetdicom.sop_class import ModalityWorklistInformationFind

from tests.peers import findscu
from tests.worklist_builders import schedule
from tests.worklist_peers import client_ae, identifiers, mwl_find, mwl_identifier, statuses
from worklist import encoding
from worklist.response import ResponsePlan

pytestmark = pytest.mark.slow

SPS = "ScheduledProcedureStepSequence[0]"


def sps_ids(responses) -> list[str]:
    return [ds.ScheduledProcedureStepSequence[0].ScheduledProcedureStepID for ds in identifiers(responses)]


@pytest.fixture
def steps_in_every_status(transactional_db):
    for status in ("SCHEDULED", "ARRIVED", "READY", "STARTED", "COMPLETED", "DISCONTINUED", "CANCELED"):
        schedule(sps_id=status[:8], status=status)


def test_started_and_ended_steps_are_hidden_unless_the_status_key_asks(dicom, steps_in_every_status):
    shown = sps_ids(mwl_find(dicom, mwl_identifier(step={"ScheduledProcedureStepID": ""})))
    assert sorted(shown) == ["ARRIVED", "READY", "SCHEDULE"]
    for status in ("STARTED", "COMPLETED", "DISCONTINUED", "CANCELED"):
        asked = mwl_identifier(step={"ScheduledProcedureStepID": "", "ScheduledProcedureStepStatus": status})
        assert sps_ids(mwl_find(dicom, asked)) == [status[:8]]


def test_findscu_sees_completed_steps_only_when_asking_for_them(dicom, steps_in_every_status):
    hidden, _ = findscu(dicom, ["PatientName", f"{SPS}.ScheduledProcedureStepID"])
    asked, _ = findscu(dicom, [f"{SPS}.ScheduledProcedureStepStatus=COMPLETED", f"{SPS}.ScheduledProcedureStepID"])
    assert "COMPLETED" not in [r.ScheduledProcedureStepSequence[0].ScheduledProcedureStepID for r in hidden]
    assert [r.ScheduledProcedureStepSequence[0].ScheduledProcedureStepID for r in asked] == ["COMPLETE"]


def test_one_pending_ff00_per_step_then_success(dicom, transactional_db):
    schedule(sps_id="S1")
    schedule(sps_id="S2")
    responses = mwl_find(dicom, mwl_identifier({"PatientName": ""}, {"ScheduledProcedureStepID": ""}))
    assert statuses(responses) == [0xFF00, 0xFF00, 0x0000]
    assert responses[-1][1] is None
    assert all(len(ds.ScheduledProcedureStepSequence) == 1 for ds in identifiers(responses))


def test_nothing_matching_is_answered_with_success_alone(dicom, transactional_db):
    schedule(sps_id="S1")
    responses = mwl_find(dicom, mwl_identifier({"PatientID": "NOBODY"}))
    assert responses == [(0x0000, None)]


def test_unsupported_optional_key_gives_ff01(dicom, transactional_db):
    schedule(sps_id="S1")
    responses = mwl_find(dicom, mwl_identifier({"PatientWeight": "", "PatientID": ""}))
    assert statuses(responses) == [0xFF01, 0x0000]
    assert "PatientWeight" in identifiers(responses)[0]  # returned, zero-length


def test_return_only_key_with_a_value_gives_ff01(dicom, transactional_db):
    schedule(sps_id="S1")  # birth date is returned, not matched
    responses = mwl_find(dicom, mwl_identifier({"PatientBirthDate": "19700101"}))
    assert statuses(responses) == [0xFF01, 0x0000]


def test_response_holds_exactly_the_requested_keys_and_the_character_set(dicom, transactional_db):
    schedule(sps_id="S1", accession="ACC1")
    asked = mwl_identifier({"PatientID": "", "AccessionNumber": ""}, {"Modality": "", "ScheduledProcedureStepID": ""})
    (status, ds), _ = mwl_find(dicom, asked)
    assert status == 0xFF00
    assert sorted(ds.dir()) == [
        "AccessionNumber",
        "PatientID",
        "ScheduledProcedureStepSequence",
        "SpecificCharacterSet",
    ]
    assert sorted(ds.ScheduledProcedureStepSequence[0].dir()) == ["Modality", "ScheduledProcedureStepID"]


def test_type_1_keys_are_never_empty(dicom, transactional_db):
    schedule(sps_id="S1", name="", station="")  # unassigned station, nameless patient
    asked = mwl_identifier(
        {"PatientName": "", "PatientID": "", "StudyInstanceUID": "", "RequestedProcedureID": ""},
        {
            "ScheduledStationAETitle": "",
            "ScheduledProcedureStepStartDate": "",
            "ScheduledProcedureStepStartTime": "",
            "Modality": "",
            "ScheduledProcedureStepID": "",
        },
    )
    ds = identifiers(mwl_find(dicom, asked, calling_ae="CT09"))[0]
    item = ds.ScheduledProcedureStepSequence[0]
    assert str(ds.PatientName) == "UNKNOWN"
    assert item.ScheduledStationAETitle == "CT09"
    for value in (
        ds.PatientID,
        ds.StudyInstanceUID,
        ds.RequestedProcedureID,
        item.ScheduledProcedureStepStartDate,
        item.ScheduledProcedureStepStartTime,
        item.Modality,
        item.ScheduledProcedureStepID,
    ):
        assert value


def test_type_2_keys_without_a_value_are_returned_zero_length(dicom, transactional_db):
    schedule(sps_id="S1")
    ds = identifiers(mwl_find(dicom, mwl_identifier({"PatientBirthDate": "", "ReferringPhysicianName": ""})))[0]
    assert "PatientBirthDate" in ds and ds.PatientBirthDate == ""
    assert "ReferringPhysicianName" in ds and ds.ReferringPhysicianName == ""


def test_query_retrieve_identifier_is_refused_a900_without_identifier(dicom, transactional_db):
    schedule(sps_id="S1")
    responses = mwl_find(dicom, mwl_identifier({"QueryRetrieveLevel": "STUDY", "PatientID": ""}))
    assert responses == [(0xA900, None)]


def test_two_step_items_are_refused_a900(dicom, transactional_db):
    schedule(sps_id="S1")
    identifier = mwl_identifier(step={"Modality": "CT"})
    identifier.ScheduledProcedureStepSequence.append(identifier.ScheduledProcedureStepSequence[0])
    assert mwl_find(dicom, identifier) == [(0xA900, None)]


@pytest.mark.filterwarnings("ignore:Invalid value for VR DA")
def test_bad_date_is_refused_c000_without_identifier(dicom, transactional_db):
    schedule(sps_id="S1")
    responses = mwl_find(dicom, mwl_identifier(step={"ScheduledProcedureStepStartDate": "2026XX26"}))
    assert responses == [(0xC000, None)]


def test_findscu_sees_unable_to_process_for_a_bad_date(dicom, transactional_db):
    _, proc = findscu(dicom, [f"{SPS}.ScheduledProcedureStepStartDate=2026XX26"], extra=["-v"])
    assert "received final find response (failed: unabletoprocess)" in (proc.stdout + proc.stderr).lower()


@pytest.fixture
def long_worklist(transactional_db, monkeypatch):
    """50 steps, each answered 20 ms apart, so that a C-CANCEL sent after the
    first response arrives while the stream still runs."""
    for n in range(50):
        schedule(sps_id=f"L{n}", patient_id=f"P{n}")
    build, encode_row = ResponsePlan.build, encoding.encode_row

    def slow_build(self, row, context):
        time.sleep(0.02)
        return build(self, row, context)

    def slow_encode_row(plan, row, context, **options):
        time.sleep(0.02)
        return encode_row(plan, row, context, **options)

    monkeypatch.setattr(ResponsePlan, "build", slow_build)
    monkeypatch.setattr(encoding, "encode_row", slow_encode_row)


def test_c_cancel_stops_the_stream_with_fe00(dicom, long_worklist):
    assoc = client_ae().associate("127.0.0.1", dicom, ae_title="RIS")
    context_id = assoc.accepted_contexts[0].context_id
    received = []
    for status, _ds in assoc.send_c_find(mwl_identifier({"PatientID": ""}), ModalityWorklistInformationFind, msg_id=7):
        received.append(status.Status)
        if len(received) == 1:
            assoc.send_c_cancel(7, context_id)
    assoc.release()
    assert received[-1] == 0xFE00
    assert len(received) < 51


def test_findscu_cancel_after_one_response_gets_fe00(dicom, long_worklist):
    responses, proc = findscu(dicom, ["PatientID"], extra=["--cancel", "1", "-v"])
    assert proc.returncode == 0, proc.stderr
    assert "cancel: matchingterminatedduetocancelrequest" in (proc.stdout + proc.stderr).lower()
    assert len(responses) < 50


def test_code_sequence_item_keys_return_only_those_keys(dicom, transactional_db):
    schedule(sps_id="S1", code=("CTHEAD", "L", "CT head"))
    code = Dataset()
    code.CodeValue = ""
    code.CodeMeaning = ""
    asked = mwl_identifier({"RequestedProcedureCodeSequence": [code], "PatientID": ""})
    responses = mwl_find(dicom, asked)
    assert statuses(responses) == [0xFF00, 0x0000]
    (item,) = identifiers(responses)[0].RequestedProcedureCodeSequence
    assert sorted(item.dir()) == ["CodeMeaning", "CodeValue"]
    assert (item.CodeValue, item.CodeMeaning) == ("CTHEAD", "CT head")


def test_zero_length_code_sequence_returns_the_whole_code(dicom, transactional_db):
    schedule(sps_id="S1", code=("CTHEAD", "L", "CT head"))
    responses = mwl_find(dicom, mwl_identifier({"RequestedProcedureCodeSequence": []}))
    (item,) = identifiers(responses)[0].RequestedProcedureCodeSequence
    assert (item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning) == ("CTHEAD", "L", "CT head")
