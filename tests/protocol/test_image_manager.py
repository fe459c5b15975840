"""The Image Manager side of the scheduled workflow, over the real doors:
orders in over MLLP, Procedure Scheduled / Update (RAD-4, RAD-13) out to a
PACS stand-in that validates with hl7apy, and Instance Availability
Notifications (RAD-49) in from pynetdicom."""

import pytest
from pydicom.uid import generate_uid

from ris.models import (
    AvailableInstance,
    Destination,
    Discrepancy,
    ImagingOrder,
    InstanceNotification,
    OutboundMessage,
    ScheduledProcedureStep,
)
from ris.services.outbox import outbox_deliver
from tests.hl7_builders import adt, orm_control, orm_new_order
from tests.ian_scu import notification, send_ian
from tests.mpps_scu import MppsScu, final, in_progress, scheduled_item
from tests.peers import MllpClient, ack_segments
from tests.strict_ehr import StrictEhr

STUDY_UID = "1.2.826.0.1.3680043.8.498.7001"


@pytest.fixture
def pacs():
    server = StrictEhr()
    yield server
    server.stop()


def _image_manager(port: int, version: str = "2.5.1", events: list[str] | None = None) -> Destination:
    return Destination.objects.create(
        name="PACS",
        kind=Destination.Kind.HL7_MLLP,
        role=Destination.Role.IMAGE_MANAGER,
        host="127.0.0.1",
        port=port,
        hl7_version=version,
        events=events or [],
        timeout_seconds=5,
        receiving_application="PACS",
        receiving_facility="RAD",
    )


def _send(port: int, *messages: str) -> None:
    with MllpClient(port) as client:
        for text in messages:
            ack = client.exchange(text)
            assert ack_segments(ack)["MSA"][1] == "AA", ack


def _segment(message: str, name: str) -> list[str]:
    return next(line for line in message.split("\r") if line.startswith(name)).split("|")


def _delivered(pacs: StrictEhr, destination: Destination) -> list[str]:
    outbox_deliver(destination_id=destination.pk)
    assert pacs.refused == []
    return pacs.received


def test_new_order_reaches_the_pacs_as_procedure_scheduled_omi_o23(mllp, pacs):
    destination = _image_manager(pacs.port)
    _send(mllp.port, orm_new_order("ORD1", study_uid=STUDY_UID))
    [received] = _delivered(pacs, destination)
    assert _segment(received, "MSH")[8] == "OMI^O23^OMI_O23"
    assert _segment(received, "ORC")[1] == "NW" and _segment(received, "ORC")[5] == "SC"
    ipc = _segment(received, "IPC")
    assert ipc[1:6] == ["ACC1001", "RP1001", STUDY_UID, "SPS1001", "CT"]
    assert _segment(received, "PID")[3].startswith("PAT1001")
    assert OutboundMessage.objects.get(destination=destination).status == OutboundMessage.Status.ACKED


def test_change_and_cancel_reach_a_v231_pacs_as_procedure_update_orm_xo_then_ca(mllp, pacs):
    destination = _image_manager(pacs.port, version="2.3.1")
    _send(mllp.port, orm_new_order("ORD1", study_uid=STUDY_UID))
    _send(mllp.port, orm_control("ORD2", "XO", orc={7: "^^^20261127090000^^R"}, obr={4: "CTHEAD^CT Head^LOCAL"}))
    _send(mllp.port, orm_control("ORD3", "CA"))
    received = _delivered(pacs, destination)
    assert [_segment(m, "ORC")[1] for m in received] == ["NW", "XO", "CA"]
    assert all(_segment(m, "MSH")[8] == "ORM^O01" for m in received)
    assert _segment(received[1], "ORC")[7].split("^")[3].startswith("20261127090000")
    assert _segment(received[2], "ORC")[5] == "CA"
    assert _segment(received[0], "ZDS")[1].split("^")[0] == STUDY_UID


def test_patient_update_reaches_the_pacs_as_procedure_update_of_the_open_order(mllp, pacs):
    destination = _image_manager(pacs.port)
    _send(mllp.port, orm_new_order("ORD1", study_uid=STUDY_UID))
    _send(mllp.port, adt("ADT1", "A08", pid={3: "PAT1001^^^HOSP", 5: "MUELLER^JOHANN", 7: "19700215", 8: "M"}))
    received = _delivered(pacs, destination)
    assert [_segment(m, "ORC")[1] for m in received] == ["NW", "XO"]
    assert _segment(received[1], "PID")[5].startswith("MUELLER^JOHANN")


def test_an_ehr_destination_never_receives_the_procedure_messages(mllp, pacs):
    ehr = Destination.objects.create(name="EHR", kind=Destination.Kind.HL7_MLLP, host="127.0.0.1", port=pacs.port)
    _send(mllp.port, orm_new_order("ORD1", study_uid=STUDY_UID))
    assert not OutboundMessage.objects.filter(destination=ehr, event="procedure").exists()


def test_ian_from_an_archive_completes_the_step_without_mpps(mllp, dicom):
    _send(mllp.port, orm_new_order("ORD1", study_uid=STUDY_UID))
    assert send_ian(dicom, notification(STUDY_UID, images=3)) == 0x0000
    step = ScheduledProcedureStep.objects.get(sps_id="SPS1001")
    assert step.status == "COMPLETED"
    assert ImagingOrder.objects.get(accession_number="ACC1001").status == "COMPLETED"
    assert AvailableInstance.objects.filter(step=step, availability="ONLINE").count() == 3
    assert InstanceNotification.objects.get().match == InstanceNotification.Match.MATCHED
    assert not Discrepancy.objects.exists()


def test_ian_while_the_mpps_is_in_progress_leaves_the_step_to_the_mpps(mllp, dicom):
    _send(mllp.port, orm_new_order("ORD1", study_uid=STUDY_UID))
    with MppsScu(dicom) as scu:
        scu.create(in_progress([scheduled_item(STUDY_UID, "ACC1001", "RP1001", "SPS1001")]), generate_uid())
    assert send_ian(dicom, notification(STUDY_UID)) == 0x0000
    assert ScheduledProcedureStep.objects.get(sps_id="SPS1001").status == "STARTED"


def test_ian_of_an_unknown_study_is_answered_success_and_waits_in_the_reconciliation_queue(dicom):
    unknown = generate_uid()
    assert send_ian(dicom, notification(unknown)) == 0x0000
    item = Discrepancy.objects.get()
    assert item.kind == Discrepancy.Kind.UNKNOWN_STUDY and item.is_open
    assert item.notification.study_instance_uid == unknown
    assert AvailableInstance.objects.filter(procedure__isnull=True).count() == 2


def test_ian_under_a_coerced_study_uid_waits_in_the_queue_naming_its_patient(mllp, dicom):
    _send(mllp.port, orm_new_order("ORD1", study_uid=STUDY_UID))
    mpps_uid = generate_uid()
    with MppsScu(dicom) as scu:
        scu.create(in_progress([scheduled_item(STUDY_UID, "ACC1001", "RP1001", "SPS1001")]), mpps_uid)
    assert send_ian(dicom, notification(generate_uid(), mpps_uids=(mpps_uid,))) == 0x0000
    item = Discrepancy.objects.get()
    assert item.kind == Discrepancy.Kind.COERCED_UID
    assert item.patient.patient_id == "PAT1001"
    assert ScheduledProcedureStep.objects.get(sps_id="SPS1001").status == "STARTED"


def test_ian_without_study_uid_is_refused_missing_attribute_and_records_nothing(dicom):
    ds = notification(generate_uid())
    del ds.StudyInstanceUID
    assert send_ian(dicom, ds) == 0x0120
    assert not InstanceNotification.objects.exists()


def test_ian_naming_its_mpps_records_the_images_under_the_step_that_mpps_performed(mllp, dicom):
    _send(mllp.port, orm_new_order("ORD1", study_uid=STUDY_UID))
    mpps_uid = generate_uid()
    with MppsScu(dicom) as scu:
        scu.create(in_progress([scheduled_item(STUDY_UID, "ACC1001", "RP1001", "SPS1001")]), mpps_uid)
        assert scu.set(mpps_uid, final())[0].Status == 0x0000
    assert send_ian(dicom, notification(STUDY_UID, mpps_uids=(mpps_uid,))) == 0x0000
    step = ScheduledProcedureStep.objects.get(sps_id="SPS1001")
    assert step.status == "COMPLETED"
    assert AvailableInstance.objects.filter(step=step).count() == 2
    assert not Discrepancy.objects.exists()


def test_an_image_manager_enabled_while_a_connection_is_open_hears_of_its_next_order(mllp, pacs):
    destination = _image_manager(pacs.port)
    Destination.objects.filter(pk=destination.pk).update(enabled=False)
    with MllpClient(mllp.port) as client:
        assert ack_segments(client.exchange(orm_new_order("ORD20", placer="PL20", accession="A20")))["MSA"][1] == "AA"
        Destination.objects.filter(pk=destination.pk).update(enabled=True)
        second = orm_new_order("ORD21", placer="PL21", accession="A21").replace("SPS1001", "SPS1002")
        assert ack_segments(client.exchange(second.replace("RP1001", "RP1002")))["MSA"][1] == "AA"
    [received] = _delivered(pacs, destination)
    assert _segment(received, "ORC")[2].startswith("PL21")
