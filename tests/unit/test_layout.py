"""One layout for every page: the menu on error pages too, each role's home
in its menu, the dead-letter alert for those who look after interfaces, and
no page of its own look (no inline script or style in the templates)."""

import re
from pathlib import Path

import pytest
from django.conf import settings

from tests.factories import user_with_role

pytestmark = pytest.mark.django_db

TEMPLATES = Path(settings.BASE_DIR) / "templates"
# The templates of the layout, reporting, console and administration; the
# rest join when their pages are converted.
ONE_LOOK = [
    "base.html",
    "403.html",
    "404.html",
    "web/login.html",
    "web/no_role.html",
    "web/reporting/*.html",
    "web/console/*.html",
    "web/administration/*.html",
    "web/rooms.html",
    "web/room_week.html",
    "web/blocked_edit.html",
    "web/resource_*.html",
]


def test_a_page_that_does_not_exist_keeps_the_menu(client):
    client.force_login(user_with_role("radiologist"))
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert 'class="ris-nav"' in page and ">Reading list</a>" in page and "Not found" in page


def test_a_page_the_role_may_not_open_keeps_the_menu(client):
    client.force_login(user_with_role("radiologist"))
    response = client.get("/calendar/")
    assert response.status_code == 403
    page = response.content.decode()
    assert 'class="ris-nav"' in page and ">Reading list</a>" in page and "Not allowed" in page


@pytest.mark.parametrize(
    ("role", "home", "link"),
    [
        ("radiologist", "/reporting/", "Reading list"),
        ("technologist", "/board/", "Status board"),
        ("scheduler", "/calendar/", "Calendar"),
        ("integration engineer", "/console/", "Integration"),
    ],
)
def test_each_role_s_home_is_in_its_menu(client, role, home, link):
    client.force_login(user_with_role(role))
    assert client.get("/")["Location"] == home
    assert f'<a href="{home}" class="active" aria-current="page">{link}</a>' in client.get(home).content.decode()


@pytest.mark.parametrize(
    "path", sorted({p for pattern in ONE_LOOK for p in TEMPLATES.glob(pattern)}), ids=lambda p: p.name
)
def test_a_page_has_no_look_or_script_of_its_own(path):
    source = path.read_text()
    assert not re.search(r"<style\b|\sstyle=", source)
    assert not re.search(r"<script(?![^>]*\bsrc=)", source), "inline script: use static/ris/*.js"
    assert not re.search(r"\son[a-z]+=", source), "inline handler"
