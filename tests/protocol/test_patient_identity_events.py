"""Patient identity over MLLP (IHE RAD-1, RAD-12): A28/A31 and the
cancellations update the patient, A47 changes the identifier and the
worklist (dcmtk's findscu) follows, A10 makes the day's exams ARRIVED, a
merged identifier is refused AE 204, and merges, identifier changes and
un-merges reach a strict MLLP listener as messages hl7apy reads."""

import pytest
from django.utils import timezone
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message

from hl7.models import HL7Sender
from ris.models import Destination, ImagingOrder, Patient, PatientMerge, ScheduledProcedureStep
from ris.services.outbox import outbox_deliver
from ris.services.patients import patient_unmerge
from tests.conftest import SAMPLES
from tests.factories import TEST_ACTOR
from tests.hl7_builders import adt, orm_new_order
from tests.peers import MllpClient, ack_segments, findscu
from tests.strict_ehr import StrictEhr

pytestmark = pytest.mark.slow


@pytest.fixture
def identity_senders(transactional_db):
    """The EHR sends orders and updates; the patient index (MESA_OF, MPI) may change identities."""
    HL7Sender.objects.create(application="EHR")
    for application in ("MESA_OF", "MPI"):
        HL7Sender.objects.create(application=application, may_merge_patients=True)


@pytest.fixture
def ehr():
    server = StrictEhr()
    yield server
    server.stop()


def _destination(port: int, events: list[str], name: str = "downstream") -> Destination:
    return Destination.objects.create(
        name=name,
        kind=Destination.Kind.HL7_MLLP,
        host="127.0.0.1",
        port=port,
        events=events,
        timeout_seconds=5,
        receiving_application="PACS",
    )


def _exchange(port: int, *messages: str | bytes) -> list[dict[str, list[str]]]:
    with MllpClient(port) as client:
        return [ack_segments(client.exchange(message), "latin-1") for message in messages]


def _worklist_patient_ids(port: int, accession: str) -> list[str]:
    responses, proc = findscu(port, [f"AccessionNumber={accession}", "PatientID"])
    assert proc.returncode == 0, proc.stderr
    return [str(response.PatientID) for response in responses]


def _order_for(patient_id: str, issuer: str, control_id: str, **fields) -> str:
    return orm_new_order(control_id, patient_id=patient_id, **fields).replace(
        f"{patient_id}^^^HOSP", f"{patient_id}^^^{issuer}"
    )


@pytest.mark.parametrize("event", ["A28", "A31", "A05", "A11", "A12", "A13"])
def test_person_events_and_cancellations_update_the_patient(mllp, event):
    first = adt(f"{event}-1", event, pid={3: "P90^^^HOSP", 5: "DOE^JANE", 8: "F"})
    second = adt(f"{event}-2", event, pid={3: "P90^^^HOSP", 5: "ROE^JANE"})
    assert [ack["MSA"][1] for ack in _exchange(mllp.port, first, second)] == ["AA", "AA"]
    patient = Patient.objects.get(patient_id="P90")
    assert (patient.name, patient.sex) == ("ROE^JANE", "F")


def test_dcm4che_a47_sample_changes_the_identifier_and_the_worklist_follows(mllp, dicom, identity_senders):
    order = _order_for("OLD_PID_1", "ADT1", "NW-A47", accession="ACC47")
    [placed] = _exchange(mllp.port, order)
    assert placed["MSA"][1] == "AA"
    assert _worklist_patient_ids(dicom, "ACC47") == ["OLD_PID_1"]
    [changed] = _exchange(mllp.port, (SAMPLES / "dcm4che_ADT_A47_ChangePatientID.hl7").read_bytes())
    assert changed["MSA"][1:3] == ["AA", "1002123"]
    patient = ImagingOrder.objects.get(accession_number="ACC47").patient
    assert (patient.patient_id, patient.issuer, patient.name) == ("NEW_PID_1", "ADT1", "Smith^Lucy^Mark")
    assert not Patient.objects.filter(patient_id="OLD_PID_1").exists()  # one patient, a new key; no merge
    assert _worklist_patient_ids(dicom, "ACC47") == ["NEW_PID_1"]


def test_a47_from_a_sender_not_allowed_to_change_identities_is_refused_ar(mllp, identity_senders):
    _exchange(mllp.port, _order_for("P1", "HOSP", "NW-1"))
    text = adt("A47-NO", "A47", pid={3: "P2^^^HOSP"}, mrg={1: "P1^^^HOSP"})
    [ack] = _exchange(mllp.port, text)
    assert ack["MSA"][1] == "AR" and "may merge patients" in ack["ERR"][8]
    assert Patient.objects.filter(patient_id="P1").exists()


def test_a47_naming_an_unknown_prior_identifier_is_refused_ae_204_at_mrg_1(mllp, identity_senders):
    [ack] = _exchange(mllp.port, adt("A47-U", "A47", sender="MPI", pid={3: "P2^^^HOSP"}, mrg={1: "NOBODY^^^HOSP"}))
    assert ack["MSA"][1] == "AE"
    assert (ack["ERR"][2], ack["ERR"][3].split("^")[0]) == ("MRG^1^1^1", "204")
    assert ack["ERR"][8] == "no patient has the prior identifier"


def test_a47_to_an_identifier_another_patient_has_is_refused_ae_205(mllp, identity_senders):
    _exchange(mllp.port, adt("U1", "A08", pid={3: "P1^^^HOSP"}), adt("U2", "A08", pid={3: "P2^^^HOSP"}))
    [ack] = _exchange(mllp.port, adt("A47-D", "A47", sender="MPI", pid={3: "P2^^^HOSP"}, mrg={1: "P1^^^HOSP"}))
    assert ack["MSA"][1] == "AE" and ack["ERR"][3].startswith("205^")
    assert "A40" in ack["ERR"][8]
    assert set(Patient.objects.values_list("patient_id", flat=True)) == {"P1", "P2"}


def test_a10_makes_the_patients_exams_of_the_day_arrived(mllp):
    today = timezone.localtime().strftime("%Y%m%d%H%M%S")
    tomorrow = (timezone.localtime() + timezone.timedelta(days=1)).strftime("%Y%m%d%H%M%S")
    acks = _exchange(
        mllp.port,
        orm_new_order("NW-T", patient_id="P10", placer="PL10", accession="ACC10", start=today),
        orm_new_order("NW-N", patient_id="P10", placer="PL11", accession="ACC11", start=tomorrow),
        adt("A10-1", "A10", pid={3: "P10^^^HOSP", 5: "MUELLER^HANS"}),
    )
    assert [ack["MSA"][1] for ack in acks] == ["AA", "AA", "AA"]
    status = dict(ScheduledProcedureStep.objects.values_list("requested_procedure__order__accession_number", "status"))
    assert status == {"ACC10": "ARRIVED", "ACC11": "SCHEDULED"}


@pytest.mark.parametrize("mllp", ["fast", "reference"], indirect=True)  # the one-statement path refuses it too
def test_messages_naming_a_merged_identifier_are_refused_ae_204_with_the_reason(mllp, identity_senders):
    merge = adt("M1", "A40", sender="MPI", pid={3: "P1^^^HOSP", 5: "DOE^JOHN"}, mrg={1: "P2^^^HOSP"})
    update = adt("U-P2", "A08", pid={3: "P2^^^HOSP", 5: "WRONG^NAME"})
    order = orm_new_order("NW-P2", patient_id="P2", placer="PL2", accession="ACC2")
    arrival = adt("A10-P2", "A10", pid={3: "P2^^^HOSP"})
    merged, *refused = _exchange(mllp.port, merge, update, order, arrival)
    assert merged["MSA"][1] == "AA"
    update_ack, order_ack, arrival_ack = refused
    for ack in (update_ack, arrival_ack):  # v2.5.1: ERR-2 location, ERR-3 code, ERR-8 the reason
        assert ack["MSA"][1] == "AE"
        assert (ack["ERR"][2], ack["ERR"][3]) == ("PID^1^3^1", "204^Unknown key identifier^HL70357")
        assert "merged into another" in ack["ERR"][8]
    assert order_ack["MSA"][1] == "AE"  # v2.3.1: ERR-1 segment^sequence^field^code, the reason in MSA-3
    assert order_ack["ERR"][1] == "PID^1^3^204&Unknown key identifier&HL70357"
    assert "merged into another" in order_ack["MSA"][3]
    assert not ImagingOrder.objects.exists()
    assert Patient.objects.get(patient_id="P1").name == "DOE^JOHN"


def _strict(text: str):
    return parse_message(text, validation_level=VALIDATION_LEVEL.STRICT, find_groups=True)


def test_a_merge_and_its_undoing_reach_a_destination_that_takes_patient_events(mllp, ehr, identity_senders):
    destination = _destination(ehr.port, ["patient"])
    untouched = _destination(ehr.port, [], name="EHR listing no events")
    acks = _exchange(
        mllp.port,
        _order_for("P2", "HOSP", "NW-P2", placer="PL2", accession="ACC2"),
        adt("M1", "A40", sender="MPI", pid={3: "P1^^^HOSP", 5: "DOE^JOHN"}, mrg={1: "P2^^^HOSP"}),
    )
    assert [ack["MSA"][1] for ack in acks] == ["AA", "AA"]
    assert ImagingOrder.objects.get().patient.patient_id == "P1"
    merge = PatientMerge.objects.get()
    patient_unmerge(merge=merge, reason="two people, one name", actor=TEST_ACTOR)
    assert ImagingOrder.objects.get().patient.patient_id == "P2"  # the order is P2's again
    assert Patient.objects.get(patient_id="P2").merged_into is None
    assert Patient.objects.filter(patient_id="P1").exists()
    assert untouched.messages.count() == 0  # a destination listing no events keeps what it had
    assert outbox_deliver(destination_id=destination.pk) == 2
    assert ehr.refused == []
    sent_merge, sent_unmerge = (_strict(text) for text in ehr.received)
    assert sent_merge.msh.msh_9.to_er7() == "ADT^A40^ADT_A39"
    assert sent_merge.children.get("ADT_A39_PATIENT").pid.pid_3.to_er7() == "P1^^^HOSP"
    assert sent_merge.children.get("ADT_A39_PATIENT").mrg.mrg_1.to_er7() == "P2^^^HOSP"
    assert sent_unmerge.msh.msh_9.to_er7() == "ADT^A31^ADT_A05"
    assert sent_unmerge.pid.pid_3.to_er7() == "P2^^^HOSP"


def test_an_identifier_change_reaches_the_destination_as_a47(mllp, ehr, identity_senders):
    destination = _destination(ehr.port, ["patient"])
    _exchange(
        mllp.port,
        adt("U1", "A08", pid={3: "OLD^^^HOSP", 5: "DOE^JANE"}),
        adt("A47-1", "A47", sender="MPI", pid={3: "NEW^^^HOSP", 5: "DOE^JANE"}, mrg={1: "OLD^^^HOSP"}),
    )
    assert outbox_deliver(destination_id=destination.pk) == 1
    [sent] = [_strict(text) for text in ehr.received]
    assert sent.msh.msh_9.to_er7() == "ADT^A47^ADT_A30"
    assert (sent.pid.pid_3.to_er7(), sent.mrg.mrg_1.to_er7()) == ("NEW^^^HOSP", "OLD^^^HOSP")
