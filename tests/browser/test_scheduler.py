"""A scheduler in a real browser: log in, find an order, book it by dragging it
onto the calendar, see it in the DICOM worklist; a conflicting drag is refused
and snaps back; the status board follows status changes without a reload."""

import datetime as dt

import pytest
from django.utils import timezone

from ris.models import Appointment
from ris.services.appointments import appointment_book
from tests import factories as f
from tests import mpps_scu
from tests.browser.conftest import log_in, wait_until
from tests.factories import TEST_ACTOR
from tests.peers import findscu

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# Finds the screen point of a room's column at a wall time, by asking the
# calendar itself (dateFromPoint) while scanning its body.
FIND_SLOT = """([roomId, hhmm]) => {
  const cal = window.risCalendar, box = document.querySelector('#calendar .ec-body').getBoundingClientRect();
  for (let y = box.top + 2; y < box.bottom; y += 4)
    for (let x = box.left + 2; x < box.right; x += 20) {
      const hit = cal.dateFromPoint(x, y);
      if (!hit || !hit.resource || hit.resource.id !== String(roomId)) continue;
      const t = String(hit.date.getHours()).padStart(2, '0') + ':' + String(hit.date.getMinutes()).padStart(2, '0');
      if (t === hhmm) return {x: x + 40, y: y + 3};
    }
  return null;
}"""


@pytest.fixture
def today():
    """The day the calendar tests book: tomorrow, since a booking in the past is refused."""
    return timezone.localdate() + dt.timedelta(days=1)


@pytest.fixture
def ct_rooms():
    return (
        f.room("CT1", ae_title="CT1_SCANNER", opens=dt.time(6), closes=dt.time(21)),
        f.room("CT2", ae_title="CT2_SCANNER", opens=dt.time(6), closes=dt.time(21)),
    )


def slot_point(page, room, hhmm: str) -> dict:
    page.locator("#calendar .ec-body").scroll_into_view_if_needed()
    point = page.evaluate(FIND_SLOT, [room.pk, hhmm])
    assert point, f"no {hhmm} slot visible for {room.code}"
    return point


def drag_event(page, event, point: dict) -> None:
    """Drag a calendar event with the mouse (EventCalendar uses pointer events)."""
    box = event.bounding_box()
    page.mouse.move(box["x"] + 10, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(point["x"], point["y"] + box["height"] / 2, steps=15)
    page.mouse.up()


def test_scheduler_finds_an_order_drags_it_onto_a_slot_and_the_modality_sees_it(page, dicom, ct_rooms, today):
    ct1, _ = ct_rooms
    step = f.step(patient_id="MRN42", name="DRAG^DORA", accession="ACC42")
    f.user_with_role("scheduler", "sam")
    log_in(page, "sam", f.PASSWORD)

    page.goto("/orders/")
    page.get_by_label("Accession, MRN or name").fill("ACC42")
    page.get_by_role("button", name="Filter", exact=True).click()
    assert page.locator("tr.order-row").all_inner_texts()[0].count("DRAG, DORA") == 1  # as people read it

    page.goto(f"/calendar/?day={today}")
    wait_until(page, "window.risCalendar !== undefined")
    order = page.locator('.unbooked-step[data-accession="ACC42"]')
    target = slot_point(page, ct1, "10:00")
    box = page.locator("#calendar").bounding_box()
    order.drag_to(page.locator("#calendar"), target_position={"x": target["x"] - box["x"], "y": target["y"] - box["y"]})
    page.locator(".ec-event", has_text="ACC42").wait_for()
    assert order.count() == 0

    step.refresh_from_db()
    assert timezone.localtime(step.start).time() == dt.time(10, 0)
    responses, proc = findscu(
        dicom,
        [
            "ScheduledProcedureStepSequence[0].ScheduledStationAETitle=CT1_SCANNER",
            f"ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartDate={today:%Y%m%d}",
            "ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartTime",
            "ScheduledProcedureStepSequence[0].ScheduledProcedureStepLocation",
            "AccessionNumber",
            "PatientName",
        ],
    )
    assert proc.returncode == 0, proc.stderr
    assert [r.AccessionNumber for r in responses] == ["ACC42"]
    sps = responses[0].ScheduledProcedureStepSequence[0]
    assert (sps.ScheduledProcedureStepStartTime[:4], sps.ScheduledProcedureStepLocation) == ("1000", "CT1")


def test_conflicting_drag_is_refused_with_the_reason_and_snaps_back(page, ct_rooms, today):
    ct1, _ = ct_rooms
    appointment_book(
        actor=TEST_ACTOR, step=f.step(patient_id="P1", accession="ACC1"), room=ct1, start=f.local(today, 9)
    )
    later = appointment_book(
        actor=TEST_ACTOR, step=f.step(patient_id="P2", accession="ACC2"), room=ct1, start=f.local(today, 11)
    )
    f.user_with_role("scheduler", "sam")
    log_in(page, "sam", f.PASSWORD)
    page.goto(f"/calendar/?day={today}")
    event = page.locator(".ec-event", has_text="ACC2")
    event.wait_for()

    drag_event(page, event, slot_point(page, ct1, "09:00"))

    refusal = page.get_by_role("alert")
    refusal.wait_for()
    assert "CT1 already has 1 exam" in refusal.inner_text()
    eleven = slot_point(page, ct1, "11:00")
    assert abs(event.bounding_box()["y"] - eleven["y"]) < 8  # back in its 11:00 slot
    assert event.inner_text().startswith("11:00")  # its time, not the 09:00 it was dropped on
    later.refresh_from_db()
    assert later.start == f.local(today, 11)


def test_dragging_a_booking_to_a_free_slot_moves_it_in_the_worklist(page, ct_rooms, today):
    ct1, ct2 = ct_rooms
    appointment = appointment_book(actor=TEST_ACTOR, step=f.step(accession="ACC3"), room=ct1, start=f.local(today, 9))
    f.user_with_role("scheduler", "sam")
    log_in(page, "sam", f.PASSWORD)
    page.goto(f"/calendar/?day={today}")
    event = page.locator(".ec-event", has_text="ACC3")
    event.wait_for()

    drag_event(page, event, slot_point(page, ct2, "12:00"))

    page.locator(".ec-event", has_text="12:00").wait_for()
    for _ in range(50):  # the event moves at once; the server's answer follows
        appointment.step.refresh_from_db()
        if appointment.step.station_ae_title == "CT2_SCANNER":
            break
        page.wait_for_timeout(100)
    assert (appointment.step.station_ae_title, timezone.localtime(appointment.step.start).hour) == ("CT2_SCANNER", 12)
    assert Appointment.objects.get().room == ct2


def test_status_board_shows_an_exam_started_by_mpps_without_reloading(page, dicom):
    now = timezone.now()
    first = f.step(patient_id="P1", accession="ACC7", name="BOARD^BEN", start=now)
    second = f.step(patient_id="P2", accession="ACC8", name="BOARD^BELLA", start=now)
    f.user_with_role("technologist", "tom")
    log_in(page, "tom", f.PASSWORD)
    page.goto("/board/")
    status = page.locator(f"#step-{first.pk} .step-status")
    assert status.inner_text() == "Scheduled"  # as people read it

    page.locator(f"#step-{second.pk}").get_by_role("button", name="Check in").click()
    page.locator(f"#step-{second.pk} .step-status", has_text="ARRIVED").wait_for()

    procedure = first.requested_procedure
    item = mpps_scu.scheduled_item(
        procedure.study_instance_uid, accession="ACC7", rp_id=procedure.requested_procedure_id, sps_id=first.sps_id
    )
    with mpps_scu.MppsScu(dicom) as modality:  # the modality starts the exam
        status_reply, _ = modality.create(mpps_scu.in_progress([item], patient_id="P1"))
    assert status_reply.Status == 0x0000
    page.locator(f"#step-{first.pk} .step-status", has_text="STARTED").wait_for(timeout=8000)


def test_keyboard_only_booking_from_the_calendar_list(page, ct_rooms, today):
    ct1, _ = ct_rooms
    step = f.step(accession="ACC5")
    f.user_with_role("scheduler", "sam")
    log_in(page, "sam", f.PASSWORD)
    page.goto(f"/calendar/?day={today}")
    wait_until(page, "window.risCalendar !== undefined")
    page.locator('.unbooked-step[data-accession="ACC5"]').focus()
    page.keyboard.press("Enter")
    page.get_by_label("Room").select_option(str(ct1.pk))
    page.get_by_label("Start").fill(f"{today}T14:30")
    page.get_by_label("Start").press("Enter")
    page.get_by_role("status").filter(has_text="booked").wait_for()
    step.refresh_from_db()
    assert (timezone.localtime(step.start).time(), step.location) == (dt.time(14, 30), "CT1")


def test_week_view_shows_the_booking_on_its_day(page, ct_rooms, today):
    ct1, _ = ct_rooms
    appointment_book(actor=TEST_ACTOR, step=f.step(accession="ACC6"), room=ct1, start=f.local(today, 9))
    f.user_with_role("scheduler", "sam")
    log_in(page, "sam", f.PASSWORD)
    page.goto(f"/calendar/?day={today}")
    page.get_by_role("button", name="week").click()
    page.locator(".ec-event", has_text="ACC6").wait_for()
    assert page.locator(".ec-col-head").count() >= 7 * 2  # a column per day and room
