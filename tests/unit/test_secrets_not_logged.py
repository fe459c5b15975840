"""Passwords and tokens never reach the logs, on success or on failure."""

import logging

import pytest

from tests import factories as f

SECRET_PASSWORD = "Zebra-Quartz-9917-secret"


@pytest.fixture
def everything_logged(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


def _logged_text(caplog) -> str:
    return "\n".join(f"{r.getMessage()} {r.args!r} {getattr(r, 'request', '')!r}" for r in caplog.records)


def test_a_failed_and_a_good_login_log_no_password(client, db, everything_logged):
    user = f.user_with_role("scheduler", "sally")
    user.set_password(SECRET_PASSWORD)
    user.save()
    client.post("/login/", {"username": "sally", "password": SECRET_PASSWORD + "wrong"})
    client.post("/login/", {"username": "sally", "password": SECRET_PASSWORD})
    client.post("/api/token/", {"username": "sally", "password": SECRET_PASSWORD})
    assert SECRET_PASSWORD not in _logged_text(everything_logged)


def test_requests_with_a_token_log_no_token(client, db, everything_logged):
    token = f.api_token(f.user_with_role("integration engineer", "ivan"))
    client.get("/api/messages/", HTTP_AUTHORIZATION=f"Token {token}")
    client.get("/api/patients/", HTTP_AUTHORIZATION=f"Token {token}")  # refused: wrong role
    client.get("/fhir/Patient", HTTP_AUTHORIZATION=f"Token {token}x")  # refused: bad token
    assert token not in _logged_text(everything_logged)
