"""One authentication policy for every HTTP door, over real HTTP (live server):
the login form, HTTP Basic on /api and /fhir, and API tokens share one
throttle, keyed on user name and address together; unknown and real names
are answered alike; tokens expire and are revoked."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from ris.models import ApiToken
from tests import factories as f

pytestmark = pytest.mark.django_db(transaction=True)


def call(url: str, *, method: str = "GET", headers: dict | None = None, data: bytes | None = None):
    """(status, body text) of one HTTP request."""
    request = urllib.request.Request(url, method=method, headers=headers or {}, data=data)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()


def basic(username: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


def token_header(key: str) -> dict:
    return {"Authorization": f"Token {key}"}


def form_login(base: str, username: str, password: str) -> bool:
    """Log in through the login page as a browser does; True when a session came back."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/login/", timeout=10).read().decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    body = urllib.parse.urlencode({"username": username, "password": password, "csrfmiddlewaretoken": csrf}).encode()
    opener.open(urllib.request.Request(f"{base}/login/", data=body, headers={"Referer": f"{base}/login/"}), timeout=10)
    return any(cookie.name == "sessionid" for cookie in jar)


def get_token(base: str, username: str, password: str):
    body = urllib.parse.urlencode({"username": username, "password": password}).encode()
    return call(f"{base}/api/token/", method="POST", data=body)


@pytest.fixture
def rita():
    return f.user_with_role("radiologist", "rita")


def test_basic_brute_force_locks_the_pair_on_every_door(live_server, rita, settings):
    base = live_server.url
    assert call(f"{base}/fhir/Patient", headers=basic("rita", f.PASSWORD))[0] == 200
    for _ in range(30):  # a guessing loop
        assert call(f"{base}/fhir/Patient", headers=basic("rita", "guess"))[0] == 401
    # The right password no longer works, on any door, from this address.
    assert call(f"{base}/fhir/Patient", headers=basic("rita", f.PASSWORD))[0] == 401
    assert call(f"{base}/api/reports/", headers=basic("rita", f.PASSWORD))[0] == 401
    assert get_token(base, "rita", f.PASSWORD)[0] == 429
    assert not form_login(base, "rita", f.PASSWORD)
    # Another user at the same address is not locked out.
    f.user_with_role("radiologist", "rob")
    assert call(f"{base}/fhir/Patient", headers=basic("rob", f.PASSWORD))[0] == 200
    assert form_login(base, "rob", f.PASSWORD)


def test_form_failures_lock_basic_too(live_server, rita, settings):
    base = live_server.url
    for _ in range(settings.RIS_LOGIN_MAX_FAILURES):
        assert not form_login(base, "rita", "guess")
    assert call(f"{base}/api/reports/", headers=basic("rita", f.PASSWORD))[0] == 401


def test_failures_for_a_name_that_does_not_exist_lock_no_real_user(live_server, rita, settings):
    base = live_server.url
    for _ in range(settings.RIS_LOGIN_MAX_FAILURES * 2):
        form_login(base, "nosuchuser", "guess")
    assert form_login(base, "rita", f.PASSWORD)
    assert call(f"{base}/fhir/Patient", headers=basic("rita", f.PASSWORD))[0] == 200


def test_unknown_and_real_names_are_answered_alike(live_server, rita):
    base = live_server.url
    assert call(f"{base}/fhir/Patient", headers=basic("rita", "guess")) == call(
        f"{base}/fhir/Patient", headers=basic("nosuchuser", "guess")
    )
    assert get_token(base, "rita", "guess") == get_token(base, "nosuchuser", "guess")
    for _ in range(10):  # locked: the same answer for both again
        call(f"{base}/api/reports/", headers=basic("rita", "guess"))
        call(f"{base}/api/reports/", headers=basic("nosuchuser", "guess"))
    assert call(f"{base}/api/reports/", headers=basic("rita", "guess")) == call(
        f"{base}/api/reports/", headers=basic("nosuchuser", "guess")
    )
    assert get_token(base, "rita", "guess") == get_token(base, "nosuchuser", "guess")


def test_one_address_trying_many_names_meets_the_address_wide_limit(live_server, rita, settings):
    settings.RIS_LOGIN_MAX_FAILURES_PER_ADDRESS = 12
    base = live_server.url
    for number in range(12):
        call(f"{base}/fhir/Patient", headers=basic(f"name{number}", "guess"))
    assert call(f"{base}/fhir/Patient", headers=basic("rita", f.PASSWORD))[0] == 401


def test_guessed_tokens_are_counted_by_the_same_throttle(live_server, rita, settings):
    settings.RIS_LOGIN_MAX_FAILURES_PER_ADDRESS = 12
    base = live_server.url
    key = f.api_token(rita)
    assert call(f"{base}/fhir/Patient", headers=token_header(key))[0] == 200
    for number in range(12):
        assert call(f"{base}/fhir/Patient", headers=token_header(f"{number:040x}"))[0] == 401
    assert call(f"{base}/fhir/Patient", headers=token_header(key))[0] == 401


def test_a_token_from_the_token_endpoint_works_until_it_expires(live_server, rita, settings):
    settings.RIS_API_TOKEN_HOURS = 1
    base = live_server.url
    status, body = get_token(base, "rita", f.PASSWORD)
    answer = json.loads(body)
    assert status == 200 and set(answer) == {"id", "token", "expires_at"}
    issued = ApiToken.objects.get(pk=answer["id"])
    assert abs(issued.expires_at - (timezone.now() + dt.timedelta(hours=1))) < dt.timedelta(minutes=1)
    assert issued.digest != answer["token"] and answer["token"] not in str(ApiToken.objects.values())
    assert call(f"{base}/api/reports/", headers=token_header(answer["token"]))[0] == 200
    ApiToken.objects.filter(pk=issued.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert call(f"{base}/api/reports/", headers=token_header(answer["token"]))[0] == 401


def test_a_password_change_revokes_the_users_tokens(live_server, rita):
    key = f.api_token(rita)
    assert call(f"{live_server.url}/fhir/Patient", headers=token_header(key))[0] == 200
    rita.set_password("a new long passphrase")
    rita.save()
    assert call(f"{live_server.url}/fhir/Patient", headers=token_header(key))[0] == 401
    assert ApiToken.objects.get().revoked_reason == "password changed"


@pytest.mark.parametrize("side", ["user", "group"])
def test_taking_a_role_away_revokes_the_users_tokens(live_server, rita, side):
    key = f.api_token(rita)
    assert call(f"{live_server.url}/fhir/Patient", headers=token_header(key))[0] == 200
    group = Group.objects.get(name="radiologist")
    if side == "user":
        rita.groups.remove(group)
    else:
        group.user_set.remove(rita)
    rita.groups.add(group)  # given back: the old token stays ended
    assert call(f"{live_server.url}/fhir/Patient", headers=token_header(key))[0] == 401


def test_owners_list_and_revoke_their_tokens_and_no_one_elses(live_server, rita):
    base = live_server.url
    mine, other = f.api_token(rita, name="dictation"), f.api_token(f.user_with_role("technologist", "tom"))
    status, body = call(f"{base}/api/tokens/", headers=token_header(mine))
    listed = json.loads(body)["results"]
    assert status == 200 and [(t["user"], t["name"]) for t in listed] == [("rita", "dictation")]
    tom_token = ApiToken.objects.get(user__username="tom")
    assert call(f"{base}/api/tokens/{tom_token.pk}/", method="DELETE", headers=token_header(mine))[0] == 404
    assert call(f"{base}/fhir/Patient", headers=token_header(other))[0] == 200  # still alive
    assert call(f"{base}/api/tokens/{listed[0]['id']}/", method="DELETE", headers=token_header(mine))[0] == 204
    assert call(f"{base}/api/tokens/", headers=token_header(mine))[0] == 401


def test_administrators_list_and_revoke_everyones_tokens(live_server, rita):
    base = live_server.url
    rita_key = f.api_token(rita)
    boss = f.api_token(f.user_with_role("administrator", "ada"))
    _status, body = call(f"{base}/api/tokens/?user=rita", headers=token_header(boss))
    (listed,) = json.loads(body)["results"]
    assert call(f"{base}/api/tokens/{listed['id']}/", method="DELETE", headers=token_header(boss))[0] == 204
    assert call(f"{base}/fhir/Patient", headers=token_header(rita_key))[0] == 401
    assert "revoked by ada" in ApiToken.objects.get(pk=listed["id"]).revoked_reason


def test_the_tokens_page_issues_lists_and_revokes(client, rita):
    client.force_login(rita)
    page = client.post("/account/tokens/", {"action": "issue", "name": "viewer"})
    key = re.search(r'class="new-token">([0-9a-f]{40})<', page.content.decode()).group(1)
    token = ApiToken.objects.get()
    assert token.prefix == key[:8] and b"viewer" in client.get("/account/tokens/").content
    client.post("/account/tokens/", {"action": "revoke", "token": token.pk})
    token.refresh_from_db()
    assert token.revoked_at is not None and b"revoked" in client.get("/account/tokens/").content
