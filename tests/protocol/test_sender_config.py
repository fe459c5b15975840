"""Per-sender configuration from the database, applied to messages over MLLP."""

import pytest

from hl7.intake import reprocess
from hl7.models import HL7Sender, InboundMessage, SenderStationRule
from ris.models import ImagingOrder, Patient, Procedure, ScheduledProcedureStep, Station
from tests.hl7_builders import orm_control, orm_new_order
from tests.peers import MllpClient, ack_segments

pytestmark = pytest.mark.slow


def _exchange(port: int, text: str) -> dict[str, list[str]]:
    with MllpClient(port) as client:
        return ack_segments(client.exchange(text))


def test_unknown_sender_is_rejected_ar_at_msh_3_once_senders_are_configured(mllp):
    HL7Sender.objects.create(application="EHR", facility="HOSP")
    ack = _exchange(mllp.port, orm_new_order("S1").replace("|EHR|HOSP|", "|ROGUE|HOSP|", 1))
    assert ack["MSA"][1:3] == ["AR", "S1"]
    assert ack["ERR"][1].startswith("MSH^1^3^204")
    assert "ROGUE" in ack["MSA"][3]
    assert _exchange(mllp.port, orm_new_order("S2"))["MSA"][1] == "AA"  # the configured one
    assert ImagingOrder.objects.count() == 1


def test_any_sender_is_accepted_when_none_is_configured(mllp):
    assert _exchange(mllp.port, orm_new_order("S3").replace("|EHR|", "|ANY|", 1))["MSA"][1] == "AA"


def test_mrn_is_the_pid_3_repetition_of_the_configured_authority(mllp):
    HL7Sender.objects.create(application="EHR", mrn_authority="MRN-AUTH")
    text = orm_new_order("S4").replace("PAT1001^^^HOSP", "SSN123^^^SSA~MRN555^^^MRN-AUTH")
    assert _exchange(mllp.port, text)["MSA"][1] == "AA"
    patient = Patient.objects.get()
    assert (patient.patient_id, patient.issuer) == ("MRN555", "MRN-AUTH")


def test_message_without_the_configured_mrn_authority_is_acked_ae_101(mllp):
    HL7Sender.objects.create(application="EHR", mrn_authority="MRN-AUTH")
    ack = _exchange(mllp.port, orm_new_order("S5"))
    assert ack["MSA"][1] == "AE"
    assert ack["ERR"][1].startswith("PID^1^3^101")


def test_empty_obr_24_takes_modality_duration_and_station_from_the_catalogue(mllp):
    station = Station.objects.create(ae_title="MR_KNEE", modality="MR", location="ROOM 7")
    Procedure.objects.create(
        code="CTHEAD",
        modality="MR",
        default_duration_minutes=25,
        station=station,
        name="x",
    )
    assert _exchange(mllp.port, orm_new_order("S6", modality="", station=""))["MSA"][1] == "AA"
    step = ScheduledProcedureStep.objects.get()
    assert (step.modality, step.expected_duration_minutes, step.station_ae_title, step.location) == (
        "MR",
        25,
        "MR_KNEE",
        "ROOM 7",
    )


def test_sender_rule_by_procedure_code_beats_the_modality_default(mllp):
    Station.objects.create(ae_title="CT_DEFAULT", modality="CT", is_default_for_modality=True)
    head = Station.objects.create(ae_title="CT_HEAD", modality="CT", location="ROOM 2")
    sender = HL7Sender.objects.create(application="EHR")
    SenderStationRule.objects.create(sender=sender, procedure_code="CTHEAD", station=head)
    assert _exchange(mllp.port, orm_new_order("S7", station=""))["MSA"][1] == "AA"
    assert ScheduledProcedureStep.objects.get().station_ae_title == "CT_HEAD"


def test_sender_rule_by_modality_applies_when_no_code_rule_matches(mllp):
    Station.objects.create(ae_title="CT_DEFAULT", modality="CT", is_default_for_modality=True)
    other = Station.objects.create(ae_title="CT_EHR", modality="CT")
    sender = HL7Sender.objects.create(application="EHR")
    SenderStationRule.objects.create(sender=sender, modality="CT", station=other)
    assert _exchange(mllp.port, orm_new_order("S8", station=""))["MSA"][1] == "AA"
    assert ScheduledProcedureStep.objects.get().station_ae_title == "CT_EHR"


def test_rejected_message_is_applied_once_when_reprocessed_after_the_sender_is_configured(mllp):
    HL7Sender.objects.create(application="EHR")
    text = orm_new_order("S9").replace("|EHR|", "|NEWAPP|", 1)
    assert _exchange(mllp.port, text)["MSA"][1] == "AR"
    stored = InboundMessage.objects.get(control_id="S9")
    HL7Sender.objects.create(application="NEWAPP")
    assert reprocess(stored) == "AA"
    stored.refresh_from_db()
    assert (stored.status, stored.ack_code) == ("APPLIED", "AA")
    assert "MSA|AA|S9" in stored.ack and "earlier answer: AR" in stored.error
    assert stored.order == ImagingOrder.objects.get()
    with pytest.raises(ValueError):
        reprocess(stored)  # applied: never again
    assert _exchange(mllp.port, text)["MSA"][1] == "AA"  # a resend now is answered from the log
    assert ImagingOrder.objects.count() == 1


def test_the_senders_own_rule_beats_a_rule_for_every_sender(mllp):
    everyone = Station.objects.create(ae_title="CT_ALL", modality="CT")
    own = Station.objects.create(ae_title="CT_OWN", modality="CT")
    sender = HL7Sender.objects.create(application="EHR")
    SenderStationRule.objects.create(sender=None, modality="CT", station=everyone)
    SenderStationRule.objects.create(sender=sender, modality="CT", station=own)
    assert _exchange(mllp.port, orm_new_order("S10", station=""))["MSA"][1] == "AA"
    assert ScheduledProcedureStep.objects.get().station_ae_title == "CT_OWN"


def test_a_step_added_by_an_order_change_follows_the_senders_station_rules(mllp):
    Station.objects.create(ae_title="CT_DEFAULT", modality="CT", is_default_for_modality=True)
    routed = Station.objects.create(ae_title="CT_EHR", modality="CT")
    SenderStationRule.objects.create(sender=HL7Sender.objects.create(application="EHR"), modality="CT", station=routed)
    assert _exchange(mllp.port, orm_new_order("S11", station=""))["MSA"][1] == "AA"
    # ORC-1 XO naming the order's procedure (OBR-19) with a new step (OBR-20) that names no station.
    new_step = {4: "CTHEAD^CT Head without contrast^LOCAL", 19: "RP1001", 20: "SPS2002", 24: "CT"}
    assert _exchange(mllp.port, orm_control("S12", "XO", obr=new_step))["MSA"][1] == "AA"
    stations = dict(ScheduledProcedureStep.objects.values_list("sps_id", "station_ae_title"))
    assert stations == {"SPS1001": "CT_EHR", "SPS2002": "CT_EHR"}


# A sender's configuration is read once per MLLP connection (the one-statement
# path caches it); a change made while a connection stays open must reach that
# connection's next message, not wait for the sender to reconnect.


def test_a_sender_configured_while_a_connection_is_open_is_enforced_on_its_next_message(mllp):
    with MllpClient(mllp.port) as client:
        first = ack_segments(client.exchange(orm_new_order("S20", placer="PL20", accession="A20")))
        HL7Sender.objects.create(application="OTHER", facility="HOSP")  # EHR is no longer among the senders
        second = ack_segments(client.exchange(orm_new_order("S21", placer="PL21", accession="A21")))
    assert first["MSA"][1] == "AA"
    assert second["MSA"][1:3] == ["AR", "S21"] and second["ERR"][1].startswith("MSH^1^3^204")
    assert list(ImagingOrder.objects.values_list("placer_number", flat=True)) == ["PL20"]


def test_a_station_renamed_while_a_connection_is_open_is_the_station_of_its_next_order(mllp):
    Station.objects.create(ae_title="CT_DEFAULT", modality="CT", is_default_for_modality=True)
    routed = Station.objects.create(ae_title="CT_EHR", modality="CT")
    SenderStationRule.objects.create(sender=HL7Sender.objects.create(application="EHR"), modality="CT", station=routed)
    first = orm_new_order("S22", placer="PL22", accession="A22", station="")
    second = orm_new_order("S23", placer="PL23", accession="A23", station="")
    with MllpClient(mllp.port) as client:
        assert ack_segments(client.exchange(first))["MSA"][1] == "AA"
        Station.objects.filter(pk=routed.pk).update(ae_title="CT_EHR_NEW")
        second = second.replace("SPS1001", "SPS1002").replace("RP1001", "RP1002")
        assert ack_segments(client.exchange(second))["MSA"][1] == "AA"
    stations = dict(ScheduledProcedureStep.objects.values_list("sps_id", "station_ae_title"))
    assert stations == {"SPS1001": "CT_EHR", "SPS1002": "CT_EHR_NEW"}
