"""The integration console, for the integration engineer role without staff
rights: logs in the message's own character set, reprocess, resend, dead
letters with an alert, and configuration edits through the audited services."""

import pytest
from django.contrib.auth.models import User

from hl7.intake import receive
from hl7.models import HL7Sender, InboundMessage, SenderStationRule
from ris.models import AuditEvent, Destination, ImagingOrder, OutboundMessage, Station
from tests.factories import user_with_role
from tests.hl7_builders import orm_new_order
from worklist.models import ModalityAE

pytestmark = pytest.mark.django_db(transaction=True)  # intake closes connections it finds in a transaction


@pytest.fixture
def engineer(client):
    user = user_with_role("integration engineer")
    assert not user.is_staff
    client.force_login(user)
    return client


def _receive(text: str, codec: str = "ascii") -> InboundMessage:
    receive(text.encode(codec), "test")
    return InboundMessage.objects.latest("pk")


def _dead_letters(count: int) -> Destination:
    ehr = Destination.objects.create(name="EHR", kind=Destination.Kind.HL7_MLLP, host="127.0.0.1", port=9)
    for i in range(count):
        OutboundMessage.objects.create(
            destination=ehr,
            event="report",
            status=OutboundMessage.Status.DEAD,
            control_id=f"R{i}",
            payload=f"MSH|^~\\&|RIS|RAD|EHR|HOSP|20261201||ORU^R01|R{i}|P|2.5.1\rOBX|1|TX|||Müller",
            built_at="2026-12-01T10:00Z",
            attempts=10,
            last_error="connection refused",
        )
    return ehr


def test_the_engineer_reads_an_inbound_message_in_the_character_set_it_declared(engineer):
    stored = _receive(orm_new_order("C1", name="MÜLLER^HANS", charset="8859/1"), "latin-1")
    page = engineer.get(f"/console/inbound/{stored.pk}/").content.decode()
    assert "MÜLLER^HANS" in page and "PID-5" in page
    assert AuditEvent.objects.filter(object_type="inboundmessage", object_id=str(stored.pk), action="VIEW").exists()


def test_the_engineer_reprocesses_a_rejected_message_after_fixing_the_sender(engineer):
    HL7Sender.objects.create(application="EHR")
    stored = _receive(orm_new_order("C2").replace("|EHR|", "|LATE|", 1))
    assert stored.status == "REJECTED"
    assert engineer.post("/console/senders/new/", {"application": "LATE", "is_active": "on"}).status_code == 302
    response = engineer.post(f"/console/inbound/{stored.pk}/reprocess/")
    assert response.status_code == 302
    stored.refresh_from_db()
    assert (stored.status, stored.ack_code) == ("APPLIED", "AA") and ImagingOrder.objects.count() == 1
    event = AuditEvent.objects.get(object_type="inboundmessage", object_id=str(stored.pk), action="CHANGE")
    assert "reprocessed: AA" in event.detail and event.user is not None


def test_the_engineer_resends_a_dead_outbound_message(engineer):
    _dead_letters(1)
    message = OutboundMessage.objects.get()
    detail = engineer.get(f"/console/outbound/{message.pk}/").content.decode()
    assert "OBX|1|TX|||Müller" in detail  # the payload, one segment a line
    assert engineer.post(f"/console/outbound/{message.pk}/resend/").status_code == 302
    message.refresh_from_db()
    assert (message.status, message.attempts, message.control_id) == ("PENDING", 0, "R0")


def test_dead_letters_raise_a_banner_for_the_engineer_and_a_metric(engineer, client):
    _dead_letters(13)
    page = engineer.get("/console/").content.decode()
    assert "13 outbound messages were given up." in page
    assert 'ris_outbox_dead_letters{destination="EHR"} 13.0' in client.get("/metrics").content.decode()


def test_every_dead_letter_is_queued_again_at_once(engineer):
    _dead_letters(3)
    engineer.post("/console/outbound/resend-dead/", {"destination": "EHR"})
    assert set(OutboundMessage.objects.values_list("status", flat=True)) == {"PENDING"}


def test_a_scheduler_sees_no_console_and_no_banner(client):
    _dead_letters(2)
    client.force_login(user_with_role("scheduler"))
    assert "given up" not in client.get("/orders/").content.decode()
    assert client.get("/console/").status_code == 403


def test_a_destination_is_edited_through_the_audited_configuration_service(engineer):
    form = {
        "name": "PACS-FHIR",
        "kind": "FHIR",
        "enabled": "on",
        "base_url": "http://127.0.0.1:9/fhir",
        "hl7_version": "2.5.1",
        "timeout_seconds": "10",
        "max_attempts": "10",
        "events": ["report"],
    }
    assert engineer.post("/console/destinations/new/", form).status_code == 302
    destination = Destination.objects.get(name="PACS-FHIR")
    assert destination.events == ["report"]
    assert AuditEvent.objects.filter(object_type="destination", action="CREATE", object_id=str(destination.pk)).exists()
    refused = engineer.post("/console/destinations/new/", {**form, "name": "X", "base_url": ""})
    assert "A FHIR destination needs its base URL." in refused.content.decode()


def test_a_destination_still_in_use_is_not_deleted_and_says_why(engineer):
    ehr = _dead_letters(1)
    response = engineer.post(f"/console/destinations/{ehr.pk}/delete/", follow=True)
    assert Destination.objects.filter(pk=ehr.pk).exists()
    assert "still in use" in response.content.decode()


def test_the_engineer_adds_a_station_rule_and_edits_a_modality_ae(engineer):
    station = Station.objects.create(ae_title="CT01", modality="CT")
    sender = HL7Sender.objects.create(application="EHR")
    rule = {"sender": sender.pk, "procedure_code": "CTHEAD", "modality": "", "station": station.pk}
    assert engineer.post("/console/rules/new/", rule).status_code == 302
    assert SenderStationRule.objects.get().station == station
    ae = {
        "ae_title": "CT_SCANNER",
        "description": "CT 1",
        "allowed": "on",
        "character_set": "ISO_IR 192",
        "own_worklist_when_unspecified": "on",
        "stations": [station.pk],
    }
    assert engineer.post("/console/modalities/new/", ae).status_code == 302
    assert list(ModalityAE.objects.get(ae_title="CT_SCANNER").stations.all()) == [station]
    listing = engineer.get("/console/modalities/").content.decode()
    assert "CT01" in listing and "True" not in listing


def test_the_message_lists_leave_one_audit_event_naming_the_patients_shown(engineer):
    _receive(orm_new_order("AUD1", patient_id="AUDP1"))
    patient = ImagingOrder.objects.get().patient
    AuditEvent.objects.all().delete()
    assert engineer.get("/console/inbound/").status_code == 200
    (event,) = AuditEvent.objects.all()
    user = User.objects.get(pk=engineer.session["_auth_user_id"])
    assert (event.action, event.actor) == (AuditEvent.Action.VIEW, user.username)
    assert event.patient_id == patient.pk or f"patients {patient.pk}" in event.detail
    AuditEvent.objects.all().delete()
    assert engineer.get("/console/outbound/").status_code == 200
    assert AuditEvent.objects.count() == 1
