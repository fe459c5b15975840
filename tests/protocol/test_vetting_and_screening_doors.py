"""Vetting and screening through the real doors: an ORM over MLLP that needs
vetting stays off the worklist until accepted, the assigned protocol comes
back from dcmtk's `findscu -W` in Scheduled Protocol Code Sequence, a
rejection reaches a strict EHR listener as ORC-1 OC with its reason, and
OBX / AL1 safety values in an ORM land in the screening."""

import pytest
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message
from pydicom.uid import generate_uid

from ris.models import Contrast, Destination, ImagingOrder, OutboundMessage, ProtocolCode, SafetyAlert, SafetyRecord
from ris.services.outbox import outbox_deliver
from ris.services.vetting import order_vet_accept, order_vet_reject
from ris.states import VettingStatus
from tests import factories as f
from tests.factories import actor_of
from tests.hl7_builders import orm_new_order
from tests.mpps_scu import MppsScu, in_progress, scheduled_item
from tests.peers import MllpClient, ack_segments, findscu
from tests.strict_ehr import StrictEhr

pytestmark = pytest.mark.slow
STUDY_UID = "1.2.826.0.1.3680043.8.498.7001"


@pytest.fixture
def vetted_ct_head():
    """CTHEAD (the code the sample ORM orders) needs vetting and has two protocols."""
    entry = f.procedure("CTHEAD")
    entry.needs_vetting = True
    entry.save()
    ProtocolCode.objects.create(procedure=entry, code_value="CTH-ROUT", code_meaning="CT head routine")
    ProtocolCode.objects.create(
        procedure=entry, code_value="CTH-STROKE", code_scheme="99RAD", code_meaning="CT head stroke", is_default=True
    )
    return entry


def _send(port: int, message: str) -> list[str]:
    with MllpClient(port) as client:
        ack = client.exchange(message)
    return ack_segments(ack)["MSA"][1:3]


def _sps_items(port: int) -> list:
    keys = [
        "PatientID=PAT1001",
        "ScheduledProcedureStepSequence[0].ScheduledProcedureStepID",
        "ScheduledProcedureStepSequence[0].ScheduledProtocolCodeSequence[0].CodeValue",
        "ScheduledProcedureStepSequence[0].ScheduledProtocolCodeSequence[0].CodingSchemeDesignator",
        "ScheduledProcedureStepSequence[0].ScheduledProtocolCodeSequence[0].CodeMeaning",
    ]
    responses, proc = findscu(port, keys)
    assert proc.returncode == 0, proc.stderr
    return [response.ScheduledProcedureStepSequence[0] for response in responses]


def test_an_order_needing_vetting_is_off_the_worklist_until_accepted_then_carries_its_protocol(
    mllp, dicom, vetted_ct_head
):
    assert _send(mllp.port, orm_new_order("VET1", study_uid=STUDY_UID)) == ["AA", "VET1"]
    order = ImagingOrder.objects.get(placer_number="PL1001")
    assert order.vetting_status == VettingStatus.PENDING
    assert _sps_items(dicom) == []
    stroke = ProtocolCode.objects.get(code_value="CTH-STROKE")
    procedure = order.procedures.get()
    order_vet_accept(order=order, actor=actor_of(f.radiologist()), protocols={procedure.pk: stroke})
    [item] = _sps_items(dicom)
    [protocol] = item.ScheduledProtocolCodeSequence
    assert (protocol.CodeValue, protocol.CodingSchemeDesignator, protocol.CodeMeaning) == (
        "CTH-STROKE",
        "99RAD",
        "CT head stroke",
    )


@pytest.mark.parametrize("version", ["2.3.1", "2.5.1"])
def test_a_rejected_order_reaches_a_strict_ehr_as_orc_1_oc_with_the_reason(mllp, vetted_ct_head, version):
    ehr = StrictEhr()
    try:
        destination = Destination.objects.create(
            name="EHR",
            kind=Destination.Kind.HL7_MLLP,
            host="127.0.0.1",
            port=ehr.port,
            hl7_version=version,
            events=["order_status"],
            timeout_seconds=30,  # the strict listener reads with hl7apy, slow on a loaded machine
            max_attempts=1,
        )
        assert _send(mllp.port, orm_new_order("VET2", study_uid=STUDY_UID)) == ["AA", "VET2"]
        order = ImagingOrder.objects.get(placer_number="PL1001")
        order_vet_reject(order=order, reason="Please request MR instead", actor=actor_of(f.radiologist()))
        assert outbox_deliver(destination_id=destination.pk) == 1
        assert [reason for reason, _ in ehr.refused] == []
        [message] = ehr.received
    finally:
        ehr.stop()
    parsed = parse_message(message, validation_level=VALIDATION_LEVEL.STRICT, find_groups=True)
    lines = {line[:3]: line.split("|") for line in message.split("\r") if line}
    assert lines["ORC"][1] == "OC"  # HL7 2.5.1 table 0119: order cancelled (by the filler)
    assert lines["ORC"][2].startswith("PL1001")
    assert lines["ORC"][5] == "CA"
    assert lines["ORC"][16] == "^Please request MR instead"  # ORC-16 order control code reason (CE.2 text)
    assert lines["NTE"][3] == "Please request MR instead"
    assert parsed.name == ("OMI_O23" if version == "2.5.1" else "ORM_O01")
    assert OutboundMessage.objects.get().status == OutboundMessage.Status.ACKED


def test_an_orm_with_obx_egfr_weight_and_an_al1_contrast_allergy_lands_in_the_screening(mllp):
    message = orm_new_order("SAF1", study_uid=STUDY_UID).rstrip("\r").split("\r")
    pv1 = next(i for i, line in enumerate(message) if line.startswith("PV1"))
    message.insert(pv1 + 1, "AL1|1|DA|C0009924^Iodinated contrast media^UMLS|SV|urticaria")
    message.insert(pv1 + 2, "AL1|2|DA|70618^Penicillin^RXNORM|MO|rash")
    message += [
        "OBX|1|NM|62238-1^eGFR CKD-EPI^LN||27|mL/min/{1.73_m2}|>60|L|||F|||20261125083000",
        "OBX|2|NM|29463-7^Body weight^LN||176|[lb_av]||||||F",
        "OBX|3|ST|8302-2^Body height^LN||180|cm||||||F",
    ]
    assert _send(mllp.port, "\r".join(message) + "\r") == ["AA", "SAF1"]
    order = ImagingOrder.objects.get(placer_number="PL1001")
    records = {r.item: r for r in SafetyRecord.objects.filter(order=order)}
    assert set(records) == {"EGFR", "WEIGHT", "CONTRAST_ALLERGY"}  # the height and the penicillin are not screening
    assert (float(records["EGFR"].number), records["EGFR"].measured_on.isoformat()) == (27.0, "2026-11-25")
    assert float(records["WEIGHT"].number) == pytest.approx(79.8)
    assert records["CONTRAST_ALLERGY"].value == "yes"
    assert records["CONTRAST_ALLERGY"].detail == "Iodinated contrast media: urticaria"
    assert {r.source for r in records.values()} == {"HL7"}


def test_an_obx_egfr_that_is_not_a_number_is_answered_ae_with_its_location(mllp):
    message = orm_new_order("SAF2", study_uid=STUDY_UID) + "OBX|1|NM|62238-1^eGFR^LN||high|mL/min||||||F\r"
    with MllpClient(mllp.port) as client:
        ack = ack_segments(client.exchange(message))
    assert ack["MSA"][1] == "AE"
    assert "OBX^1^5" in "|".join(ack["ERR"]), ack
    assert not ImagingOrder.objects.exists()


def test_an_mpps_starting_a_contrast_exam_without_egfr_succeeds_and_raises_a_visible_alert(mllp, dicom, client):
    entry = f.procedure("CTHEAD")
    entry.contrast = Contrast.IODINATED
    entry.save()
    assert _send(mllp.port, orm_new_order("SAF3", study_uid=STUDY_UID)) == ["AA", "SAF3"]
    item = scheduled_item(study_uid=STUDY_UID, accession="ACC1001", rp_id="RP1001", sps_id="SPS1001")
    with MppsScu(dicom) as scu:
        assert scu.create(in_progress([item]), generate_uid())[0].Status == 0x0000  # never refused
    [alert] = SafetyAlert.objects.all()
    assert "no eGFR recorded" in alert.reason and alert.acknowledged_at is None
    client.force_login(f.user_with_role("technologist"))
    page = client.get(f"/orders/{alert.order_id}/screening/").content.decode()  # the exam's date is not today's board
    assert 'data-rule="alert"' in page and "Started against a safety rule" in page
