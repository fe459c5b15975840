"""Production settings (RIS_ENV=production): `check --deploy` is clean, the RIS
refuses to start with the development key or DEBUG, and a page with patient
data carries the security headers, over real HTTP from a `serve` process."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

import pytest

from tests import factories as f
from tests.conftest import free_port
from tests.processes import ROOT, database_url, stop, wait_for_port

SECRET = secrets.token_urlsafe(64)
PRODUCTION = {
    "RIS_ENV": "production",
    "DJANGO_SECRET_KEY": SECRET,
    "DJANGO_ALLOWED_HOSTS": "ris.example.org,127.0.0.1",
    "DJANGO_DEBUG": "false",
}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "RIS_ENV"))}
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env={**clean, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_settings():
    done = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)
    assert done.returncode == 0, done.stderr
    assert "System check identified no issues" in done.stdout


def test_check_deploy_warns_without_production_settings():
    done = manage("check", "--deploy", env={})
    assert "security.W012" in done.stderr and "ris.W001" in done.stderr  # insecure cookie, development key


@pytest.mark.parametrize(
    "change,refusal",
    [
        ({"DJANGO_SECRET_KEY": ""}, "DJANGO_SECRET_KEY"),
        ({"DJANGO_SECRET_KEY": "insecure-development-key-change-me"}, "DJANGO_SECRET_KEY"),
        ({"DJANGO_SECRET_KEY": "short"}, "DJANGO_SECRET_KEY"),
        ({"DJANGO_DEBUG": "true"}, "DJANGO_DEBUG"),
    ],
)
def test_production_refuses_to_start_with_a_weak_key_or_debug(change, refusal):
    env = {**PRODUCTION, **change}
    if not env["DJANGO_SECRET_KEY"]:
        del env["DJANGO_SECRET_KEY"]
    done = manage("check", env=env)
    assert done.returncode != 0 and "ImproperlyConfigured" in done.stderr and refusal in done.stderr


@pytest.fixture
def production_serve(transactional_db, tmp_path):
    """`manage.py serve` in production mode behind a TLS proxy that sets X-Forwarded-Proto."""
    http, mllp, dicom = free_port(), free_port(), free_port()
    log = tmp_path / "serve.log"
    env = {
        **os.environ,
        **PRODUCTION,
        "DATABASE_URL": database_url(),
        "RIS_HTTP_PORT": str(http),
        "RIS_MLLP_PORT": str(mllp),
        "RIS_DICOM_PORT": str(dicom),
        "RIS_DICOMWEB_EVENTS_PORT": str(free_port()),
        "RIS_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO=https",
        "PYTHONUNBUFFERED": "1",
    }
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "serve", "--no-worker"], env=env, cwd=ROOT, stdout=out, stderr=out
        )
        try:
            wait_for_port(http, proc, 120)  # five Django processes start at once: slow on a loaded machine
            yield f"http://127.0.0.1:{http}", log
        finally:
            stop(proc)


class Browser:
    """Cookies by hand: the cookie jar would not send Secure cookies over the proxy's plain hop."""

    def __init__(self, base: str):
        self.base, self.cookies = base, {}
        self.opener = urllib.request.build_opener(NoRedirect)

    def request(self, path: str, data: dict | None = None, https: bool = True):
        headers = {"Host": "127.0.0.1", "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if https:
            headers["X-Forwarded-Proto"] = "https"
        if data is not None:
            headers["Referer"] = f"https://127.0.0.1{path}"
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            answer = self.opener.open(urllib.request.Request(self.base + path, data=body, headers=headers), timeout=10)
        except urllib.error.HTTPError as refused:
            answer = refused
        for cookie in answer.headers.get_all("Set-Cookie") or []:
            name, value = cookie.split(";", 1)[0].split("=", 1)
            self.cookies[name] = value
        return answer, answer.read().decode()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_a_page_with_patient_data_carries_the_security_headers(production_serve, settings):
    base, _log = production_serve
    f.placed_order(name="HEADERS^PATIENT")
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]  # the server's own
    f.user_with_role("scheduler", "sam")
    browser = Browser(base)
    login, page = browser.request("/login/")
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    assert "Secure" in login.headers["Set-Cookie"] and "HttpOnly" in login.headers["Set-Cookie"]
    answer, _ = browser.request("/login/", {"username": "sam", "password": f.PASSWORD, "csrfmiddlewaretoken": csrf})
    assert answer.status == 302 and "sessionid" in browser.cookies
    session_cookie = next(c for c in answer.headers.get_all("Set-Cookie") if c.startswith("sessionid="))
    assert "Secure" in session_cookie and "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie
    answer, page = browser.request("/orders/")
    assert answer.status == 200 and "Patient" in page
    headers = answer.headers
    assert "max-age=31536000" in headers["Strict-Transport-Security"]
    assert "includeSubDomains" in headers["Strict-Transport-Security"]
    assert "no-store" in headers["Cache-Control"] and "private" in headers["Cache-Control"]
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp and "frame-ancestors 'none'" in csp
    assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"


def test_plain_http_is_sent_to_https_but_health_is_not(production_serve):
    base, _log = production_serve
    answer, _ = Browser(base).request("/orders/", https=False)
    assert answer.status == 301 and answer.headers["Location"].startswith("https://")
    answer, _ = Browser(base).request("/health/live", https=False)
    assert answer.status == 200


def test_the_access_log_carries_no_query_values(production_serve):
    base, log = production_serve
    f.user_with_role("scheduler", "sam")
    Browser(base).request("/patients/?name=ACCESSLOG%5EPATIENT&birth_date=1931-07-04&mrn=MRNLOG77")
    Browser(base).request("/fhir/Patient?identifier=MRNLOG78&birthdate=1931-07-05")
    stop_at = log.read_text()
    assert "/patients/?name=…&birth_date=…&mrn=…" in stop_at, stop_at
    for value in ("ACCESSLOG", "1931-07-04", "MRNLOG77", "MRNLOG78", "1931-07-05"):
        assert value not in stop_at
