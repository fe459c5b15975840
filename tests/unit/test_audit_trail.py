"""Every door's changes and reads reach the audit trail through the services,
with the actor the door built: the user, the door, the address, the patient."""

import datetime as dt

import pytest
from django.utils import timezone

from ris.models import AuditEvent, Report, Room, ScheduledProcedureStep, Station
from ris.services.reports import report_save_draft, report_sign
from ris.states import ReportStatus, StepStatus
from tests.factories import TEST_ACTOR, placed_order, radiologist, user_with_role

pytestmark = pytest.mark.django_db


def _performed(accession="AUD1", patient_id="PATAUD"):
    order = placed_order(
        accession=accession,
        placer=f"PL{accession}",
        patient_id=patient_id,
        start=timezone.now() - dt.timedelta(hours=2),
    )
    ScheduledProcedureStep.objects.filter(requested_procedure__order=order).update(status=StepStatus.COMPLETED)
    return order.procedures.get()


def _events(**where):
    """The events a door wrote (not the tests' own set-up)."""
    return list(AuditEvent.objects.exclude(door=AuditEvent.Door.SYSTEM).filter(**where).order_by("at", "pk"))


def _who(event: AuditEvent) -> tuple[str, str, str, str]:
    return (event.actor, event.door, event.action, event.address)


@pytest.fixture
def editor(client):
    client.force_login(radiologist("rita"))
    return client


def _post(client, procedure, action: str, **fields):
    return client.post(f"/reporting/procedures/{procedure.pk}/", {"action": action, **fields})


def test_drafting_a_report_on_the_page_is_audited_with_the_user_and_patient(editor):
    procedure = _performed()
    _post(editor, procedure, "save", findings="No bleed.", impression="Normal.")
    (event,) = _events(object_type="report")
    assert _who(event) == ("rita", "WEB", "CREATE", "127.0.0.1")
    assert event.patient == procedure.order.patient and event.user.username == "rita"
    assert "draft saved" in event.detail and f"POST /reporting/procedures/{procedure.pk}/" in event.detail


@pytest.mark.parametrize("status", ["preliminary", "final"])
def test_signing_on_the_page_is_audited_as_the_signature(editor, status):
    procedure = _performed()
    _post(editor, procedure, status, findings="No bleed.", impression="Normal.")
    draft, signed = _events(object_type="report")
    assert (draft.action, _who(signed)) == ("CREATE", ("rita", "WEB", "CHANGE", "127.0.0.1"))
    assert f"signed {status.upper()}" in signed.detail and signed.patient == procedure.order.patient


def test_correction_and_addendum_on_the_page_are_audited(editor):
    procedure = _performed()
    _post(editor, procedure, "final", findings="No bleed.", impression="Normal.")
    _post(editor, procedure, "correct", findings="Small bleed.", impression="Bleed.")
    _post(editor, procedure, "addendum", text="Called the ward.")
    *_, corrected, added = _events(object_type="report")
    assert "signed CORRECTED" in corrected.detail and "signed ADDENDUM" in added.detail
    assert {_who(corrected), _who(added)} == {("rita", "WEB", "CHANGE", "127.0.0.1")}
    assert corrected.patient == added.patient == procedure.order.patient


def test_opening_the_report_editor_is_a_view_of_the_patient(editor):
    procedure = _performed()
    editor.get(f"/reporting/procedures/{procedure.pk}/")
    (event,) = _events(action="VIEW")
    assert (_who(event), event.patient) == (("rita", "WEB", "VIEW", "127.0.0.1"), procedure.order.patient)


def test_signing_through_the_reports_api_is_audited_at_the_api_door(client):
    procedure = _performed()
    client.force_login(radiologist("rita"))
    draft = client.post("/api/reports/", {"procedure": procedure.pk, "findings": "F", "impression": "I"})
    client.post(f"/api/reports/{draft.json()['id']}/sign/", {"status": "final"})
    created, signed = _events(object_type="report")
    assert _who(created) == ("rita", "API", "CREATE", "127.0.0.1")
    assert _who(signed) == ("rita", "API", "CHANGE", "127.0.0.1") and "signed FINAL" in signed.detail


def _final_report(procedure) -> Report:
    draft = report_save_draft(actor=TEST_ACTOR, procedure=procedure, author=radiologist(), findings="F", impression="I")
    report_sign(actor=TEST_ACTOR, report=draft.report, signer=radiologist(), status=ReportStatus.FINAL)
    return draft.report


def test_a_fhir_read_is_audited_with_the_user_patient_and_resource(editor):
    report = _final_report(_performed())
    assert editor.get(f"/fhir/DiagnosticReport/{report.uid}").status_code == 200
    (event,) = _events()
    assert _who(event) == ("rita", "FHIR", "VIEW", "127.0.0.1")
    assert (event.patient, event.object_type, event.object_id) == (report.order.patient, "report", str(report.pk))
    assert f"DiagnosticReport/{report.uid}" in event.detail


def test_a_fhir_search_is_one_view_event_naming_the_patients_returned(editor):
    first = _performed("AUD1", "PATA").order.patient
    second = _performed("AUD2", "PATB").order.patient
    assert editor.get("/fhir/ServiceRequest").json()["total"] == 2
    (event,) = _events()
    assert _who(event) == ("rita", "FHIR", "VIEW", "127.0.0.1")
    assert event.patient is None and f"patients {first.pk},{second.pk}" in event.detail
    assert "GET /fhir/ServiceRequest" in event.detail


def test_a_fhir_search_of_one_patient_names_that_patient(editor):
    patient = _performed().order.patient
    editor.get("/fhir/Patient", {"identifier": "PATAUD"})
    (event,) = _events()
    assert (event.patient, event.object_type) == (patient, "Patient")


def test_a_room_made_and_deleted_on_the_manage_pages_is_audited(client):
    client.force_login(user_with_role("scheduler", "sam"))
    form = {"code": "MR9", "name": "MR room 9", "modality": "MR", "capacity": 1, "is_active": "on"}
    assert client.post("/manage/rooms/new/", form).status_code == 302
    room = Room.objects.get(code="MR9")
    client.post(f"/manage/rooms/{room.pk}/", {**form, "name": "MR room nine"})
    client.post(f"/manage/rooms/{room.pk}/delete/")
    created, changed, deleted = _events(object_type="room")
    assert [_who(e) for e in (created, changed, deleted)] == [
        ("sam", "WEB", action, "127.0.0.1") for action in ("CREATE", "CHANGE", "DELETE")
    ]
    assert {e.object_id for e in (created, changed, deleted)} == {str(room.pk)}
    assert not Room.objects.filter(code="MR9").exists()


def test_a_station_added_in_the_admin_is_audited_with_the_admin_user(admin_client):
    response = admin_client.post(
        "/admin/ris/station/add/", {"ae_title": "CT09", "modality": "CT", "station_name": "", "location": ""}
    )
    assert response.status_code == 302
    station = Station.objects.get(ae_title="CT09")
    (event,) = _events(object_type="station")
    assert _who(event) == ("admin", "WEB", "CREATE", "127.0.0.1") and event.object_id == str(station.pk)


def test_a_destination_changed_and_deleted_in_the_admin_is_audited(admin_client):
    from ris.models import Destination

    destination = Destination.objects.create(name="PACS", kind=Destination.Kind.DICOM, host="pacs", port=104)
    admin_client.post(f"/admin/ris/destination/{destination.pk}/delete/", {"post": "yes"})
    (event,) = _events(object_type="destination")
    assert _who(event) == ("admin", "WEB", "DELETE", "127.0.0.1") and event.object_id == str(destination.pk)
    assert not Destination.objects.filter(pk=destination.pk).exists()


def test_a_message_shown_on_the_message_page_is_in_the_audit_trail_with_its_patient(admin_client):
    from hl7.log import inbound_store
    from ris.records import MessageHeader

    order = placed_order()
    message = inbound_store(
        raw=b"MSH|^~\\&|EHR|HOSP|RIS|RAD|||ORM^O01|AUDMSG1|P|2.3.1\r",
        header=MessageHeader(control_id="AUDMSG1", message_type="ORM^O01"),
    )
    message.order = order
    message.save(update_fields=["order"])
    assert admin_client.get(f"/messages/{message.pk}/").status_code == 200
    event = AuditEvent.objects.filter(action="VIEW", object_type="inboundmessage").get()
    assert (event.actor, event.door, event.patient) == ("admin", "WEB", order.patient)
    assert "AUDMSG1" in event.detail
