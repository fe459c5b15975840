"""The MPPS SCP (PS3.4 F.7) driven by pynetdicom as an independent SCU."""

import pytest
from pydicom.sequence import Sequence
from pydicom.tag import Tag
from pydicom.uid import generate_uid
from pynetdicom import evt
from pynetdicom.sop_class import ModalityPerformedProcedureStep

from ris.models import Destination, ImagingOrder, OutboundMessage, PerformedProcedureStep, ScheduledProcedureStep
from ris.records import OrderData, PatientData, ProcedureData, StepData
from ris.services.orders import order_place
from ris.services.outbox import outbox_build
from ris.services.steps import step_set_status
from tests.conftest import free_port
from tests.factories import TEST_ACTOR
from tests.mpps_scu import MppsScu, final, in_progress, scheduled_item, series_item
from tests.peers import findscu

pytestmark = pytest.mark.slow

STUDY_UID = "1.2.826.0.1.3680043.8.498.5001"


def _order(accession="ACC5001", procedures=None) -> ImagingOrder:
    step = StepData(sps_id="SPS5001", modality="CT", station_ae_title="CT01")
    procedures = procedures or [
        ProcedureData(requested_procedure_id="RP5001", study_instance_uid=STUDY_UID, steps=[step])
    ]
    return order_place(
        actor=TEST_ACTOR,
        patient=PatientData(patient_id="PAT5001", name="DOE^JANE"),
        order=OrderData(placer_number=f"PL{accession}", accession_number=accession, procedures=procedures),
    )


def _item(sps_id="SPS5001", study_uid=STUDY_UID, accession="ACC5001", rp_id="RP5001"):
    return scheduled_item(study_uid, accession, rp_id, sps_id)


def _tags(status) -> list[int]:
    """The N-SET-RSP Attribute Identifier List (0000,1005)."""
    value = status.get("AttributeIdentifierList", [])
    return [int(Tag(t)) for t in (value if hasattr(value, "__iter__") else [value])]


def _text(tag: int) -> str:
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def _step(sps_id="SPS5001") -> ScheduledProcedureStep:
    return ScheduledProcedureStep.objects.get(sps_id=sps_id)


def _open_worklist(port):
    responses, proc = findscu(port, ["PatientID=PAT5001", "ScheduledProcedureStepSequence[0].ScheduledProcedureStepID"])
    assert proc.returncode == 0, proc.stderr
    return [r.ScheduledProcedureStepSequence[0].ScheduledProcedureStepID for r in responses]


def test_in_progress_starts_the_linked_step_and_hides_it_from_the_worklist(dicom):
    order = _order()
    assert _open_worklist(dicom) == ["SPS5001"]
    uid = generate_uid()
    with MppsScu(dicom) as scu:
        status, _attributes = scu.create(in_progress([_item()]), uid)
    assert status.Status == 0x0000
    pps = PerformedProcedureStep.objects.get(sop_instance_uid=uid)
    assert list(pps.steps.all()) == [_step()] and not pps.unscheduled
    assert _step().status == "STARTED"
    order.refresh_from_db()
    assert order.status == "IN_PROGRESS"
    assert pps.dataset["00400253"]["Value"] == ["PPS1"]  # the whole dataset kept as DICOM JSON
    assert _open_worklist(dicom) == []


def test_create_with_a_status_other_than_in_progress_is_refused_0106(dicom):
    _order()
    ds = in_progress([_item()])
    ds.PerformedProcedureStepStatus = "COMPLETED"
    with MppsScu(dicom) as scu:
        status, _ = scu.create(ds)
    assert status.Status == 0x0106
    assert "(0040,0252)" in status.ErrorComment  # N-CREATE-RSP has no Attribute Identifier List
    assert not PerformedProcedureStep.objects.exists() and _step().status == "SCHEDULED"


@pytest.mark.parametrize(
    "keyword, tag",
    [
        ("PerformedStationAETitle", 0x00400241),  # type 1
        ("PerformedProcedureStepStartTime", 0x00400245),  # type 1
        ("PatientName", 0x00100010),  # type 2
        ("PerformedSeriesSequence", 0x00400340),  # type 2
    ],
)
def test_create_without_a_required_attribute_is_refused_0120_naming_it(dicom, keyword, tag):
    ds = in_progress([_item()])
    delattr(ds, keyword)
    with MppsScu(dicom) as scu:
        status, _ = scu.create(ds)
    assert status.Status == 0x0120
    assert status.ErrorComment == f"missing attribute {_text(tag)}"
    assert not PerformedProcedureStep.objects.exists()


def test_create_without_the_study_uid_of_a_scheduled_item_is_refused_0120(dicom):
    item = _item()
    del item.StudyInstanceUID
    with MppsScu(dicom) as scu:
        status, _ = scu.create(in_progress([item]))
    assert status.Status == 0x0120
    assert status.ErrorComment == "missing attribute (0020,000D)"


@pytest.mark.parametrize(
    "keyword, tag",
    [
        ("PerformedProcedureStepID", 0x00400253),
        ("Modality", 0x00080060),
    ],
)
def test_create_with_an_empty_type_1_value_is_refused_0121_naming_it(dicom, keyword, tag):
    ds = in_progress([_item()])
    setattr(ds, keyword, "")
    with MppsScu(dicom) as scu:
        status, _ = scu.create(ds)
    assert status.Status == 0x0121
    assert status.ErrorComment == f"missing value {_text(tag)}"


def test_create_with_an_empty_scheduled_step_sequence_is_refused_0121(dicom):
    ds = in_progress([])
    with MppsScu(dicom) as scu:
        status, _ = scu.create(ds)
    assert status.Status == 0x0121
    assert status.ErrorComment == "missing value (0040,0270)"


def test_create_of_an_existing_instance_is_refused_0111(dicom):
    _order()
    uid = generate_uid()
    with MppsScu(dicom) as scu:
        assert scu.create(in_progress([_item()]), uid)[0].Status == 0x0000
        status, _ = scu.create(in_progress([_item()], pps_id="OTHER"), uid)
    assert status.Status == 0x0111
    assert PerformedProcedureStep.objects.get().pps_id == "PPS1"


def test_set_of_an_unknown_instance_is_refused_0112(dicom):
    with MppsScu(dicom) as scu:
        status, _ = scu.set(generate_uid(), final())
    assert status.Status == 0x0112


def test_set_after_completed_is_refused_0110_a710_and_changes_nothing(dicom):
    _order()
    uid = generate_uid()
    with MppsScu(dicom) as scu:
        scu.create(in_progress([_item()]), uid)
        assert scu.set(uid, final())[0].Status == 0x0000
        before = PerformedProcedureStep.objects.get()
        status, _ = scu.set(uid, final("DISCONTINUED", series=3, PerformedProcedureStepDescription="changed"))
    assert status.Status == 0x0110
    assert status.ErrorID == 0xA710
    after = PerformedProcedureStep.objects.get()
    assert (after.status, after.description, after.performed_series, after.dataset) == (
        "COMPLETED",
        before.description,
        before.performed_series,
        before.dataset,
    )
    assert _step().status == "COMPLETED"


def test_set_after_discontinued_is_refused_0110_a710(dicom):
    _order()
    uid = generate_uid()
    with MppsScu(dicom) as scu:
        scu.create(in_progress([_item()]), uid)
        assert scu.set(uid, final("DISCONTINUED", reason="110503"))[0].Status == 0x0000
        status, _ = scu.set(uid, final())
    assert (status.Status, status.ErrorID) == (0x0110, 0xA710)
    assert PerformedProcedureStep.objects.get().status == "DISCONTINUED"


@pytest.mark.parametrize(
    "keyword, value, tag",
    [
        ("PatientID", "OTHER", 0x00100020),
        ("PerformedProcedureStepID", "PPS2", 0x00400253),
        ("PerformedStationAETitle", "CT02", 0x00400241),
        ("PerformedProcedureStepStartTime", "090000", 0x00400245),
        ("Modality", "MR", 0x00080060),
    ],
)
def test_set_that_changes_a_fixed_attribute_is_refused_0106_and_changes_nothing(dicom, keyword, value, tag):
    _order()
    uid = generate_uid()
    with MppsScu(dicom) as scu:
        scu.create(in_progress([_item()]), uid)
        change = final()
        setattr(change, keyword, value)
        status, _ = scu.set(uid, change)
    assert status.Status == 0x0106
    assert tag in _tags(status)
    assert PerformedProcedureStep.objects.get().status == "IN PROGRESS"
    assert _step().status == "STARTED"


def test_set_that_changes_the_scheduled_step_link_is_refused_0106(dicom):
    _order()
    uid = generate_uid()
    with MppsScu(dicom) as scu:
        scu.create(in_progress([_item()]), uid)
        status, _ = scu.set(uid, final(ScheduledStepAttributesSequence=Sequence([_item(sps_id="SPS9")])))
    assert status.Status == 0x0106
    assert _tags(status) == [0x00400270]


def test_set_that_repeats_fixed_attributes_unchanged_is_accepted(dicom):
    _order()
    uid = generate_uid()
    with MppsScu(dicom) as scu:
        scu.create(in_progress([_item()]), uid)
        status, _ = scu.set(
            uid,
            final(
                PatientID="PAT1001",
                PerformedStationAETitle="CT01",
                Modality="CT",
                PerformedProcedureStepStartDate="20261126",
                PerformedProcedureStepStartTime="143100",
                ScheduledStepAttributesSequence=Sequence([_item()]),
            ),
        )
    assert status.Status == 0x0000


def test_completing_without_performed_series_is_refused_0121_and_changes_nothing(dicom):
    _order()
    uid = generate_uid()
    with MppsScu(dicom) as scu:
        scu.create(in_progress([_item()]), uid)
        status, _ = scu.set(uid, final(series=0))
    assert status.Status == 0x0121
    assert _tags(status) == [0x00400340]
    pps = PerformedProcedureStep.objects.get()
    assert pps.status == "IN PROGRESS" and pps.end is None
    assert _step().status == "STARTED"


def test_completing_without_end_date_and_time_is_refused_0121(dicom):
    _order()
    uid = generate_uid()
    with MppsScu(dicom) as scu:
        scu.create(in_progress([_item()]), uid)
        change = final()
        del change.PerformedProcedureStepEndDate
        del change.PerformedProcedureStepEndTime
        status, _ = scu.set(uid, change)
    assert status.Status == 0x0121
    assert _tags(status) == [0x00400250, 0x00400251]


def test_a_performed_series_sequence_in_n_set_replaces_the_stored_one(dicom):
    _order()
    uid = generate_uid()
    with MppsScu(dicom) as scu:
        scu.create(in_progress([_item()]), uid)
        first = Sequence([series_item(), series_item()])
        second = Sequence([series_item(images=5)])
        assert scu.set(uid, final("IN PROGRESS", PerformedSeriesSequence=first))[0].Status == 0
        assert len(PerformedProcedureStep.objects.get().performed_series) == 2
        assert scu.set(uid, final("IN PROGRESS", PerformedSeriesSequence=second))[0].Status == 0
    pps = PerformedProcedureStep.objects.get()
    assert [s["series_instance_uid"] for s in pps.performed_series] == [second[0].SeriesInstanceUID]
    assert pps.performed_series[0]["images"] == 5
    assert len(pps.dataset["00400340"]["Value"]) == 1


def test_mpps_matching_no_step_is_accepted_and_flagged_unscheduled(dicom):
    _order()
    uid = generate_uid()
    with MppsScu(dicom) as scu:
        _status, _ = scu.create(in_progress([scheduled_item(generate_uid())], patient_id="WALKIN"), uid)
        assert scu.set(uid, final())[0].Status == 0x0000
    pps = PerformedProcedureStep.objects.get()
    assert pps.unscheduled and not pps.steps.exists()
    assert pps.status == "COMPLETED"
    assert _step().status == "SCHEDULED"


def test_grouped_mpps_covers_two_steps_and_completes_their_order(dicom):
    second_uid = "1.2.826.0.1.3680043.8.498.5002"
    order = _order(
        procedures=[
            ProcedureData(
                requested_procedure_id="RP5001",
                study_instance_uid=STUDY_UID,
                steps=[StepData(sps_id="SPS5001", modality="CT", station_ae_title="CT01")],
            ),
            ProcedureData(
                requested_procedure_id="RP5002",
                study_instance_uid=second_uid,
                steps=[StepData(sps_id="SPS5002", modality="CT", station_ae_title="CT01")],
            ),
        ]
    )
    uid = generate_uid()
    items = [_item(), _item(sps_id="SPS5002", study_uid=second_uid, rp_id="RP5002")]
    with MppsScu(dicom) as scu:
        assert scu.create(in_progress(items), uid)[0].Status == 0x0000
        assert {s.status for s in ScheduledProcedureStep.objects.all()} == {"STARTED"}
        assert scu.set(uid, final())[0].Status == 0x0000
    assert PerformedProcedureStep.objects.get().steps.count() == 2
    assert {s.status for s in ScheduledProcedureStep.objects.all()} == {"COMPLETED"}
    order.refresh_from_db()
    assert order.status == "COMPLETED"


def test_discontinued_as_wrong_worklist_entry_makes_the_step_selectable_again(dicom):
    Destination.objects.create(
        name="EHR", kind=Destination.Kind.HL7_MLLP, host="127.0.0.1", port=free_port(), events=["order_status"]
    )
    order = _order()
    uid = generate_uid()
    with MppsScu(dicom) as scu:
        scu.create(in_progress([_item()]), uid)
        assert _open_worklist(dicom) == []
        status, _ = scu.set(
            uid,
            final("DISCONTINUED", series=0, reason="110514", PerformedSeriesSequence=Sequence([series_item(images=0)])),
        )
    assert status.Status == 0x0000
    assert _step().status == "SCHEDULED"
    assert _open_worklist(dicom) == ["SPS5001"]
    order.refresh_from_db()
    assert order.status == "SCHEDULED"
    pps = PerformedProcedureStep.objects.get()
    assert (pps.status, pps.discontinuation_reason_value) == ("DISCONTINUED", "110514")
    built = [outbox_build(message=m) for m in OutboundMessage.objects.order_by("id")]  # as the worker will
    queued = [m.payload.split("ORC|")[1].split("|")[4] for m in built]
    assert queued == ["IP", "SC"]  # the EHR hears the order is scheduled again


def test_discontinued_keeps_its_reason_and_discontinues_the_step_and_order(dicom):
    order = _order()
    uid = generate_uid()
    with MppsScu(dicom) as scu:
        scu.create(in_progress([_item()]), uid)
        assert scu.set(uid, final("DISCONTINUED", reason="110503"))[0].Status == 0x0000
    pps = PerformedProcedureStep.objects.get()
    assert (pps.discontinuation_reason_value, pps.discontinuation_reason_scheme) == ("110503", "DCM")
    assert _step().status == "DISCONTINUED"
    order.refresh_from_db()
    assert order.status == "DISCONTINUED"


def test_dose_attributes_are_stored_when_present(dicom):
    _order()
    uid = generate_uid()
    dose = final(
        TotalTimeOfFluoroscopy=95,
        TotalNumberOfExposures=12,
        EntranceDoseInmGy="3.5",
        ImageAndFluoroscopyAreaDoseProduct="1.25",
    )
    dose.ExposureDoseSequence = Sequence([_exposure()])
    with MppsScu(dicom) as scu:
        scu.create(in_progress([_item()]), uid)
        assert scu.set(uid, dose)[0].Status == 0x0000
    pps = PerformedProcedureStep.objects.get()
    assert (pps.fluoroscopy_time_seconds, pps.exposure_count) == (95, 12)
    assert (pps.entrance_dose_mgy, pps.area_dose_product) == (3.5, 1.25)
    assert pps.exposure_dose[0]["00180060"]["Value"] == [120.0]


def _exposure():
    from pydicom.dataset import Dataset

    item = Dataset()
    item.KVP = "120"
    item.XRayTubeCurrentInuA = "200000"
    item.RadiationMode = "CONTINUOUS"
    return item


def test_mpps_for_a_cancelled_step_is_refused_0110_with_the_reason(dicom):
    _order()
    step_set_status(actor=TEST_ACTOR, step=_step(), status="CANCELED")
    with MppsScu(dicom) as scu:
        status, _ = scu.create(in_progress([_item()]))
    assert status.Status == 0x0110
    assert "CANCELED" in status.ErrorComment
    assert not PerformedProcedureStep.objects.exists()
    assert _step().status == "CANCELED"


def test_create_without_an_instance_uid_gets_one_assigned_and_returned(dicom):
    _order()
    received = []
    with MppsScu(dicom) as scu:
        scu.assoc.bind(evt.EVT_DIMSE_RECV, lambda event: received.append(event.message.command_set))
        status, _ = scu.assoc.send_n_create(in_progress([_item()]), ModalityPerformedProcedureStep, None)
    assert status.Status == 0x0000
    assert received[-1].AffectedSOPInstanceUID == PerformedProcedureStep.objects.get().sop_instance_uid


def test_set_with_an_unknown_status_is_refused_0106_naming_it(dicom):
    _order()
    uid = generate_uid()
    with MppsScu(dicom) as scu:
        scu.create(in_progress([_item()]), uid)
        status, _ = scu.set(uid, final("FINISHED"))
    assert status.Status == 0x0106
    assert _tags(status) == [0x00400252]
    assert PerformedProcedureStep.objects.get().status == "IN PROGRESS"


def test_set_with_a_performed_series_item_without_its_uid_is_refused_0120_naming_it(dicom):
    _order()
    uid = generate_uid()
    change = final()
    del change.PerformedSeriesSequence[0].SeriesInstanceUID
    with MppsScu(dicom) as scu:
        scu.create(in_progress([_item()]), uid)
        status, _ = scu.set(uid, change)
    assert status.Status == 0x0120
    assert _tags(status) == [0x0020000E]


def test_set_with_an_invalid_end_time_is_refused_0106_naming_it(dicom):
    _order()
    uid = generate_uid()
    with pytest.warns(UserWarning, match="Invalid value for VR TM"):  # pydicom, building the bad value
        change = final(PerformedProcedureStepEndTime="256199")
    with MppsScu(dicom) as scu:
        scu.create(in_progress([_item()]), uid)
        status, _ = scu.set(uid, change)
    assert status.Status == 0x0106
    assert _tags(status) == [0x00400250, 0x00400251]


def test_start_and_end_are_read_in_the_site_time_zone(dicom, site_zone):
    _order()
    uid = generate_uid()
    with MppsScu(dicom) as scu:
        scu.create(in_progress([_item()]), uid)
        scu.set(uid, final())
    pps = PerformedProcedureStep.objects.get()
    assert pps.start.isoformat() == "2026-11-26T13:31:00+00:00"  # 14:31 in Berlin
    assert pps.end.isoformat() == "2026-11-26T13:45:00+00:00"


def test_an_mpps_is_in_the_audit_trail_as_the_modality_changing_the_patients_exam(dicom):
    from ris.models import AuditEvent

    _order()
    with MppsScu(dicom, calling_ae="CT01") as scu:
        status, _ = scu.create(in_progress([_item()]))
    assert status.Status == 0x0000
    event = AuditEvent.objects.get(door=AuditEvent.Door.DICOM)
    assert (event.action, event.actor, event.patient.patient_id) == ("CREATE", "CT01", "PAT5001")


def test_an_mpps_update_is_audited_with_the_calling_ae_and_its_address(dicom):
    from ris.models import AuditEvent

    _order()
    uid = generate_uid()
    with MppsScu(dicom, calling_ae="CT01") as scu:
        scu.create(in_progress([_item()]), uid)
        status, _ = scu.set(uid, final())
    assert status.Status == 0x0000
    created, changed = AuditEvent.objects.filter(door=AuditEvent.Door.DICOM).order_by("pk")
    assert (created.action, changed.action) == ("CREATE", "CHANGE")
    assert {(e.actor, e.address, e.patient.patient_id) for e in (created, changed)} == {
        ("CT01", "127.0.0.1", "PAT5001")
    }
    assert "MPPS COMPLETED" in changed.detail


def test_each_mpps_answer_is_counted_by_its_outcome(dicom):
    from prometheus_client import REGISTRY

    def counted(status: str) -> float:
        return REGISTRY.get_sample_value("ris_mpps_total", {"status": status}) or 0.0

    _order()
    accepted, refused = counted("IN PROGRESS"), counted("0x0106")
    with MppsScu(dicom) as scu:
        scu.create(in_progress([_item()]), generate_uid())
        ds = in_progress([_item()])
        ds.PerformedProcedureStepStatus = "COMPLETED"
        scu.create(ds)
    assert (counted("IN PROGRESS"), counted("0x0106")) == (accepted + 1, refused + 1)
