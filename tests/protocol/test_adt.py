"""ADT over MLLP: patient update (A01/A04/A08) and merge (A40); the other
events in tests/protocol/test_patient_identity_events.py."""

import datetime as dt

import pytest

from hl7.models import HL7Sender, InboundMessage
from ris.models import ImagingOrder, Patient
from tests.conftest import SAMPLES
from tests.hl7_builders import adt, orm_new_order
from tests.peers import MllpClient, ack_segments

pytestmark = pytest.mark.slow


def _sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


@pytest.fixture
def merging_senders(transactional_db):
    """The senders of these tests, allowed to merge; EHR sends the orders too."""
    for application in ("EHR", "MESA_OF", "Ntierprise"):
        HL7Sender.objects.create(application=application, may_merge_patients=True)


def test_a_merge_with_no_sender_configured_is_refused_ar_with_the_reason(mllp):
    text = adt("M0", "A40", pid={3: "P1^^^HOSP", 5: "DOE^JOHN"}, mrg={1: "P2^^^HOSP"})
    with MllpClient(mllp.port) as client:
        ack = ack_segments(client.exchange(text))
    assert ack["MSA"][1:3] == ["AR", "M0"]
    assert "may merge patients" in ack["ERR"][8]
    assert Patient.objects.filter(merged_into__isnull=False).count() == 0


def test_a_merge_from_a_sender_not_allowed_is_refused_and_from_an_allowed_one_applied(mllp):
    HL7Sender.objects.create(application="EHR")
    HL7Sender.objects.create(application="MPI", may_merge_patients=True)
    merge = {"pid": {3: "P1^^^HOSP", 5: "DOE^JOHN"}, "mrg": {1: "P2^^^HOSP"}}
    with MllpClient(mllp.port) as client:
        assert ack_segments(client.exchange(adt("M3", "A40", **merge)))["MSA"][1] == "AR"
        assert ack_segments(client.exchange(adt("M4", "A40", sender="MPI", **merge)))["MSA"][1] == "AA"
    assert Patient.objects.get(patient_id="P2").merged_into.patient_id == "P1"


@pytest.mark.parametrize("event", ["A01", "A04", "A08"])
def test_patient_event_creates_then_updates_the_patient(mllp, event):
    first = adt(f"{event}-1", event, pid={3: "P77^^^HOSP", 5: "DOE^JANE", 7: "19900101", 8: "F"})
    second = adt(f"{event}-2", event, pid={3: "P77^^^HOSP", 5: "ROE^JANE", 7: '""'})
    with MllpClient(mllp.port) as client:
        assert ack_segments(client.exchange(first))["MSA"][1] == "AA"
        assert ack_segments(client.exchange(second))["MSA"][1] == "AA"
    patient = Patient.objects.get()
    assert (patient.name, patient.birth_date, patient.sex) == ("ROE^JANE", None, "F")  # "" erases, empty keeps


def test_dcm4che_a08_sample_updates_the_patient_of_an_order(mllp):
    with MllpClient(mllp.port) as client:
        assert ack_segments(client.exchange(_sample("dcm4che_ORM_O01_ihe_mesa_v231.hl7")))["MSA"][1] == "AA"
        assert ack_segments(client.exchange(_sample("dcm4che_ADT_A08_v251.hl7")))["MSA"][1:3] == ["AA", "100212"]
    patient = ImagingOrder.objects.get().patient
    assert (patient.patient_id, patient.issuer) == ("583295", "ADT1")
    assert (patient.name, patient.birth_date, patient.sex) == ("Smith^Shadow", dt.date(2014, 10, 14), "F")


def test_dcm4che_a40_sample_moves_the_orders_to_the_surviving_patient(mllp, merging_senders):
    old_order = orm_new_order("NW-OLD", patient_id="OLD_PID_1").replace("OLD_PID_1^^^HOSP", "OLD_PID_1^^^ADT1")
    with MllpClient(mllp.port) as client:
        assert ack_segments(client.exchange(old_order))["MSA"][1] == "AA"
        ack = ack_segments(client.exchange(_sample("dcm4che_ADT_A40_PatientMerge.hl7")), "latin-1")
        assert ack["MSA"][1:3] == ["AA", "1002122"]
        later = orm_new_order("NW-LATER", patient_id="OLD_PID_1", placer="PL2", accession="ACC2")
        later = later.replace("OLD_PID_1^^^HOSP", "OLD_PID_1^^^ADT1")
        refused = ack_segments(client.exchange(later))  # the merged identifier is no patient's key now
        assert refused["MSA"][1] == "AE" and refused["ERR"][1].endswith("^204&Unknown key identifier&HL70357")
    survivor = Patient.objects.get(patient_id="NEW_PID_1", issuer="ADT1")
    prior = Patient.objects.get(patient_id="OLD_PID_1", issuer="ADT1")
    assert prior.merged_into == survivor
    assert survivor.name == "New_Smith^Lucy^Mark"
    assert set(ImagingOrder.objects.values_list("patient_id", flat=True)) == {survivor.pk}
    assert ImagingOrder.objects.count() == 1


def test_fhirconv_v28_a40_with_ne_ne_is_applied_silently(mllp, merging_senders):
    with MllpClient(mllp.port) as client:
        client.send_raw(b"\x0b" + _sample("fhirconv_ADT_A40-01_v28.hl7") + b"\x1c\x0d")
        # MSH-15/16 NE: no ACK; the next message's ACK comes next on the connection
        follow = adt("AFTER", "A08", pid={3: "12345^^^BCBS", 5: "Test^Test^A"})
        assert ack_segments(client.exchange(follow))["MSA"][2] == "AFTER"
    assert InboundMessage.objects.get(control_id="8919-40").status == InboundMessage.Status.APPLIED
    prior = Patient.objects.get(patient_id="56789", issuer="BCBS")
    assert prior.merged_into.patient_id == "12345"


def test_merge_naming_the_survivor_as_prior_is_acked_ae_at_mrg_1(mllp, merging_senders):
    text = adt("M1", "A40", pid={3: "P1^^^HOSP", 5: "DOE^JOHN"}, mrg={1: "P1^^^HOSP"})
    with MllpClient(mllp.port) as client:
        ack = ack_segments(client.exchange(text))
    assert ack["MSA"][1] == "AE"
    assert ack["ERR"][2] == "MRG^1^1^1"
    assert Patient.objects.filter(merged_into__isnull=False).count() == 0


def test_a40_without_mrg_is_acked_ae_100(mllp, merging_senders):
    with MllpClient(mllp.port) as client:
        ack = ack_segments(client.exchange(adt("M2", "A40", pid={3: "P1^^^HOSP"})))
    assert ack["MSA"][1] == "AE"
    assert ack["ERR"][3].startswith("100^")


def test_a_patient_update_is_audited_with_the_sender_and_its_message(mllp):
    from ris.models import AuditEvent

    with MllpClient(mllp.port) as client:
        client.exchange(adt("ADTAUD1", "A08", pid={3: "P78^^^HOSP", 5: "DOE^JOHN"}))
    event = AuditEvent.objects.get(door=AuditEvent.Door.HL7)
    assert (event.action, event.patient.patient_id, event.address.startswith("127.0.0.1")) == ("CHANGE", "P78", True)
    assert event.actor == "EHR" and "ADTAUD1" in event.detail
