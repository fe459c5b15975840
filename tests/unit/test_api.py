"""The REST API: every endpoint answers its roles, refuses others (401 / 403),
and maps domain refusals to 4xx with the reason."""

import pytest
from rest_framework.test import APIClient

from hl7.models import InboundMessage
from ris.models import ApiToken, AuditEvent, ImagingOrder, Procedure, Room
from ris.services.appointments import appointment_book
from tests import factories as f
from tests.factories import TEST_ACTOR

pytestmark = pytest.mark.django_db


def api_as(role: str | None) -> APIClient:
    client = APIClient()
    if role is not None:
        client.force_authenticate(f.user_with_role(role))
    return client


@pytest.fixture
def booked():
    """A room, a booked step and a message: something behind every endpoint."""
    room, step = f.room("CT1"), f.step(patient_id="MRN1", accession="ACC1")
    f.procedure()
    appointment = appointment_book(actor=TEST_ACTOR, step=step, room=room, start=f.local(f.next_monday(), 9))
    message = InboundMessage.objects.create(raw=b"MSH|^~\\&|EHR", control_id="C1", message_type="ORM^O01")
    return {
        "room": room,
        "step": step,
        "appointment": appointment,
        "message": message,
        "patient": step.requested_procedure.order.patient,
        "order": step.requested_procedure.order,
    }


# (method, url template, role that may, role that may not)
READS = [
    ("/api/patients/", "radiologist", "integration engineer"),
    ("/api/patients/{patient.pk}/", "technologist", "integration engineer"),
    ("/api/orders/", "scheduler", "integration engineer"),
    ("/api/orders/{order.pk}/", "radiologist", "integration engineer"),
    ("/api/steps/", "technologist", "integration engineer"),
    ("/api/steps/{step.pk}/", "scheduler", "integration engineer"),
    ("/api/procedures/", "scheduler", "integration engineer"),
    ("/api/rooms/", "technologist", "integration engineer"),
    ("/api/rooms/{room.pk}/", "radiologist", "integration engineer"),
    ("/api/bookings/", "scheduler", "integration engineer"),
    ("/api/bookings/{appointment.pk}/", "technologist", "integration engineer"),
    ("/api/messages/", "integration engineer", "scheduler"),
    ("/api/messages/{message.pk}/", "integration engineer", "technologist"),
]


@pytest.mark.parametrize("url,allowed,refused", READS)
def test_each_read_endpoint_answers_its_role_and_refuses_others(booked, url, allowed, refused):
    url = url.format(**booked)
    assert api_as(None).get(url).status_code == 401
    assert api_as(refused).get(url).status_code == 403
    assert api_as(allowed).get(url).status_code == 200


def test_lists_are_paginated_and_filtered(booked):
    f.step(patient_id="MRN2", accession="ACC2", modality="MR", code="MRKNEE")
    body = api_as("scheduler").get("/api/steps/", {"modality": "MR"}).json()
    assert body["count"] == 1 and body["results"][0]["accession_number"] == "ACC2"
    assert set(body) == {"count", "next", "previous", "results"}


def test_patient_read_through_the_api_is_audited(booked):
    api_as("radiologist").get(f"/api/patients/{booked['patient'].pk}/")
    event = AuditEvent.objects.exclude(door="SYSTEM").get()
    assert (event.door, event.action, event.patient) == ("API", "VIEW", booked["patient"])


def test_order_is_placed_through_the_api_by_a_scheduler_only(booked):
    body = {"patient_id": "MRN9", "patient_name": "NEW^NINA", "procedure_code": "CTHEAD", "priority": "STAT"}
    assert api_as("technologist").post("/api/orders/", body, format="json").status_code == 403
    response = api_as("scheduler").post("/api/orders/", body, format="json")
    assert response.status_code == 201, response.json()
    order = ImagingOrder.objects.get(pk=response.json()["id"])
    assert (order.patient.patient_id, order.priority, order.placer_system) == ("MRN9", "STAT", "API")


def test_duplicate_accession_is_a_409_with_the_reason(booked):
    body = {"patient_id": "MRN9", "patient_name": "X", "procedure_code": "CTHEAD", "accession_number": "ACC1"}
    response = api_as("scheduler").post("/api/orders/", body, format="json")
    assert response.status_code == 409 and response.json()["error"] == "DuplicateOrder"


def test_step_status_goes_through_the_state_machine(booked):
    url = f"/api/steps/{booked['step'].pk}/status/"
    assert api_as("scheduler").post(url, {"status": "ARRIVED"}, format="json").status_code == 403
    technologist = api_as("technologist")
    assert technologist.post(url, {"status": "ARRIVED"}, format="json").json()["status"] == "ARRIVED"
    refused = technologist.post(url, {"status": "COMPLETED"}, format="json")
    assert refused.status_code == 409 and "ARRIVED to COMPLETED" in refused.json()["detail"]


def test_booking_through_the_api_checks_the_rules(booked):
    scheduler, monday = api_as("scheduler"), f.next_monday()
    other = f.step(patient_id="MRN2", accession="ACC2")
    body = {"step": other.pk, "room": booked["room"].pk, "start": f.local(monday, 9, 5).isoformat()}
    refused = scheduler.post("/api/bookings/", body, format="json")
    assert refused.status_code == 409 and refused.json()["error"] == "RoomFull"
    body["start"] = f.local(monday, 10).isoformat()
    assert api_as("technologist").post("/api/bookings/", body, format="json").status_code == 403
    created = scheduler.post("/api/bookings/", body, format="json")
    assert created.status_code == 201 and created.json()["duration_minutes"] == 20


def test_booking_is_moved_and_resized_with_patch(booked):
    url, monday = f"/api/bookings/{booked['appointment'].pk}/", f.next_monday()
    scheduler = api_as("scheduler")
    moved = scheduler.patch(url, {"start": f.local(monday, 11).isoformat()}, format="json")
    resized = scheduler.patch(url, {"duration_minutes": 40}, format="json")
    assert moved.status_code == resized.status_code == 200
    booked["step"].refresh_from_db()
    assert (booked["step"].start, booked["step"].expected_duration_minutes) == (f.local(monday, 11), 40)
    assert scheduler.patch(url, {}, format="json").status_code == 400
    assert api_as("radiologist").patch(url, {"duration_minutes": 30}, format="json").status_code == 403


def test_rooms_and_procedures_are_written_by_resource_managers_only(booked):
    room = {"code": "MR1", "name": "MR one", "modality": "MR", "capacity": 1, "is_active": True}
    assert api_as("technologist").post("/api/rooms/", room, format="json").status_code == 403
    assert api_as("scheduler").post("/api/rooms/", room, format="json").status_code == 201
    procedure = {"code": "MRKNEE", "name": "MR Knee", "modality": "MR", "default_duration_minutes": 30, "rooms": []}
    assert api_as("radiologist").post("/api/procedures/", procedure, format="json").status_code == 403
    assert api_as("administrator").post("/api/procedures/", procedure, format="json").status_code == 201
    assert Room.objects.filter(code="MR1").exists() and Procedure.objects.filter(code="MRKNEE").exists()
    assert api_as("administrator").delete(f"/api/rooms/{Room.objects.get(code='MR1').pk}/").status_code == 204


def test_messages_are_read_only(booked):
    engineer = api_as("integration engineer")
    assert engineer.post("/api/messages/", {}, format="json").status_code == 405
    assert engineer.get(f"/api/messages/{booked['message'].pk}/").json()["raw"].startswith("MSH|")


def test_token_authentication_and_its_login_throttle(settings):
    f.user_with_role("scheduler", "sam")
    anonymous = APIClient()
    token = anonymous.post("/api/token/", {"username": "sam", "password": f.PASSWORD}).json()["token"]
    assert ApiToken.objects.get(prefix=token[:8]).user.username == "sam"
    with_token = APIClient()
    with_token.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert with_token.get("/api/steps/").status_code == 200
    for _ in range(settings.RIS_LOGIN_MAX_FAILURES):
        assert anonymous.post("/api/token/", {"username": "sam", "password": "no"}).status_code == 400
    assert anonymous.post("/api/token/", {"username": "sam", "password": f.PASSWORD}).status_code == 429


def test_session_authenticated_writes_need_the_csrf_token(booked):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(f.user_with_role("scheduler"))
    room = {"code": "MR1", "name": "MR one", "modality": "MR", "capacity": 1}
    assert client.post("/api/rooms/", room, format="json").status_code == 403


def test_rooms_and_procedures_are_updated_by_resource_managers_only(booked):
    room_url, procedure_url = f"/api/rooms/{booked['room'].pk}/", f"/api/procedures/{Procedure.objects.get().pk}/"
    assert api_as("technologist").patch(room_url, {"capacity": 2}, format="json").status_code == 403
    assert api_as("scheduler").patch(room_url, {"capacity": 2}, format="json").json()["capacity"] == 2
    assert api_as("radiologist").patch(procedure_url, {"name": "x"}, format="json").status_code == 403
    changed = api_as("scheduler").patch(procedure_url, {"default_duration_minutes": 25}, format="json")
    assert changed.json()["default_duration_minutes"] == 25
    assert api_as("scheduler").patch(procedure_url, {"default_duration_minutes": 0}, format="json").status_code == 400


def test_schema_is_served_as_committed_without_login():
    from pathlib import Path

    committed = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
    response = APIClient().get("/api/schema/")
    assert response.status_code == 200 and response.content.decode() == committed.read_text()


def test_deleting_a_room_with_bookings_is_refused_409_with_the_reason(booked):
    room = booked["room"]
    answer = api_as("administrator").delete(f"/api/rooms/{room.pk}/")
    assert answer.status_code == 409
    assert answer.json()["error"] == "StillInUse" and "still in use (appointments)" in answer.json()["detail"]
    assert Room.objects.filter(pk=room.pk).exists()
