"""appointment_book / _move / _resize: each scheduling rule refuses with its reason."""

import datetime as dt

import pytest

from ris.exceptions import (
    InvalidInput,
    PatientDoubleBooked,
    ProcedureNotPossibleInRoom,
    RoomBlocked,
    RoomClosed,
    RoomFull,
    StepNotBookable,
)
from ris.models import BlockedTime, OpeningHours
from ris.services.appointments import appointment_book, appointment_move, appointment_resize
from ris.services.scheduling_rules import most_at_once
from ris.services.steps import step_set_status, step_start_outside_modality
from tests import factories as f
from tests.factories import TEST_ACTOR

pytestmark = pytest.mark.django_db


@pytest.fixture
def monday():
    return f.next_monday()


def test_booking_writes_room_station_start_and_duration_to_the_worklist_step(monday):
    ct1, step = f.room("CT1", ae_title="CT1_SCANNER"), f.step()
    f.procedure("CTHEAD", minutes=20)
    appointment = appointment_book(actor=TEST_ACTOR, step=step, room=ct1, start=f.local(monday, 9))
    step.refresh_from_db()
    assert (step.start, step.expected_duration_minutes) == (f.local(monday, 9), 20)
    assert (step.station_ae_title, step.location) == ("CT1_SCANNER", "CT1")
    assert appointment.end == f.local(monday, 9, 20)


def test_duration_falls_back_to_fifteen_minutes_without_a_catalogue_entry(monday):
    appointment = appointment_book(
        actor=TEST_ACTOR, step=f.step(code="UNKNOWN"), room=f.room(), start=f.local(monday, 9)
    )
    assert appointment.end - appointment.start == dt.timedelta(minutes=15)


def test_booking_outside_opening_hours_is_refused_with_the_hours(monday):
    with pytest.raises(RoomClosed, match="07:00–19:00"):
        appointment_book(
            actor=TEST_ACTOR, step=f.step(), room=f.room(), start=f.local(monday, 18, 50), duration_minutes=20
        )


def test_room_without_hours_that_day_is_closed(monday):
    ct1 = f.room()
    OpeningHours.objects.filter(room=ct1, weekday=0).delete()
    with pytest.raises(RoomClosed, match="closed all day"):
        appointment_book(actor=TEST_ACTOR, step=f.step(), room=ct1, start=f.local(monday, 9))


def test_blocked_time_refuses_with_its_reason(monday):
    ct1 = f.room()
    BlockedTime.objects.create(room=ct1, start=f.local(monday, 8), end=f.local(monday, 10), reason="tube change")
    with pytest.raises(RoomBlocked, match="tube change"):
        appointment_book(actor=TEST_ACTOR, step=f.step(), room=ct1, start=f.local(monday, 9, 45))


def test_second_exam_at_the_same_time_fills_a_room_of_capacity_one(monday):
    ct1 = f.room()
    appointment_book(actor=TEST_ACTOR, step=f.step(patient_id="P1"), room=ct1, start=f.local(monday, 9))
    with pytest.raises(RoomFull, match="CT1"):
        appointment_book(actor=TEST_ACTOR, step=f.step(patient_id="P2"), room=ct1, start=f.local(monday, 9, 10))


def test_room_of_capacity_two_takes_two_overlapping_exams_not_three(monday):
    ct1 = f.room(capacity=2)
    appointment_book(actor=TEST_ACTOR, step=f.step(patient_id="P1"), room=ct1, start=f.local(monday, 9))
    appointment_book(actor=TEST_ACTOR, step=f.step(patient_id="P2"), room=ct1, start=f.local(monday, 9, 5))
    with pytest.raises(RoomFull):
        appointment_book(actor=TEST_ACTOR, step=f.step(patient_id="P3"), room=ct1, start=f.local(monday, 9, 10))


def test_back_to_back_exams_do_not_overlap(monday):
    ct1 = f.room()
    appointment_book(
        actor=TEST_ACTOR, step=f.step(patient_id="P1"), room=ct1, start=f.local(monday, 9), duration_minutes=15
    )
    appointment_book(actor=TEST_ACTOR, step=f.step(patient_id="P2"), room=ct1, start=f.local(monday, 9, 15))


def test_patient_cannot_be_in_two_rooms_at_once(monday):
    ct1, ct2 = f.room("CT1"), f.room("CT2")
    appointment_book(actor=TEST_ACTOR, step=f.step(patient_id="P1"), room=ct1, start=f.local(monday, 9))
    with pytest.raises(PatientDoubleBooked, match="CT1 at 09:00"):
        appointment_book(actor=TEST_ACTOR, step=f.step(patient_id="P1"), room=ct2, start=f.local(monday, 9, 5))


def test_exam_of_another_modality_is_not_possible_in_the_room(monday):
    with pytest.raises(ProcedureNotPossibleInRoom, match="MR exam cannot be done in CT1"):
        appointment_book(actor=TEST_ACTOR, step=f.step(modality="MR"), room=f.room(), start=f.local(monday, 9))


def test_catalogue_rooms_restrict_where_a_procedure_is_done(monday):
    ct1, ct2 = f.room("CT1"), f.room("CT2")
    f.procedure("CTHEAD").rooms.add(ct2)
    with pytest.raises(ProcedureNotPossibleInRoom, match="not done in room CT1"):
        appointment_book(actor=TEST_ACTOR, step=f.step(), room=ct1, start=f.local(monday, 9))


def test_started_step_cannot_be_booked(monday):
    step = f.step()
    step_start_outside_modality(actor=TEST_ACTOR, step=step, reason="no MPPS")
    with pytest.raises(StepNotBookable):
        appointment_book(actor=TEST_ACTOR, step=step, room=f.room(), start=f.local(monday, 9))


def test_canceled_step_releases_its_slot(monday):
    ct1, first = f.room(), f.step(patient_id="P1")
    appointment_book(actor=TEST_ACTOR, step=first, room=ct1, start=f.local(monday, 9))
    step_set_status(actor=TEST_ACTOR, step=first, status="CANCELED")
    appointment_book(actor=TEST_ACTOR, step=f.step(patient_id="P2"), room=ct1, start=f.local(monday, 9))


def test_move_to_another_room_updates_the_worklist_station(monday):
    ct1, ct2 = f.room("CT1"), f.room("CT2", ae_title="CT2_SCANNER")
    appointment = appointment_book(actor=TEST_ACTOR, step=f.step(), room=ct1, start=f.local(monday, 9))
    appointment_move(actor=TEST_ACTOR, appointment=appointment, room=ct2, start=f.local(monday, 11))
    appointment.step.refresh_from_db()
    assert (appointment.step.station_ae_title, appointment.step.start) == ("CT2_SCANNER", f.local(monday, 11))


def test_move_onto_an_occupied_slot_is_refused_and_nothing_changes(monday):
    ct1 = f.room()
    appointment_book(actor=TEST_ACTOR, step=f.step(patient_id="P1"), room=ct1, start=f.local(monday, 9))
    second = appointment_book(actor=TEST_ACTOR, step=f.step(patient_id="P2"), room=ct1, start=f.local(monday, 10))
    with pytest.raises(RoomFull):
        appointment_move(actor=TEST_ACTOR, appointment=second, start=f.local(monday, 9))
    second.refresh_from_db()
    assert second.start == f.local(monday, 10)


def test_move_within_its_own_slot_does_not_collide_with_itself(monday):
    appointment = appointment_book(
        actor=TEST_ACTOR, step=f.step(), room=f.room(), start=f.local(monday, 9), duration_minutes=30
    )
    appointment_move(actor=TEST_ACTOR, appointment=appointment, start=f.local(monday, 9, 15))


def test_resize_into_the_next_booking_is_refused(monday):
    ct1 = f.room()
    first = appointment_book(
        actor=TEST_ACTOR, step=f.step(patient_id="P1"), room=ct1, start=f.local(monday, 9), duration_minutes=15
    )
    appointment_book(actor=TEST_ACTOR, step=f.step(patient_id="P2"), room=ct1, start=f.local(monday, 9, 30))
    appointment_resize(actor=TEST_ACTOR, appointment=first, duration_minutes=30)
    with pytest.raises(RoomFull):
        appointment_resize(actor=TEST_ACTOR, appointment=first, duration_minutes=45)
    first.step.refresh_from_db()
    assert first.step.expected_duration_minutes == 30


def test_booking_an_already_booked_step_moves_it(monday):
    ct1, step = f.room(), f.step()
    first = appointment_book(actor=TEST_ACTOR, step=step, room=ct1, start=f.local(monday, 9))
    again = appointment_book(actor=TEST_ACTOR, step=step, room=ct1, start=f.local(monday, 10))
    assert again.pk == first.pk and again.start == f.local(monday, 10)


def test_naive_start_is_refused(monday):
    with pytest.raises(InvalidInput):
        appointment_book(actor=TEST_ACTOR, step=f.step(), room=f.room(), start=dt.datetime(2030, 1, 7, 9))


def test_most_at_once_counts_overlaps_not_neighbours():
    t = [dt.datetime(2030, 1, 1, h) for h in range(6)]
    assert most_at_once([(t[0], t[2]), (t[1], t[3]), (t[2], t[4])]) == 2
    assert most_at_once([(t[0], t[1]), (t[1], t[2])]) == 1
    assert most_at_once([]) == 0


def test_opening_hours_are_wall_times_of_the_site_zone(monday, site_zone):
    ct1 = f.room(opens=dt.time(7), closes=dt.time(19))
    seven_in_berlin = f.local(monday, 7)
    assert seven_in_berlin.utcoffset() == dt.timedelta(hours=1)
    appointment_book(actor=TEST_ACTOR, step=f.step(), room=ct1, start=seven_in_berlin)
    with pytest.raises(RoomClosed):
        appointment_book(
            actor=TEST_ACTOR, step=f.step(patient_id="P2"), room=ct1, start=seven_in_berlin - dt.timedelta(minutes=15)
        )


def test_a_booking_must_fit_in_one_opening_period(monday):
    ct1 = f.room()
    OpeningHours.objects.filter(room=ct1, weekday=0).delete()
    OpeningHours.objects.create(room=ct1, weekday=0, opens=dt.time(7), closes=dt.time(12))
    OpeningHours.objects.create(room=ct1, weekday=0, opens=dt.time(13), closes=dt.time(19))
    with pytest.raises(RoomClosed, match="07:00–12:00, 13:00–19:00"):
        appointment_book(actor=TEST_ACTOR, step=f.step(), room=ct1, start=f.local(monday, 11, 50), duration_minutes=20)
