"""Who may change an MPPS, what an unregistered AE's MPPS does, and how much
of a data set is kept (PS3.4 F.7.2; statuses of PS3.7 C.5). pynetdicom is
the MPPS SCU; dcmtk's findscu is the modality whose worklist must keep working."""

from __future__ import annotations

import json

import pytest
from pydicom.uid import generate_uid

from ris.models import PerformedProcedureStep, QuarantinedMpps, ScheduledProcedureStep
from ris.records import OrderData, PatientData, ProcedureData, StepData
from ris.services.orders import order_place
from ris.services.stations import station_add
from tests.factories import TEST_ACTOR
from tests.mpps_scu import MppsScu, final, in_progress, scheduled_item
from tests.peers import findscu
from worklist.registry import modality_register

pytestmark = pytest.mark.slow

STUDY_UID = "1.2.826.0.1.3680043.8.498.7001"
NOT_AUTHORISED, RESOURCE_LIMITATION = 0x0124, 0x0213


@pytest.fixture
def order(transactional_db):
    step = StepData(sps_id="SPS7001", modality="CT", station_ae_title="CT01")
    return order_place(
        actor=TEST_ACTOR,
        patient=PatientData(patient_id="PAT7001", name="DOE^JANE"),
        order=OrderData(
            placer_number="PL7001",
            accession_number="ACC7001",
            procedures=[ProcedureData(requested_procedure_id="RP7001", study_instance_uid=STUDY_UID, steps=[step])],
        ),
    )


def _item():
    return scheduled_item(STUDY_UID, "ACC7001", "RP7001", "SPS7001")


def _step() -> ScheduledProcedureStep:
    return ScheduledProcedureStep.objects.get(sps_id="SPS7001")


def worklist_of_ct01(port: int) -> list[str]:
    """The step IDs dcmtk's findscu gets as station CT01; asserts the C-FIND succeeded."""
    item = "ScheduledProcedureStepSequence[0]"
    responses, proc = findscu(port, [f"{item}.ScheduledStationAETitle=CT01", f"{item}.ScheduledProcedureStepID"])
    assert proc.returncode == 0, proc.stderr
    return [r.ScheduledProcedureStepSequence[0].ScheduledProcedureStepID for r in responses]


def _created_by_ct01(port: int) -> str:
    uid = generate_uid()
    with MppsScu(port, calling_ae="CT01") as scu:
        assert scu.create(in_progress([_item()]), uid)[0].Status == 0x0000
    return uid


def test_set_from_another_ae_is_refused_0124_and_changes_nothing(dicom, order):
    uid = _created_by_ct01(dicom)
    with MppsScu(dicom, calling_ae="INTRUDER") as scu:
        status, _ = scu.set(uid, final())
    assert status.Status == NOT_AUTHORISED
    assert "CT01" in status.ErrorComment
    assert PerformedProcedureStep.objects.get(sop_instance_uid=uid).status == "IN PROGRESS"
    assert _step().status == "STARTED"
    assert worklist_of_ct01(dicom) == []  # answered (the started step is off the worklist)
    with MppsScu(dicom, calling_ae="CT01") as scu:  # the creator still completes it
        assert scu.set(uid, final())[0].Status == 0x0000
    assert _step().status == "COMPLETED"


def test_set_from_an_ae_the_registry_allows_is_accepted(dicom, order):
    modality_register(ae_title="CT01", actor=TEST_ACTOR)
    modality_register(ae_title="MPPSMGR", actor=TEST_ACTOR, may_change_any_mpps=True)
    uid = _created_by_ct01(dicom)
    with MppsScu(dicom, calling_ae="MPPSMGR") as scu:
        assert scu.set(uid, final())[0].Status == 0x0000
    assert PerformedProcedureStep.objects.get(sop_instance_uid=uid).status == "COMPLETED"


def test_set_from_an_ae_of_the_same_station_is_accepted(dicom, order):
    station_add(actor=TEST_ACTOR, ae_title="CT01", modality="CT")
    modality_register(ae_title="CT01", actor=TEST_ACTOR)
    modality_register(ae_title="CT01CONSOLE", actor=TEST_ACTOR, station_ae_titles=("CT01",))
    uid = _created_by_ct01(dicom)  # performed on station CT01
    with MppsScu(dicom, calling_ae="CT01CONSOLE") as scu:
        assert scu.set(uid, final())[0].Status == 0x0000


def test_create_from_an_unregistered_ae_is_quarantined_and_applies_nothing(dicom, order):
    modality_register(ae_title="CT01", actor=TEST_ACTOR)
    assert worklist_of_ct01(dicom) == ["SPS7001"]
    uid = generate_uid()
    with MppsScu(dicom, calling_ae="ROGUE") as scu:
        status, _ = scu.create(in_progress([_item()]), uid)
        assert status.Status == 0x0000  # RIS_MPPS_QUARANTINE_ANSWER=success, the default
        assert scu.set(uid, final())[0].Status == 0x0000  # its changes join it there
    assert not PerformedProcedureStep.objects.exists()
    assert _step().status == "SCHEDULED"
    assert worklist_of_ct01(dicom) == ["SPS7001"]  # still on the station's worklist
    create, change = QuarantinedMpps.objects.order_by("received_at", "pk")
    assert (create.operation, change.operation) == ("N-CREATE", "N-SET")
    assert create.calling_ae_title == "ROGUE" and create.address == "127.0.0.1"
    assert create.sop_instance_uid == uid and "not in the modality registry" in create.reason
    assert create.dataset["00400253"]["Value"] == ["PPS1"]  # the attributes received


def test_create_from_an_unregistered_ae_can_be_refused_0124(dicom, order, settings):
    settings.RIS_MPPS_QUARANTINE_ANSWER = "refuse"
    modality_register(ae_title="CT01", actor=TEST_ACTOR)
    with MppsScu(dicom, calling_ae="ROGUE") as scu:
        status, _ = scu.create(in_progress([_item()]))
    assert status.Status == NOT_AUTHORISED
    assert QuarantinedMpps.objects.get().answered == "0124"
    assert _step().status == "SCHEDULED"
    assert worklist_of_ct01(dicom) == ["SPS7001"]


def test_with_an_empty_registry_every_ae_creates_its_mpps(dicom, order):
    _created_by_ct01(dicom)  # what `make run` gives: no registry entries, nothing quarantined
    assert _step().status == "STARTED"
    assert not QuarantinedMpps.objects.exists()


def test_an_oversized_data_set_is_refused_0213_and_nothing_is_stored(dicom, order, settings):
    settings.RIS_MPPS_MAX_DATASET_BYTES = 1024 * 1024
    ds = in_progress([_item()])
    ds.EncapsulatedDocument = b"\0" * (2 * 1024 * 1024)
    with MppsScu(dicom) as scu:
        status, _ = scu.create(ds)
    assert status.Status == RESOURCE_LIMITATION
    assert not PerformedProcedureStep.objects.exists()
    assert _step().status == "SCHEDULED"
    assert worklist_of_ct01(dicom) == ["SPS7001"]


def test_binary_and_outsized_elements_are_not_kept(dicom, order):
    ds = in_progress([_item()])
    ds.EncapsulatedDocument = b"\1" * (512 * 1024)  # OB
    ds.TextValue = "x" * (200 * 1024)  # UT over RIS_MPPS_MAX_ELEMENT_BYTES
    uid = generate_uid()
    with MppsScu(dicom) as scu:
        assert scu.create(ds, uid)[0].Status == 0x0000
    stored = PerformedProcedureStep.objects.get(sop_instance_uid=uid).dataset
    assert "00420011" not in stored and "0040A160" not in stored
    assert stored["00400253"]["Value"] == ["PPS1"] and "00400270" in stored
    assert len(json.dumps(stored)) < 20_000
