"""The spine: an ORM^O01 over MLLP, then the step in a findscu -W query."""

import pytest

from hl7.models import InboundMessage
from ris.models import ImagingOrder, Patient
from tests.hl7_builders import orm_new_order
from tests.peers import MllpClient, ack_segments, findscu

pytestmark = pytest.mark.slow

STUDY_UID = "1.2.826.0.1.3680043.8.498.1001"
RETURN_KEYS = [
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "AccessionNumber",
    "StudyInstanceUID",
    "RequestedProcedureID",
    "RequestedProcedureDescription",
    "ScheduledProcedureStepSequence[0].ScheduledStationAETitle",
    "ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartDate",
    "ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartTime",
    "ScheduledProcedureStepSequence[0].Modality",
    "ScheduledProcedureStepSequence[0].ScheduledProcedureStepID",
]


def test_orm_new_order_is_acked_aa_and_found_by_findscu(mllp, dicom, site_zone):
    message = orm_new_order("MSG0001", name="MÜLLER^HANS^P^^DR", charset="8859/1", study_uid=STUDY_UID)
    with MllpClient(mllp.port) as client:
        ack = client.exchange(message.encode("latin-1"))
    msa = ack_segments(ack)["MSA"]
    assert msa[1:3] == ["AA", "MSG0001"]

    responses, proc = findscu(
        dicom,
        [
            "ScheduledProcedureStepSequence[0].Modality=CT",
            "ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartDate=20261126",
            *RETURN_KEYS,
        ],
    )
    assert proc.returncode == 0, proc.stderr
    assert len(responses) == 1
    item = responses[0]
    step = item.ScheduledProcedureStepSequence[0]
    assert str(item.PatientName) == "MÜLLER^HANS^P^DR"
    assert item.PatientID == "PAT1001"
    assert item.PatientBirthDate == "19700215"
    assert item.PatientSex == "M"
    assert item.AccessionNumber == "ACC1001"
    assert item.StudyInstanceUID == STUDY_UID
    assert item.RequestedProcedureID == "RP1001"
    assert step.Modality == "CT"
    assert step.ScheduledStationAETitle == "CT01"
    assert step.ScheduledProcedureStepStartDate == "20261126"
    assert step.ScheduledProcedureStepStartTime == "143000"
    assert step.ScheduledProcedureStepID == "SPS1001"


def test_study_uid_and_accession_are_assigned_when_the_order_has_none(mllp, dicom, site_zone):
    with MllpClient(mllp.port) as client:
        ack = client.exchange(orm_new_order("MSG0002", accession=""))
    assert ack_segments(ack)["MSA"][1] == "AA"
    order = ImagingOrder.objects.get()
    uid = order.procedures.get().study_instance_uid
    assert order.accession_number and uid.startswith("2.25.")

    responses, proc = findscu(dicom, ["PatientID=PAT1001", "AccessionNumber", "StudyInstanceUID"])
    assert proc.returncode == 0, proc.stderr
    assert [(r.AccessionNumber, r.StudyInstanceUID) for r in responses] == [(order.accession_number, uid)]


def test_many_messages_on_one_connection_each_get_their_ack(mllp):
    with MllpClient(mllp.port) as client:
        for n in range(5):
            ack = client.exchange(orm_new_order(f"MSG1{n}", patient_id=f"P{n}", placer=f"PL{n}", accession=f"A{n}"))
            assert ack_segments(ack)["MSA"][1:3] == ["AA", f"MSG1{n}"]
    assert ImagingOrder.objects.count() == 5


def test_two_frames_in_one_write_and_a_frame_split_across_writes(mllp):
    first = b"\x0b" + orm_new_order("MSG21", placer="PL21", accession="A21").encode() + b"\x1c\x0d"
    second = b"\x0b" + orm_new_order("MSG22", placer="PL22", accession="A22").encode() + b"\x1c\x0d"
    third = b"\x0b" + orm_new_order("MSG23", placer="PL23", accession="A23").encode() + b"\x1c\x0d"
    with MllpClient(mllp.port) as client:
        client.send_raw(first + second + third[:40])
        assert ack_segments(client.read_ack())["MSA"][2] == "MSG21"
        assert ack_segments(client.read_ack())["MSA"][2] == "MSG22"
        client.send_raw(third[40:])
        assert ack_segments(client.read_ack())["MSA"][2] == "MSG23"


def test_resend_of_the_same_control_id_is_acked_and_not_applied_twice(mllp):
    message = orm_new_order("MSG31")
    with MllpClient(mllp.port) as client:
        first, second = client.exchange(message), client.exchange(message)
    assert ack_segments(first)["MSA"][1] == ack_segments(second)["MSA"][1] == "AA"
    assert ImagingOrder.objects.count() == 1
    assert InboundMessage.objects.filter(status=InboundMessage.Status.DUPLICATE).count() == 1
    assert Patient.objects.count() == 1


def test_an_applied_order_is_in_the_audit_trail_with_its_sender_and_patient(mllp):
    from ris.models import AuditEvent

    with MllpClient(mllp.port) as client:
        client.exchange(orm_new_order("AUD1"))
    event = AuditEvent.objects.get(door=AuditEvent.Door.HL7)
    # The order service records what it did: a new order is a CREATE.
    assert (event.actor, event.action, event.patient.patient_id) == ("EHR", "CREATE", "PAT1001")
    assert "AUD1" in event.detail
