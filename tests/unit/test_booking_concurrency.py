"""Two schedulers taking the last place in a room at the same moment: one wins."""

import threading

import pytest
from django.db import connection

from ris.exceptions import RoomFull
from ris.models import Appointment
from ris.services.appointments import appointment_book
from tests import factories as f
from tests.factories import TEST_ACTOR


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="the in-memory SQLite test database answers a "
    "second writer 'table is locked' at once instead of waiting; run with DATABASE_URL=postgres://...",
)
def test_concurrent_bookings_of_the_same_slot_leave_one_appointment():
    ct1, monday = f.room(), f.next_monday()
    steps = [f.step(patient_id=f"P{i}") for i in range(2)]
    barrier, outcomes = threading.Barrier(2), []

    def book(step):
        barrier.wait()
        try:
            appointment_book(actor=TEST_ACTOR, step=step, room=ct1, start=f.local(monday, 9))
            outcomes.append("booked")
        except RoomFull:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=book, args=(step,)) for step in steps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["booked", "refused"]
    assert Appointment.objects.count() == 1
