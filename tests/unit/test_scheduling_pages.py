"""The scheduler's and technologist's pages for the lifecycle, the list to
book, the next free slot, the status board's refusals and focus, and the
turnaround dashboard."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from ris.models import Appointment, BlockedTime, OpeningHours, PerformedProcedureStep
from ris.records import PerformedStepData, ScheduledStepRef
from ris.selectors.scheduling import next_free_slot
from ris.selectors.turnaround import overdue_reports, turnaround_rows
from ris.services.appointments import appointment_book
from ris.services.mpps import mpps_create
from ris.services.scheduling_rules import check_booking
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


@pytest.fixture
def monday():
    return f.next_monday()


# -- the next free slot ----------------------------------------------------------------


def test_next_free_slot_skips_bookings_and_blocked_time_and_passes_every_rule(monday):
    ct1 = f.room(opens=dt.time(7), closes=dt.time(19))
    f.procedure("CTHEAD", minutes=20)
    after = f.local(monday, 7)
    appointment_book(actor=TEST_ACTOR, step=f.step(patient_id="P9"), room=ct1, start=after)
    BlockedTime.objects.create(room=ct1, start=f.local(monday, 7, 20), end=f.local(monday, 8), reason="QA")
    step = f.step()
    slot = next_free_slot(step, after=after)
    assert (slot.room, slot.start, slot.end) == (ct1, f.local(monday, 8), f.local(monday, 8, 20))
    check_booking(step=step, room=slot.room, start=slot.start, end=slot.end, patient_id=slot_patient(step))


def slot_patient(step):
    return step.requested_procedure.order.patient_id


def test_next_free_slot_takes_the_earliest_room_and_an_overnight_period(monday):
    day = f.room("CT1", opens=dt.time(8), closes=dt.time(16))
    night = f.room("CT2")
    OpeningHours.objects.filter(room=night).delete()
    OpeningHours.objects.create(room=night, weekday=(monday.weekday() - 1) % 7, opens=dt.time(22), closes=dt.time(6))
    slot = next_free_slot(f.step(), after=f.local(monday, 2))
    assert (slot.room, slot.start) == (night, f.local(monday, 2))  # Sunday night's period, before CT1 opens
    assert next_free_slot(f.step(patient_id="P2"), after=f.local(monday, 9)).room == day


def test_next_free_slot_respects_the_patients_other_bookings(monday):
    ct1, ct2 = f.room("CT1"), f.room("CT2")
    appointment_book(actor=TEST_ACTOR, step=f.step(patient_id="P1"), room=ct1, start=f.local(monday, 9))
    slot = next_free_slot(f.step(patient_id="P1"), after=f.local(monday, 9))
    assert slot.start == f.local(monday, 9, 15)  # CT2 is free at 09:00, the patient is not
    assert slot.room in (ct1, ct2)


def test_next_free_slot_is_none_without_a_room_of_the_modality(monday):
    f.room("MR1", modality="MR")
    assert next_free_slot(f.step(), after=f.local(monday, 9)) is None


# -- the list to book --------------------------------------------------------------------


def test_the_list_to_book_is_by_priority_then_requested_time_with_a_suggestion(scheduler, monday):
    f.room()
    f.step(patient_id="P1", accession="LATE", start=f.local(monday, 8))
    f.step(patient_id="P2", accession="ROUTINE1", start=f.local(monday, 7))
    f.step(patient_id="P3", accession="STAT1", start=f.local(monday, 10), priority="STAT")
    page = scheduler.get(reverse("calendar"))
    accessions = [s.requested_procedure.order.accession_number for s in page.context["unbooked"]]
    assert accessions == ["STAT1", "ROUTINE1", "LATE"]
    assert "Next free: CT1" in page.content.decode()


def test_the_list_to_book_is_paged(scheduler, monday):
    for n in range(20):
        f.step(patient_id=f"P{n}", start=f.local(monday, 8))
    first = scheduler.get(reverse("calendar_to_book"))
    second = scheduler.get(reverse("calendar_to_book"), {"page": 2})
    assert len(first.context["unbooked"]) == 15 and len(second.context["unbooked"]) == 5
    assert "page 1 of 2 (20 to book)" in first.content.decode()


def test_a_flagged_order_shows_its_note_on_the_list_to_book(scheduler, monday):
    step = f.step()
    step.scheduling_note = "The order now asks for 21:00; the booking in CT1 could not follow"
    step.save()
    assert "could not follow" in scheduler.get(reverse("calendar")).content.decode()


def test_the_order_queue_is_paged_most_urgent_first(scheduler, monday):
    for n in range(55):
        f.step(patient_id=f"P{n}", start=f.local(monday, 8))
    f.step(patient_id="PS", accession="URGENT", start=f.local(monday, 18), priority="STAT")
    page = scheduler.get(reverse("order_queue"))
    steps = list(page.context["steps"])
    assert len(steps) == 50 and steps[0].requested_procedure.order.accession_number == "URGENT"


# -- the calendar grid ----------------------------------------------------------------------


def test_the_calendar_grid_spans_the_whole_day_for_a_room_open_24_hours(scheduler):
    f.room("CT1", opens=dt.time(0), closes=dt.time(0))
    page = scheduler.get(reverse("calendar")).content.decode()
    assert 'data-slot-min="00:00" data-slot-max="24:00"' in page


def test_the_calendar_grid_follows_the_opening_hours(scheduler):
    f.room("CT1", opens=dt.time(7, 30), closes=dt.time(22, 15))
    page = scheduler.get(reverse("calendar")).content.decode()
    assert 'data-slot-min="07:00" data-slot-max="23:00"' in page


def test_calendar_events_grey_the_closed_hours_of_each_room(scheduler, monday):
    ct1 = f.room(opens=dt.time(7), closes=dt.time(19))
    events = scheduler.get(
        reverse("calendar_events"), {"start": f"{monday}T00:00:00", "end": f"{monday + dt.timedelta(days=1)}T00:00:00"}
    ).json()
    closed = [(e["start"], e["end"]) for e in events if "ris-closed" in e.get("classNames", [])]
    assert closed == [
        (f"{monday}T00:00", f"{monday}T07:00"),
        (f"{monday}T19:00", f"{monday + dt.timedelta(days=1)}T00:00"),
    ]
    assert all(e["resourceIds"] == [str(ct1.pk)] for e in events)


# -- the step page: book, walk in, reschedule, unbook, cancel, no-show ---------------------------


def test_the_step_page_offers_the_next_free_slot(scheduler, monday):
    f.room(opens=dt.time(0), closes=dt.time(0))
    page = scheduler.get(reverse("step_book", args=[f.step().pk])).content.decode()
    assert "Next free slot: CT1" in page


def test_a_walk_in_is_booked_from_now(scheduler):
    ct1, step = f.room(opens=dt.time(0), closes=dt.time(0)), f.step()
    answer = scheduler.post(reverse("step_book", args=[step.pk]), {"room": ct1.pk, "now": ""})
    assert answer.status_code == 302
    assert abs(Appointment.objects.get().start - timezone.now()) < dt.timedelta(minutes=2)


def test_a_booking_in_the_past_is_refused_on_the_page_with_its_reason(scheduler):
    ct1, step = f.room(opens=dt.time(0), closes=dt.time(0)), f.step()
    yesterday = timezone.localtime() - dt.timedelta(days=1)
    answer = scheduler.post(
        reverse("step_book", args=[step.pk]), {"room": ct1.pk, "start": yesterday.strftime("%Y-%m-%dT%H:%M")}
    )
    assert answer.status_code == 400 and "is in the past" in answer.content.decode()


def test_cancel_from_the_page_needs_a_reason_and_records_it(scheduler, monday):
    step = f.step()
    appointment_book(actor=TEST_ACTOR, step=step, room=f.room(), start=f.local(monday, 9))
    refused = scheduler.post(reverse("step_cancel", args=[step.pk]), {"reason": ""}, follow=True)
    assert "Not done" in refused.content.decode()
    scheduler.post(reverse("step_cancel", args=[step.pk]), {"reason": "patient declined"})
    step.refresh_from_db()
    assert (step.status, step.status_reason) == ("CANCELED", "patient declined")


def test_unbook_and_no_show_from_the_page(scheduler, monday):
    ct1, first, second = f.room(), f.step(patient_id="P1"), f.step(patient_id="P2")
    appointment_book(actor=TEST_ACTOR, step=first, room=ct1, start=f.local(monday, 9))
    appointment_book(actor=TEST_ACTOR, step=second, room=ct1, start=f.local(monday, 10))
    scheduler.post(reverse("step_unbook", args=[first.pk]), {"reason": "room closes for repair"})
    scheduler.post(reverse("step_no_show", args=[second.pk]), {"reason": "did not come"})
    assert list(Appointment.objects.values_list("step_id", "no_show")) == [(second.pk, True)]


def test_a_reschedule_with_a_reason_from_the_page(scheduler, monday):
    ct1, step = f.room(), f.step()
    appointment_book(actor=TEST_ACTOR, step=step, room=ct1, start=f.local(monday, 9))
    scheduler.post(
        reverse("step_book", args=[step.pk]),
        {"room": ct1.pk, "start": f"{monday}T11:00", "reason": "patient asked"},
    )
    assert Appointment.objects.get().start == f.local(monday, 11)


# -- the status board ----------------------------------------------------------------------


def _today_step(**kwargs):
    return f.step(start=timezone.now() + dt.timedelta(hours=1), **kwargs)


def test_a_refused_board_change_shows_its_reason(technologist):
    step = _today_step()
    refused = technologist.post(reverse("board_step_status", args=[step.pk]), {"status": "COMPLETED"})
    body = refused.content.decode()
    assert refused.status_code == 409
    assert 'id="board-refusal" hx-swap-oob="true"' in body and "cannot go from SCHEDULED to COMPLETED" in body


def test_the_board_page_lets_htmx_swap_a_refusal(technologist):
    page = technologist.get(reverse("board")).content.decode()
    assert 'id="board-refusal"' in page and "ris/board.js" in page


def test_every_board_control_has_a_stable_id_so_focus_survives_the_refresh(technologist):
    step = _today_step()
    first = technologist.get(reverse("board_rows")).content.decode()
    second = technologist.get(reverse("board_rows")).content.decode()
    controls = re.findall(r"<(?:button|select|input)\b[^>]*>", first)
    ids = [re.search(r'\bid="([^"]+)"', c) for c in controls]
    assert controls and all(ids), controls
    assert [i.group(1) for i in ids] == re.findall(r'<(?:button|select|input)\b[^>]*\bid="([^"]+)"', second)
    assert f"checkin-{step.pk}" in first


def test_the_board_offers_no_manual_start_only_started_outside_the_modality(technologist):
    step = _today_step()
    rows = technologist.get(reverse("board_rows")).content.decode()
    assert '<option value="STARTED">' not in rows and "Started outside the modality" in rows
    refused = technologist.post(reverse("board_step_status", args=[step.pk]), {"status": "STARTED"})
    assert refused.status_code == 409 and "started by its modality" in refused.content.decode()
    technologist.post(reverse("board_step_started", args=[step.pk]), {"reason": "mobile unit, no MPPS"})
    step.refresh_from_db()
    assert step.status == "STARTED"


def test_the_board_shows_priority_reason_and_preparation(technologist):
    f.procedure("CTHEAD")
    step = _today_step(priority="STAT")
    order = step.requested_procedure.order
    order.reason = "Suspected bleed"
    order.save()
    rows = technologist.get(reverse("board_rows")).content.decode()
    assert "STAT" in rows and "Reason: Suspected bleed" in rows and "Preparation: Remove metal objects." in rows


def test_the_board_marks_an_exam_late_a_quarter_hour_after_its_time(technologist):
    f.step(start=timezone.now() - dt.timedelta(minutes=20))
    if timezone.localtime(timezone.now() - dt.timedelta(minutes=20)).date() != timezone.localdate():
        pytest.skip("just after midnight the late exam is yesterday's")
    rows = technologist.get(reverse("board_rows")).content.decode()
    assert "late" in rows and 'badge bg-danger">late' in rows


# -- turnaround ------------------------------------------------------------------------------


def _performed(step, start: dt.datetime) -> PerformedProcedureStep:
    procedure = step.requested_procedure
    ref = ScheduledStepRef(
        study_instance_uid=procedure.study_instance_uid,
        accession_number=procedure.order.accession_number,
        sps_id=step.sps_id,
    )
    data = PerformedStepData(
        sop_instance_uid=f"1.2.3.{step.pk}",
        status="IN PROGRESS",
        pps_id=f"PPS{step.pk}",
        station_ae_title="CT1_AE",
        start=start,
        modality="CT",
        scheduled_steps=[ref],
    )
    return mpps_create(data=data, actor=TEST_ACTOR)


def test_turnaround_takes_performed_from_the_mpps_not_the_booking(monday):
    step = f.step(priority="STAT")
    appointment_book(actor=TEST_ACTOR, step=step, room=f.room(), start=f.local(monday, 9))
    started = timezone.now() - dt.timedelta(hours=2)
    _performed(step, started)
    [row] = turnaround_rows(since=timezone.now() - dt.timedelta(days=1), until=timezone.now())
    assert row.booked is not None and row.performed == started
    assert row.overdue  # STAT: the final report was due an hour after the exam began
    assert list(overdue_reports()) == [step.requested_procedure]


def test_the_turnaround_page_shows_medians_and_overdue_exams(technologist):
    step = f.step(priority="STAT", accession="LATE1")
    _performed(step, timezone.now() - dt.timedelta(hours=3))
    page = technologist.get(reverse("turnaround")).content.decode()
    assert 'id="overdue-count">1<' in page and "order to performed" in page
    assert re.search(r'class="overdue table-danger" data-accession="LATE1"', page)


def test_the_board_marks_an_exam_whose_report_is_overdue(technologist):
    step = _today_step(priority="STAT")
    _performed(step, timezone.now() - dt.timedelta(hours=2))
    rows = technologist.get(reverse("board_rows")).content.decode()
    assert "report overdue" in rows


# -- the same lifecycle over REST -------------------------------------------------------------


def test_the_api_cancels_unbooks_and_suggests_with_the_same_services(monday):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(f.user_with_role("scheduler"))
    room, first, second = f.room(opens=dt.time(0), closes=dt.time(0)), f.step(patient_id="P1"), f.step(patient_id="P2")
    slot = api.get(f"/api/steps/{first.pk}/next-free-slot/").json()
    assert slot["room_code"] == "CT1"
    booked = appointment_book(actor=TEST_ACTOR, step=second, room=room, start=f.local(monday, 9))
    assert api.post(f"/api/steps/{first.pk}/cancel/", {"reason": ""}, format="json").status_code == 400
    cancelled = api.post(f"/api/steps/{first.pk}/cancel/", {"reason": "duplicate order"}, format="json").json()
    assert (cancelled["status"], cancelled["status_reason"]) == ("CANCELED", "duplicate order")
    assert api.post(f"/api/bookings/{booked.pk}/unbook/", {"reason": "room closed"}, format="json").status_code == 204
    assert not Appointment.objects.exists()


def test_the_api_refuses_a_manual_start_but_records_one_outside_the_modality():
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(f.user_with_role("technologist"))
    step = f.step()
    assert api.post(f"/api/steps/{step.pk}/status/", {"status": "STARTED"}, format="json").status_code == 409
    started = api.post(f"/api/steps/{step.pk}/started-outside-modality/", {"reason": "no MPPS"}, format="json")
    assert started.json()["status"] == "STARTED"
