"""The audit coverage walk: every URL that shows patient data (pages, REST,
FHIR reads and searches, the DICOMweb worklist services, the admin) and a worklist C-FIND leave exactly one
audit event, naming the actor, the door and the address."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from hl7.log import inbound_store
from ris.models import AuditEvent
from ris.records import MessageHeader
from ris.services.appointments import appointment_book
from ris.services.reports import report_save_draft, report_sign
from ris.states import ReportStatus
from tests import factories as f
from tests.worklist_peers import mwl_find, mwl_identifier, statuses
from worklist import query_log
from worklist.dicomweb import ups


def _day():
    today = timezone.localdate()
    room = f.room("CT1", "CT", opens=dt.time(0), closes=dt.time(23, 59))
    step = f.step(patient_id="COVER1", name="COVER^AGE", accession="COVACC1")
    appointment = appointment_book(actor=f.TEST_ACTOR, step=step, room=room, start=f.local(today, 23, 30))
    order = step.requested_procedure.order
    procedure = step.requested_procedure
    draft = report_save_draft(
        actor=f.TEST_ACTOR, procedure=procedure, author=f.radiologist(), findings="F", impression="I"
    )
    report = report_sign(actor=f.TEST_ACTOR, report=draft.report, signer=f.radiologist(), status=ReportStatus.FINAL)
    message = inbound_store(
        raw=b"MSH|^~\\&|EHR|HOSP|RIS|RAD|||ORM^O01|COVMSG1|P|2.3.1\r",
        header=MessageHeader(control_id="COVMSG1", message_type="ORM^O01"),
    )
    message.order = order
    message.save(update_fields=["order"])
    report = report if hasattr(report, "uid") else report.report
    return {
        "patient": order.patient,
        "order": order,
        "step": step,
        "procedure": procedure,
        "appointment": appointment,
        "report": report,
        "message": message,
        "today": today,
    }


def _urls(d) -> list[tuple[str, str]]:
    """(door, URL) of every read that shows patient data."""
    day = d["today"]
    start, end = f"{day}T00:00:00", f"{day + dt.timedelta(days=1)}T00:00:00"
    web = [
        "/orders/",
        "/orders/?text=COVER",
        f"/steps/{d['step'].pk}/book/",
        f"/calendar/events/?start={start}&end={end}",
        "/board/",
        "/board/rows/",
        "/patients/?name=COVER",
        f"/patients/{d['patient'].pk}/",
        f"/messages/{d['message'].pk}/",
        "/reporting/",
        f"/reporting/procedures/{d['procedure'].pk}/",
        "/admin/ris/patient/",
        f"/admin/ris/patient/{d['patient'].pk}/change/",
        "/admin/ris/imagingorder/",
        f"/admin/ris/imagingorder/{d['order'].pk}/change/",
        "/admin/ris/scheduledprocedurestep/",
        f"/admin/ris/scheduledprocedurestep/{d['step'].pk}/change/",
        "/admin/ris/report/",
        f"/admin/ris/report/{d['report'].pk}/change/",
        "/admin/hl7/inboundmessage/",
        f"/admin/hl7/inboundmessage/{d['message'].pk}/change/",
    ]
    api = [
        "/api/patients/",
        f"/api/patients/{d['patient'].pk}/",
        "/api/orders/",
        f"/api/orders/{d['order'].pk}/",
        "/api/steps/",
        f"/api/steps/{d['step'].pk}/",
        "/api/bookings/",
        f"/api/bookings/{d['appointment'].pk}/",
        "/api/messages/",
        f"/api/messages/{d['message'].pk}/",
        "/api/reports/",
        f"/api/reports/{d['report'].pk}/",
    ]
    fhir = [
        "/fhir/Patient",
        "/fhir/Patient?identifier=COVER1",
        f"/fhir/Patient/{d['patient'].pk}",
        "/fhir/ServiceRequest",
        f"/fhir/ServiceRequest/{d['order'].pk}",
        "/fhir/DiagnosticReport",
        f"/fhir/DiagnosticReport/{d['report'].uid}",
        "/fhir/ImagingStudy",
        f"/fhir/ImagingStudy/{d['procedure'].pk}",
    ]
    (workitem,) = ups.workitems(patient_id="COVER1")
    dicomweb = [
        "/dicomweb/modality-scheduled-procedure-steps?PatientID=COVER1",
        "/dicomweb/workitems?PatientID=COVER1",
        f"/dicomweb/workitems/{workitem.item.uid}",
    ]
    return (
        [("WEB", u) for u in web]
        + [("API", u) for u in api]
        + [("FHIR", u) for u in fhir]
        + [("DICOM", u) for u in dicomweb]
    )


def _door_events():
    return list(AuditEvent.objects.exclude(door=AuditEvent.Door.SYSTEM).order_by("pk"))


@pytest.mark.django_db
def test_every_read_of_patient_data_leaves_exactly_one_audit_event_naming_the_actor(client):
    data = _day()
    boss = f.user_with_role("administrator", "auditor_ada")
    User.objects.filter(pk=boss.pk).update(is_staff=True, is_superuser=True)
    client.force_login(User.objects.get(pk=boss.pk))
    missing = {}
    for door, url in _urls(data):
        AuditEvent.objects.exclude(door=AuditEvent.Door.SYSTEM).delete()
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        events = _door_events()
        seen = [(e.door, e.action, e.actor, e.address) for e in events]
        if seen != [(door, "VIEW", "auditor_ada", "127.0.0.1")]:
            missing[url] = seen
        elif data["patient"].pk not in _patients_named(events[0]):
            missing[url] = f"patient not named: {events[0].detail}"
    assert not missing, missing


@pytest.mark.django_db
def test_a_search_of_the_message_log_is_one_event_naming_the_query(client):
    client.force_login(f.user_with_role("integration engineer", "ivan"))
    assert client.get("/messages/", {"text": "COVACC1"}).status_code == 200
    (event,) = _door_events()
    assert (event.door, event.action, event.actor, event.object_type) == ("WEB", "VIEW", "ivan", "message log")
    assert "GET /messages/?text=COVACC1" in event.detail


def _patients_named(event: AuditEvent) -> set[int]:
    if event.patient_id:
        return {event.patient_id}
    listed = event.detail.split("patients ", 1)[-1].split(" ", 1)[0]
    return {int(pk) for pk in listed.split(",") if pk.isdigit()}


@pytest.mark.django_db(transaction=True)
def test_a_worklist_query_leaves_exactly_one_audit_event_naming_the_modality(dicom):
    f.step(patient_id="COVERMWL", name="WORK^LIST", accession="COVMWL", modality="CT")
    AuditEvent.objects.all().delete()
    responses = mwl_find(dicom, mwl_identifier(step={"Modality": "CT"}), calling_ae="CTSCANNER")
    assert statuses(responses)[-1] == 0x0000
    assert query_log.writer.flush()  # the listener writes its query log and audit after the answers
    (event,) = AuditEvent.objects.all()
    assert (event.door, event.action, event.actor) == ("DICOM", "VIEW", "CTSCANNER")
    assert "COVERMWL" in event.detail and event.address == "127.0.0.1"
