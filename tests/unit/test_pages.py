"""The scheduler's pages: each decodes input, calls one service and shows the result."""

import datetime as dt
import json

import pytest
from django.urls import reverse
from django.utils import timezone

from hl7.models import InboundMessage
from ris.models import Appointment, ImagingOrder, Room, SavedFilter
from ris.services.appointments import appointment_book
from tests import factories as f
from tests.factories import TEST_ACTOR

pytestmark = pytest.mark.django_db


@pytest.fixture
def scheduler(client):
    client.force_login(f.user_with_role("scheduler", "sam"))
    return client


@pytest.fixture
def technologist(client):
    client.force_login(f.user_with_role("technologist", "tom"))
    return client


def test_order_queue_filters_by_modality_priority_and_referring_physician(scheduler):
    f.step(patient_id="P1", accession="CT1", modality="CT", priority="STAT", referring="HOUSE^G")
    f.step(patient_id="P2", accession="MR1", modality="MR", code="MRKNEE", priority="ROUTINE")
    page = scheduler.get(reverse("order_queue"), {"modality": "CT", "priority": "STAT", "referring": "house"})
    assert [s.requested_procedure.order.accession_number for s in page.context["steps"]] == ["CT1"]


def test_order_queue_filters_by_date_and_booked(scheduler):
    monday = f.next_monday()
    booked = f.step(patient_id="P1", accession="A1", start=f.local(monday, 8))
    f.step(patient_id="P2", accession="A2", start=f.local(monday + dt.timedelta(days=1), 8))
    appointment_book(actor=TEST_ACTOR, step=booked, room=f.room(), start=f.local(monday, 9))
    page = scheduler.get(reverse("order_queue"), {"day": monday.isoformat(), "booked": "yes"})
    assert [s.requested_procedure.order.accession_number for s in page.context["steps"]] == ["A1"]


def test_saved_filter_is_kept_per_user_and_listed(scheduler):
    scheduler.post(reverse("saved_filter_save"), {"name": "CT stat", "query": "modality=CT&priority=STAT"})
    saved = SavedFilter.objects.get()
    assert (saved.user.username, saved.query) == ("sam", "modality=CT&priority=STAT")
    assert b"CT stat" in scheduler.get(reverse("order_queue")).content


def test_manual_order_entry_places_an_order_with_an_accession_number(scheduler):
    procedure = f.procedure()
    response = scheduler.post(
        reverse("order_entry"),
        {
            "patient_id": "W1",
            "family_name": "Walk",
            "given_name": "In",
            "procedure": procedure.pk,
            "priority": "ROUTINE",
            "birth_date": "1990-05-01",
            "sex": "M",
        },
    )
    order = ImagingOrder.objects.get()
    step = order.procedures.get().steps.get()
    assert order.accession_number and order.patient.name == "Walk^In"  # as typed, parts joined
    assert (step.modality, step.expected_duration_minutes) == ("CT", 20)
    assert response.url == reverse("step_book", args=[step.pk])  # booked next


def test_keyboard_booking_form_books_or_shows_the_refusal(scheduler):
    monday, ct1 = f.next_monday(), f.room()
    step = f.step()
    url = reverse("step_book", args=[step.pk])
    assert scheduler.post(url, {"room": ct1.pk, "start": f"{monday}T09:00"}).status_code == 302
    other = f.step(patient_id="P9")
    response = scheduler.post(reverse("step_book", args=[other.pk]), {"room": ct1.pk, "start": f"{monday}T09:05"})
    assert b"already has 1 exam" in response.content


def _post_json(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


def test_calendar_drop_books_at_the_site_local_wall_time(scheduler, site_zone):
    monday, ct1, step = f.next_monday(), f.room(), f.step()
    response = _post_json(
        scheduler, reverse("calendar_book"), {"step": step.pk, "room": ct1.pk, "start": f"{monday}T09:30:00"}
    )
    assert response.status_code == 200 and response.json()["start"] == f"{monday}T09:30"
    step.refresh_from_db()
    assert step.start == f.local(monday, 9, 30) and step.start.utcoffset() is not None


def test_calendar_refusal_is_409_with_a_reason(scheduler):
    monday, ct1 = f.next_monday(), f.room()
    response = _post_json(
        scheduler, reverse("calendar_book"), {"step": f.step().pk, "room": ct1.pk, "start": f"{monday}T22:00:00"}
    )
    assert response.status_code == 409 and "not open" in response.json()["reason"]


def test_calendar_move_and_resize(scheduler):
    monday, ct1 = f.next_monday(), f.room()
    appointment = appointment_book(actor=TEST_ACTOR, step=f.step(), room=ct1, start=f.local(monday, 9))
    moved = _post_json(scheduler, reverse("calendar_move", args=[appointment.pk]), {"start": f"{monday}T10:00:00"})
    resized = _post_json(scheduler, reverse("calendar_resize", args=[appointment.pk]), {"duration_minutes": 45})
    assert (moved.status_code, resized.status_code) == (200, 200)
    assert resized.json()["end"] == f"{monday}T10:45"


def test_calendar_events_lists_bookings_in_the_range_with_their_room(scheduler):
    monday, ct1 = f.next_monday(), f.room()
    appointment_book(actor=TEST_ACTOR, step=f.step(), room=ct1, start=f.local(monday, 9))
    events = scheduler.get(
        reverse("calendar_events"), {"start": f"{monday}T00:00:00", "end": f"{monday}T23:59:00"}
    ).json()
    bookings = [e for e in events if e.get("display") != "background"]
    assert [(e["resourceIds"], e["start"]) for e in bookings] == [([str(ct1.pk)], f"{monday}T09:00")]


def test_technologist_cannot_book(technologist):
    response = _post_json(technologist, reverse("calendar_book"), {})
    assert response.status_code == 403 and not Appointment.objects.exists()


def test_status_board_checks_in_and_refuses_an_illegal_move(technologist):
    step = f.step(start=f.local(timezone.localdate(), 12))
    ok = technologist.post(reverse("board_step_status", args=[step.pk]), {"status": "ARRIVED"})
    refused = technologist.post(reverse("board_step_status", args=[step.pk]), {"status": "COMPLETED"})
    step.refresh_from_db()
    assert (ok.status_code, refused.status_code, step.status) == (200, 409, "ARRIVED")
    assert b"cannot go from ARRIVED to COMPLETED" in refused.content


def test_status_board_rows_show_todays_steps_by_room(technologist):
    step = f.step(start=f.local(timezone.localdate(), 12))
    rows = technologist.get(reverse("board_rows"))
    assert f'id="step-{step.pk}"'.encode() in rows.content


def test_scheduler_sees_the_board_but_has_no_status_buttons(scheduler):
    f.step(start=f.local(timezone.localdate(), 12))
    assert b"Check in" not in scheduler.get(reverse("board")).content


def test_patient_search_by_accession_and_birth_date(scheduler):
    f.step(patient_id="MRN5", accession="ACC5", name="ROE^RICHARD")
    by_accession = scheduler.get(reverse("patient_search"), {"accession": "ACC5"}).context["patients"]
    by_birth_date = scheduler.get(reverse("patient_search"), {"birth_date": "1980-01-01"}).context["patients"]
    assert [p.patient_id for p in by_accession] == [p.patient_id for p in by_birth_date] == ["MRN5"]


def test_patient_page_shows_orders_and_steps(scheduler):
    step = f.step(patient_id="MRN5", accession="ACC5")
    page = scheduler.get(reverse("patient", args=[step.requested_procedure.order.patient_id]))
    assert b"ACC5" in page.content and step.sps_id.encode() in page.content


def test_message_log_lists_inbound_messages_with_raw_detail(client):
    message = InboundMessage.objects.create(
        raw=b"MSH|^~\\&|EHR|H|RIS|R|||ORM^O01|C9|P|2.3\rPID|1",
        control_id="C9",
        message_type="ORM^O01",
        sending_application="EHR",
    )
    client.force_login(f.user_with_role("integration engineer"))
    assert b"C9" in client.get(reverse("message_log")).content
    detail = client.get(reverse("message_detail", args=[message.pk]))
    assert b"PID|1" in detail.content
    assert ("MSH-10", "C9") in detail.context["parsed"] and ("MSH-2", "^~\\&") in detail.context["parsed"]


def test_rooms_and_catalogue_are_managed_in_the_ui(scheduler):
    scheduler.post(
        reverse("resource_new", args=["rooms"]),
        {"code": "MR1", "name": "MR one", "modality": "MR", "capacity": 1, "is_active": "on"},
    )
    room = Room.objects.get(code="MR1")
    scheduler.post(
        reverse("resource_new", args=["hours"]), {"room": room.pk, "weekday": 0, "opens": "08:00", "closes": "16:00"}
    )
    scheduler.post(
        reverse("resource_new", args=["procedures"]),
        {"code": "MRKNEE", "name": "MR Knee", "modality": "MR", "default_duration_minutes": 30},
    )
    assert room.opening_hours.count() == 1
    assert b"MR Knee" in scheduler.get(reverse("resource_list", args=["procedures"])).content


def test_room_with_bookings_is_not_deleted(scheduler):
    ct1 = f.room()
    appointment_book(actor=TEST_ACTOR, step=f.step(), room=ct1, start=f.local(f.next_monday(), 9))
    scheduler.post(reverse("resource_delete", args=["rooms", ct1.pk]))
    assert Room.objects.filter(pk=ct1.pk).exists()


def test_calendar_events_with_a_bad_range_is_a_400(scheduler):
    assert scheduler.get(reverse("calendar_events"), {"start": "soon"}).status_code == 400
