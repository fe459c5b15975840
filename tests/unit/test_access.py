"""Login (throttled), roles and the capability every page requires."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from ris.models import LoginAttempt
from ris.roles import ROLE_CAPABILITIES, permission
from tests import factories as f

pytestmark = pytest.mark.django_db

# page -> the roles that may open it
PAGES = {
    "order_queue": {"scheduler", "technologist", "radiologist", "administrator"},
    "order_entry": {"scheduler", "administrator"},
    "calendar": {"scheduler", "administrator"},
    "board": {"scheduler", "technologist", "radiologist", "administrator"},
    "patient_search": {"scheduler", "technologist", "radiologist", "administrator"},
    "message_log": {"integration engineer", "administrator"},
    "audit_log": {"administrator"},
}


def test_migration_creates_every_role_with_its_capabilities():
    for role, capabilities in ROLE_CAPABILITIES.items():
        group = Group.objects.get(name=role)
        assert {p.codename for p in group.permissions.all()} == capabilities


@pytest.mark.parametrize("page", PAGES)
def test_anonymous_visitor_is_sent_to_the_login_page(client, page):
    response = client.get(reverse(page))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


@pytest.mark.parametrize("page,allowed", PAGES.items())
@pytest.mark.parametrize("role", list(ROLE_CAPABILITIES))
def test_each_page_opens_only_for_the_roles_allowed(client, page, allowed, role):
    client.force_login(f.user_with_role(role))
    assert client.get(reverse(page)).status_code == (200 if role in allowed else 403)


def test_user_without_role_is_told_so(client):
    client.force_login(f.user_with_role(None))
    assert client.get("/", follow=True).redirect_chain[-1][0] == reverse("no_role")


def test_login_page_logs_in_and_lands_on_the_roles_first_page(client):
    f.user_with_role("scheduler", "sam")
    response = client.post(reverse("login"), {"username": "sam", "password": f.PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("calendar")


def test_wrong_password_is_refused_and_recorded(client):
    f.user_with_role("scheduler", "sam")
    response = client.post(reverse("login"), {"username": "sam", "password": "nope"})
    assert response.status_code == 200 and b"correct username and password" in response.content
    assert LoginAttempt.objects.filter(username="sam", succeeded=False).count() == 1


def test_after_five_failures_even_the_right_password_is_refused(client, settings):
    f.user_with_role("scheduler", "sam")
    for _ in range(settings.RIS_LOGIN_MAX_FAILURES):
        client.post(reverse("login"), {"username": "sam", "password": "nope"})
    response = client.post(reverse("login"), {"username": "sam", "password": f.PASSWORD})
    assert b"Too many failed attempts" in response.content
    assert "_auth_user_id" not in client.session


def test_login_form_needs_a_csrf_token():
    from django.test import Client

    f.user_with_role("scheduler", "sam")
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(reverse("login"), {"username": "sam", "password": f.PASSWORD}).status_code == 403


def test_capability_permission_names_are_those_of_the_migration():
    assert permission("view_audit") == "ris.view_audit"


def test_status_board_poll_after_the_session_ended_sends_the_browser_to_login(client):
    response = client.get(reverse("board_rows"), HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL="http://testserver/board/")
    assert response.status_code == 200 and response["HX-Redirect"] == "/login/?next=%2Fboard%2F"


def test_failures_older_than_the_window_no_longer_count(client, settings):
    import datetime as dt

    from django.utils import timezone

    f.user_with_role("scheduler", "sam")
    for _ in range(settings.RIS_LOGIN_MAX_FAILURES):
        client.post(reverse("login"), {"username": "sam", "password": "nope"})
    LoginAttempt.objects.update(at=timezone.now() - dt.timedelta(minutes=settings.RIS_LOGIN_LOCKOUT_MINUTES + 1))
    client.post(reverse("login"), {"username": "sam", "password": f.PASSWORD})
    assert "_auth_user_id" in client.session
    assert LoginAttempt.objects.count() == 0  # the old failures were dropped, the success cleared the pair


def test_admin_login_counts_toward_the_same_lockout(client, settings):
    User = f.user_with_role("administrator", "ada").__class__
    User.objects.filter(username="ada").update(is_staff=True)
    for _ in range(settings.RIS_LOGIN_MAX_FAILURES):
        client.post("/admin/login/", {"username": "ada", "password": "nope"})
    response = client.post("/admin/login/", {"username": "ada", "password": f.PASSWORD})
    assert b"Too many failed attempts" in response.content and "_auth_user_id" not in client.session


def test_a_short_or_common_password_is_refused_where_one_is_set():
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    for weak in ("short1", "password1234", "12345678901234"):
        with pytest.raises(ValidationError):
            validate_password(weak)
    validate_password(f.PASSWORD)
