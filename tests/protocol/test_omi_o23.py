"""OMI^O23 (v2.5.1, TQ1 + IPC) over MLLP: one step per IPC, found by findscu."""

import pytest

from ris.models import ImagingOrder, ScheduledProcedureStep
from tests.conftest import SAMPLES
from tests.hl7_builders import omi_order
from tests.peers import MllpClient, ack_segments, findscu

pytestmark = pytest.mark.slow

UID_A = "1.2.826.0.1.3680043.8.498.3001"
UID_B = "1.2.826.0.1.3680043.8.498.3002"


def _ipc(accession, rp_id, uid, sps_id, modality, station):
    return {
        1: accession,
        2: rp_id,
        3: uid,
        4: sps_id,
        5: modality,
        6: "PROT1^Knee protocol^LOCAL",
        7: "MRSTATION",
        8: "ROOM 3",
        9: station,
    }


def test_two_ipcs_of_one_procedure_make_two_steps_found_by_findscu(mllp, dicom, site_zone):
    text = omi_order(
        "OMI1",
        ipcs=[
            _ipc("ACC3001", "RP3001", UID_A, "SPS3001", "MR", "MR01"),
            _ipc("ACC3001", "RP3001", UID_A, "SPS3002", "MR", "MR02~MR03"),
        ],
    )
    with MllpClient(mllp.port) as client:
        assert ack_segments(client.exchange(text))["MSA"][1:3] == ["AA", "OMI1"]
    order = ImagingOrder.objects.get()
    assert (order.accession_number, order.priority) == ("ACC3001", "STAT")  # IPC-1, TQ1-9 S
    assert order.procedures.get().study_instance_uid == UID_A

    responses, proc = findscu(
        dicom,
        [
            "PatientID=PAT2001",
            "AccessionNumber",
            "StudyInstanceUID",
            "RequestedProcedureID",
            "ScheduledProcedureStepSequence[0].ScheduledProcedureStepID",
            "ScheduledProcedureStepSequence[0].ScheduledStationAETitle",
            "ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartTime",
            "ScheduledProcedureStepSequence[0].Modality",
        ],
    )
    assert proc.returncode == 0, proc.stderr
    found = sorted(
        (
            r.ScheduledProcedureStepSequence[0].ScheduledProcedureStepID,
            r.ScheduledProcedureStepSequence[0].ScheduledStationAETitle,
            r.ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartTime,
            r.StudyInstanceUID,
        )
        for r in responses
    )
    assert found == [("SPS3001", "MR01", "150000", UID_A), ("SPS3002", "MR02", "150000", UID_A)]


def test_ipcs_with_different_procedure_ids_make_two_procedures(mllp):
    text = omi_order(
        "OMI2",
        ipcs=[
            _ipc("ACC3101", "RP3101", UID_A, "SPS3101", "MR", "MR01"),
            _ipc("ACC3101", "RP3102", UID_B, "SPS3102", "CT", "CT01"),
        ],
    )
    with MllpClient(mllp.port) as client:
        assert ack_segments(client.exchange(text))["MSA"][1] == "AA"
    procedures = ImagingOrder.objects.get().procedures.order_by("requested_procedure_id")
    assert [(p.requested_procedure_id, p.study_instance_uid, p.steps.get().modality) for p in procedures] == [
        ("RP3101", UID_A, "MR"),
        ("RP3102", UID_B, "CT"),
    ]


def test_omi_cancel_cancels_every_step_of_the_order(mllp):
    ipcs = [_ipc("ACC3201", "RP3201", UID_A, f"SPS320{n}", "MR", "MR01") for n in (1, 2)]
    with MllpClient(mllp.port) as client:
        assert ack_segments(client.exchange(omi_order("OMI3", ipcs=ipcs)))["MSA"][1] == "AA"
        cancel = omi_order("OMI4", ipcs=ipcs, control="CA")
        assert ack_segments(client.exchange(cancel))["MSA"][1] == "AA"
    assert set(ScheduledProcedureStep.objects.values_list("status", flat=True)) == {"CANCELED"}


def test_omi_xo_moves_a_step_and_adds_none(mllp):
    ipcs = [_ipc("ACC3301", "RP3301", UID_A, "SPS3301", "MR", "MR01")]
    with MllpClient(mllp.port) as client:
        assert ack_segments(client.exchange(omi_order("OMI5", ipcs=ipcs)))["MSA"][1] == "AA"
        moved = [{**ipcs[0], 9: "MR02"}]
        change = omi_order("OMI6", ipcs=moved, control="XO", start="20261127080000")
        assert ack_segments(client.exchange(change))["MSA"][1] == "AA"
    step = ScheduledProcedureStep.objects.get()
    assert (step.sps_id, step.station_ae_title) == ("SPS3301", "MR02")
    assert step.start.isoformat().startswith("2026-11-27T08:00")


def test_dcm4che_veterinary_sample_is_applied_with_its_ipc_fields(mllp):
    with MllpClient(mllp.port) as client:
        ack = ack_segments(client.exchange((SAMPLES / "dcm4che_OMI_O23_veterinary_v251.hl7").read_bytes()))
    assert ack["MSA"][1:3] == ["AA", "100112"]
    order = ImagingOrder.objects.get()
    step = ScheduledProcedureStep.objects.get()
    assert (order.placer_number, order.accession_number, order.patient.patient_id) == ("A100Z", "ACC", "4711471151")
    assert (step.sps_id, step.modality, step.station_ae_title) == ("SPSID", "CT", "MODALITY")
    assert step.requested_procedure.study_instance_uid == "1.2.392.200036.9125.0.199402091242.1"
    assert (step.protocol_code_value, step.protocol_code_meaning) == ("ProtocolCode", "ProtocolMeaning")


def test_dcm4che_ipc_sample_is_refused_ae_102_at_its_first_overlong_value(mllp):
    # its placeholders are longer than their VRs: PV1-8 a PN group of 65, OBR-31.2 of 81, IPC-4 of 19
    with MllpClient(mllp.port) as client:
        raw = (SAMPLES / "dcm4che_OMI_O23_ImagingOrder_IPC.hl7").read_bytes()
        ack = ack_segments(client.exchange(raw), "latin-1")
    assert ack["MSA"][1:3] == ["AE", "1001125"]
    assert ack["ERR"][2:4] == ["PV1^1^8", "102^Data type error^HL70357"]
    assert ImagingOrder.objects.count() == 0
