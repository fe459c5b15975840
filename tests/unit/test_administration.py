"""Administration for the administrator role without Django staff rights:
users and roles, rooms with a week of opening hours in one form, blocked
time that lists the bookings it hits, messages people read."""

import datetime as dt

import pytest
from django.contrib.auth.models import Group, User

from ris.models import AuditEvent, BlockedTime, OpeningHours, Room
from ris.services.appointments import appointment_book
from ris.services.scheduling_rules import check_room_open
from tests import factories as f
from tests.factories import TEST_ACTOR, user_with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(client):
    user = user_with_role("administrator")
    assert not user.is_staff
    client.force_login(user)
    return client


def test_the_administrator_adds_a_user_with_a_role_who_can_then_log_in(admin, client):
    radiologist = Group.objects.get(name="radiologist")
    form = {
        "username": "dr.who",
        "first_name": "Jane",
        "last_name": "Who",
        "title": "Dr.",
        "credentials": "MD",
        "roles": [radiologist.pk],
        "password": "a long enough secret",
    }
    assert admin.post("/administration/users/new/", form).status_code == 302
    user = User.objects.get(username="dr.who")
    assert list(user.groups.all()) == [radiologist] and not user.is_staff
    assert user.staff_profile.credentials == "MD"
    assert AuditEvent.objects.filter(object_type="user", object_id=str(user.pk), action="CREATE").exists()
    client.logout()
    assert client.login(username="dr.who", password="a long enough secret")


def test_a_short_password_is_refused_with_a_message(admin):
    form = {"username": "short", "password": "abc"}
    page = admin.post("/administration/users/new/", form).content.decode()
    assert "at least 8 characters" in page and not User.objects.filter(username="short").exists()


def test_the_administrator_deactivates_and_resets_a_password(admin, client):
    other = user_with_role("scheduler")
    admin.post(
        f"/administration/users/{other.pk}/password/", {"password": "new password 123", "again": "new password 123"}
    )
    other.refresh_from_db()
    assert other.check_password("new password 123")
    admin.post(f"/administration/users/{other.pk}/active/", {"active": "0"})
    other.refresh_from_db()
    assert not other.is_active


def test_the_administrator_changes_what_a_role_may_do(admin):
    role = Group.objects.get(name="technologist")
    admin.post(f"/administration/roles/{role.pk}/", {"capabilities": ["view_patients", "view_status_board"]})
    assert set(role.permissions.values_list("codename", flat=True)) == {"view_patients", "view_status_board"}


def test_a_scheduler_cannot_manage_users(client):
    client.force_login(user_with_role("scheduler"))
    assert client.get("/administration/users/").status_code == 403


def _week(**days):
    """The grid's post: every day closed unless given as (opens, closes) or "24h"."""
    data = {"day-TOTAL_FORMS": "7", "day-INITIAL_FORMS": "7", "day-MIN_NUM_FORMS": "7", "day-MAX_NUM_FORMS": "7"}
    for i, name in enumerate(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]):
        value = days.get(name)
        if value == "24h":
            data |= {f"day-{i}-is_open": "on", f"day-{i}-all_day": "on"}
        elif value:
            data |= {f"day-{i}-is_open": "on", f"day-{i}-opens": value[0], f"day-{i}-closes": value[1]}
    return data


def test_a_room_s_whole_week_is_one_post_with_24_hours_and_overnight(admin):
    room = Room.objects.create(code="ER1", name="Emergency CT", modality="CT")
    week = _week(mon="24h", tue=("07:00", "19:00"), fri=("20:00", "06:00"))
    assert admin.post(f"/manage/rooms/{room.pk}/hours/", week).status_code == 302
    rows = sorted((r.weekday, r.opens, r.closes) for r in OpeningHours.objects.filter(room=room))
    assert rows == [(0, dt.time(0), dt.time(0)), (1, dt.time(7), dt.time(19)), (4, dt.time(20), dt.time(6))]
    monday = f.next_monday()
    check_room_open(room, f.local(monday, 22), f.local(monday, 23, 30))  # open in the evening: no refusal
    listing = admin.get("/manage/rooms/").content.decode()
    assert "24 h" in listing and "20:00–06:00" in listing
    again = admin.get(f"/manage/rooms/{room.pk}/hours/").content.decode()
    assert 'value="20:00"' in again and 'value="06:00"' in again


def test_blocked_time_lists_the_bookings_it_hits_and_needs_a_confirmation(admin):
    room = f.room("CT1", "CT")
    monday = f.next_monday()
    step = f.step(patient_id="MRN7", name="DOE^JANE", accession="A7")
    appointment_book(actor=TEST_ACTOR, step=step, room=room, start=f.local(monday, 9))
    form = {"room": room.pk, "start": f"{monday}T08:30", "end": f"{monday}T10:00", "reason": "Service"}
    first = admin.post("/manage/blocked/new/", form)
    assert first.status_code == 409 and not BlockedTime.objects.exists()
    assert "A7" in first.content.decode() and "DOE" in first.content.decode()
    confirmed = admin.post("/manage/blocked/new/", {**form, "confirm": "on"})
    assert confirmed.status_code == 302 and BlockedTime.objects.count() == 1


def test_blocked_time_ending_before_it_starts_says_so_in_words(admin):
    room = f.room("CT1", "CT")
    form = {"room": room.pk, "start": "2027-01-04T10:00", "end": "2027-01-04T09:00", "reason": ""}
    page = admin.post("/manage/blocked/new/", form).content.decode()
    assert "The blocked time must end after it starts." in page
    assert "blocked_time_start_before_end" not in page


def test_lists_show_column_names_and_yes_no_not_code(admin):
    f.room("CT1", "CT")
    for path in ("/manage/hours/", "/manage/rooms/", "/manage/procedures/", "/manage/blocked/"):
        page = admin.get(path, follow=True).content.decode()
        assert "get_weekday_display" not in page and ">True<" not in page and "is_active" not in page, path
