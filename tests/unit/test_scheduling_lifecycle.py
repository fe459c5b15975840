"""The scheduling lifecycle: cancel, unbook, reschedule, no-show (each with a
reason, audited with its actor, seen on the worklist and by the EHR); an order
change from the EHR that moves its booking or flags it; no booking in the
past; opening hours across midnight."""

import datetime as dt

import pytest
from django.utils import timezone
from pydicom.dataset import Dataset

from hl7.intake import receive
from ris.exceptions import BookingInPast, IllegalTransition, InvalidInput, RoomClosed
from ris.models import Appointment, AuditEvent, Destination, OpeningHours, OutboundMessage, ScheduledProcedureStep
from ris.services.appointments import appointment_book, appointment_move, appointment_unbook
from ris.services.steps import (
    step_cancel,
    step_check_in,
    step_no_show,
    step_set_status,
    step_start_outside_modality,
)
from tests import factories as f
from tests.factories import TEST_ACTOR
from tests.hl7_builders import orm_control, orm_new_order
from worklist.query import build_query

pytestmark = pytest.mark.django_db


@pytest.fixture
def monday():
    return f.next_monday()


@pytest.fixture
def ehr(db):
    return Destination.objects.create(
        name="EHR", kind=Destination.Kind.HL7_MLLP, host="127.0.0.1", port=1, events=["order_status"]
    )


def on_worklist(step: ScheduledProcedureStep) -> bool:
    """What a modality's universal C-FIND would return (worklist/query.py)."""
    identifier = Dataset()
    identifier.ScheduledProcedureStepSequence = [Dataset()]
    condition = build_query(identifier).condition
    return ScheduledProcedureStep.objects.filter(condition, pk=step.pk).exists()


def last_audit(step: ScheduledProcedureStep) -> AuditEvent:
    return AuditEvent.objects.filter(patient=step.requested_procedure.order.patient).order_by("-pk").first()


# -- cancel, no-show, unbook, reschedule ---------------------------------------------


def test_cancelling_a_booked_exam_takes_it_off_the_worklist_frees_the_slot_and_tells_the_ehr(monday, ehr):
    scheduler = f.user_with_role("scheduler")
    ct1, step = f.room(), f.step()
    appointment_book(actor=TEST_ACTOR, step=step, room=ct1, start=f.local(monday, 9))
    step_cancel(actor=f.actor_of(scheduler), step=step, reason="patient moved away")
    step.refresh_from_db()
    assert (step.status, step.status_reason) == ("CANCELED", "patient moved away")
    assert not on_worklist(step)
    event = last_audit(step)
    assert (event.actor, event.detail) == (scheduler.username, "cancelled: patient moved away")
    message = OutboundMessage.objects.get(event="order_status")
    assert message.context["status"] == "CANCELED"
    appointment_book(actor=TEST_ACTOR, step=f.step(patient_id="P2"), room=ct1, start=f.local(monday, 9))


def test_cancelling_needs_a_reason(monday):
    step = f.step()
    with pytest.raises(InvalidInput, match="reason"):
        step_cancel(actor=TEST_ACTOR, step=step, reason="  ")
    step.refresh_from_db()
    assert step.status == "SCHEDULED"


def test_a_no_show_is_cancelled_off_the_worklist_and_the_booking_kept_as_a_no_show(monday, ehr):
    step = f.step()
    appointment = appointment_book(actor=TEST_ACTOR, step=step, room=f.room(), start=f.local(monday, 9))
    step_no_show(actor=TEST_ACTOR, step=step, reason="did not come, phoned twice")
    step.refresh_from_db()
    appointment.refresh_from_db()
    assert step.status == "CANCELED" and appointment.no_show
    assert not on_worklist(step)
    assert last_audit(step).detail == "no-show: did not come, phoned twice"
    assert OutboundMessage.objects.get(event="order_status").context["status"] == "CANCELED"


def test_a_no_show_needs_a_booking(monday):
    with pytest.raises(InvalidInput, match="not booked"):
        step_no_show(actor=TEST_ACTOR, step=f.step(), reason="did not come")


def test_unbooking_returns_the_exam_to_the_list_to_book_and_tells_the_ehr(monday, ehr):
    from ris import selectors

    step = f.step()
    appointment = appointment_book(actor=TEST_ACTOR, step=step, room=f.room(), start=f.local(monday, 9))
    appointment_unbook(actor=TEST_ACTOR, appointment=appointment, reason="scanner out of order")
    step.refresh_from_db()
    assert not Appointment.objects.exists()
    assert step.status == "SCHEDULED" and step.location == "" and on_worklist(step)
    assert step in selectors.unbooked_steps()
    assert last_audit(step).detail == "unbooked from CT1: scanner out of order"
    assert OutboundMessage.objects.get(event="order_status").context["status"] == "SCHEDULED"


def test_a_reschedule_with_a_reason_is_audited_and_told_to_the_ehr(monday, ehr):
    step = f.step()
    appointment = appointment_book(actor=TEST_ACTOR, step=step, room=f.room(), start=f.local(monday, 9))
    appointment_move(actor=TEST_ACTOR, appointment=appointment, start=f.local(monday, 11), reason="patient asked")
    step.refresh_from_db()
    assert step.start == f.local(monday, 11)
    assert last_audit(step).detail.startswith("rescheduled (patient asked): CT1")
    assert OutboundMessage.objects.filter(event="order_status").count() == 1


# -- the modality starts the exam ----------------------------------------------------


def test_a_checked_in_patient_stays_on_the_modality_worklist(monday):
    step = f.step()
    step_check_in(actor=TEST_ACTOR, step=step)
    step.refresh_from_db()
    assert step.status == "ARRIVED" and on_worklist(step)


def test_a_manual_start_is_refused_and_the_exam_stays_on_the_worklist(monday):
    step = f.step()
    with pytest.raises(IllegalTransition, match="started by its modality"):
        step_set_status(actor=TEST_ACTOR, step=step, status="STARTED")
    step.refresh_from_db()
    assert step.status == "SCHEDULED" and on_worklist(step)


def test_started_outside_the_modality_needs_a_reason_and_takes_it_off_the_worklist(monday):
    step = f.step()
    with pytest.raises(InvalidInput):
        step_start_outside_modality(actor=TEST_ACTOR, step=step, reason="")
    step_start_outside_modality(actor=TEST_ACTOR, step=step, reason="portable X-ray, no MPPS")
    step.refresh_from_db()
    assert step.status == "STARTED" and not on_worklist(step)
    assert last_audit(step).detail == "started outside the modality: portable X-ray, no MPPS"


# -- no booking in the past ----------------------------------------------------------


def test_a_booking_in_the_past_is_refused():
    room = f.room(opens=dt.time(0), closes=dt.time(0))
    yesterday = timezone.now() - dt.timedelta(days=1)
    with pytest.raises(BookingInPast, match="in the past"):
        appointment_book(actor=TEST_ACTOR, step=f.step(), room=room, start=yesterday)


def test_a_walk_in_booked_now_is_accepted():
    room = f.room(opens=dt.time(0), closes=dt.time(0))
    now = timezone.now().replace(second=0, microsecond=0)
    appointment = appointment_book(actor=TEST_ACTOR, step=f.step(), room=room, start=now)
    assert appointment.start == now


def test_moving_a_booking_into_the_past_is_refused(monday):
    room = f.room(opens=dt.time(0), closes=dt.time(0))
    appointment = appointment_book(actor=TEST_ACTOR, step=f.step(), room=room, start=f.local(monday, 9))
    with pytest.raises(BookingInPast):
        appointment_move(actor=TEST_ACTOR, appointment=appointment, start=timezone.now() - dt.timedelta(hours=3))


# -- opening hours across midnight ---------------------------------------------------


def test_a_room_open_24_hours_takes_a_booking_across_midnight(monday):
    room = f.room(opens=dt.time(0), closes=dt.time(0))
    appointment = appointment_book(
        actor=TEST_ACTOR, step=f.step(), room=room, start=f.local(monday, 23, 45), duration_minutes=30
    )
    assert timezone.localtime(appointment.end).time() == dt.time(0, 15)


def test_a_night_shift_period_runs_into_the_next_morning(monday):
    room = f.room()
    OpeningHours.objects.filter(room=room).delete()
    OpeningHours.objects.create(room=room, weekday=monday.weekday(), opens=dt.time(22), closes=dt.time(6))
    tuesday = monday + dt.timedelta(days=1)
    appointment_book(actor=TEST_ACTOR, step=f.step(), room=room, start=f.local(tuesday, 5, 30), duration_minutes=30)
    with pytest.raises(RoomClosed):
        appointment_book(
            actor=TEST_ACTOR,
            step=f.step(patient_id="P2"),
            room=room,
            start=f.local(tuesday, 5, 45),
            duration_minutes=30,
        )


def test_a_booking_across_midnight_into_a_closed_morning_is_refused(monday):
    room = f.room(opens=dt.time(7), closes=dt.time(0))  # 07:00 to midnight
    with pytest.raises(RoomClosed):
        appointment_book(actor=TEST_ACTOR, step=f.step(), room=room, start=f.local(monday, 23, 50), duration_minutes=20)


# -- an order change from the EHR ------------------------------------------------------


def _hl7_time(at: dt.datetime) -> str:
    return timezone.localtime(at).strftime("%Y%m%d%H%M%S")


@pytest.mark.django_db(transaction=True)
def test_an_hl7_xo_with_a_new_time_moves_its_booking_on_the_calendar(monday):
    room = f.room("CT01", opens=dt.time(7), closes=dt.time(19))
    receive(orm_new_order("N1", start=_hl7_time(f.local(monday, 8))).encode(), "test")
    step = ScheduledProcedureStep.objects.get()
    appointment_book(actor=TEST_ACTOR, step=step, room=room, start=f.local(monday, 9))
    [ack] = receive(orm_control("X1", "XO", obr={24: "CT"}, orc={7: f"^^^{_hl7_time(f.local(monday, 15))}"}).encode())
    assert b"MSA|AA|X1" in ack
    appointment = Appointment.objects.get()
    step.refresh_from_db()
    assert appointment.start == step.start == f.local(monday, 15)
    assert step.scheduling_note == ""


@pytest.mark.django_db(transaction=True)
def test_an_hl7_xo_to_a_time_the_room_is_closed_releases_the_booking_and_flags_it(monday):
    from ris import selectors

    room = f.room("CT01", opens=dt.time(7), closes=dt.time(19))
    receive(orm_new_order("N1", start=_hl7_time(f.local(monday, 8))).encode(), "test")
    step = ScheduledProcedureStep.objects.get()
    appointment_book(actor=TEST_ACTOR, step=step, room=room, start=f.local(monday, 9))
    receive(orm_control("X1", "XO", obr={24: "CT"}, orc={7: f"^^^{_hl7_time(f.local(monday, 21))}"}).encode())
    step.refresh_from_db()
    assert not Appointment.objects.exists()
    assert step.start == f.local(monday, 21)
    assert "could not follow" in step.scheduling_note and "not open" in step.scheduling_note
    assert step in selectors.unbooked_steps()


@pytest.mark.django_db(transaction=True)
def test_an_hl7_xo_repeating_the_requested_time_keeps_a_booking_the_scheduler_moved(monday):
    room = f.room("CT01")
    receive(orm_new_order("N1", start=_hl7_time(f.local(monday, 8))).encode(), "test")
    step = ScheduledProcedureStep.objects.get()
    appointment_book(actor=TEST_ACTOR, step=step, room=room, start=f.local(monday, 10))
    receive(
        orm_control(
            "X1", "XO", obr={24: "CT", 31: "^New reason"}, orc={7: f"^^^{_hl7_time(f.local(monday, 8))}"}
        ).encode()
    )
    assert Appointment.objects.get().start == f.local(monday, 10)


@pytest.mark.parametrize("version", ["2.3.1", "2.5.1"])
def test_the_ehr_hears_the_rescheduled_time_in_the_order_status_message(monday, version):
    from hl7apy.consts import VALIDATION_LEVEL
    from hl7apy.parser import parse_message

    from ris.services.outbox import outbox_build

    Destination.objects.create(
        name="EHR",
        kind=Destination.Kind.HL7_MLLP,
        host="127.0.0.1",
        port=1,
        events=["order_status"],
        hl7_version=version,
    )
    step = f.step()
    appointment = appointment_book(actor=TEST_ACTOR, step=step, room=f.room(), start=f.local(monday, 9))
    appointment_move(actor=TEST_ACTOR, appointment=appointment, start=f.local(monday, 11), reason="patient asked")
    message = outbox_build(message=OutboundMessage.objects.get())
    parsed = parse_message(
        message.payload.replace("\n", "\r"), validation_level=VALIDATION_LEVEL.STRICT, find_groups=True
    )
    expected = timezone.localtime(f.local(monday, 11)).strftime("%Y%m%d%H%M%S")
    if version == "2.5.1":
        parsed.validate()
        assert parsed.omi_o23_order.omi_o23_timing.tq1.tq1_7.to_er7().startswith(expected)
    else:
        assert parsed.orm_o01_order.orc.orc_7.to_er7().split("^")[3].startswith(expected)
    assert "|SC|" in message.payload


def test_following_an_order_change_leaves_the_booking_of_an_exam_under_way(monday):
    from ris.services.appointments import appointment_follow_step

    step = f.step(accession="ACC9")
    appointment_book(actor=TEST_ACTOR, step=step, room=f.room(), start=f.local(monday, 9))
    step = step_start_outside_modality(actor=TEST_ACTOR, step=step, reason="no MPPS")
    step.start = f.local(monday, 21)
    step.save(update_fields=["start"])
    appointment_follow_step(actor=TEST_ACTOR, step=step)
    assert Appointment.objects.get().start == f.local(monday, 9)


def test_an_exam_under_way_cannot_be_unbooked(monday):
    from ris.exceptions import StepNotBookable

    step = f.step()
    appointment = appointment_book(actor=TEST_ACTOR, step=step, room=f.room(), start=f.local(monday, 9))
    step_start_outside_modality(actor=TEST_ACTOR, step=step, reason="no MPPS")
    with pytest.raises(StepNotBookable):
        appointment_unbook(actor=TEST_ACTOR, appointment=appointment, reason="mistake")


def test_a_room_open_24_hours_takes_a_booking_across_the_spring_clock_change(site_zone):
    import zoneinfo

    room = f.room(opens=dt.time(0), closes=dt.time(0))
    day = dt.date(timezone.localdate().year + 1, 3, 31)
    day -= dt.timedelta(days=(day.weekday() + 1) % 7)  # the last Sunday of March: 02:00 becomes 03:00
    start = dt.datetime.combine(day, dt.time(1, 45), tzinfo=zoneinfo.ZoneInfo(site_zone))
    appointment = appointment_book(actor=TEST_ACTOR, step=f.step(), room=room, start=start, duration_minutes=60)
    assert timezone.localtime(appointment.end).time() == dt.time(3, 45)
