"""OAuth2 bearer tokens for the DICOMweb services: JWTs signed by an
authorisation server this test runs (its JWKS over real HTTP), checked for
signature, issuer, audience and expiry, naming an existing RIS user."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from infra import bearer
from tests.dicomweb_peers import run_apart
from tests.factories import user_with_role
from tests.worklist_builders import schedule
from worklist.dicomweb import events

AUDIENCE = "ris-dicomweb"


class AuthorisationServer(ThreadingHTTPServer):
    """Publishes one RSA key as a JWKS and signs tokens with it."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), JwksHandler)
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.base = f"http://127.0.0.1:{self.server_address[1]}"
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def jwks(self) -> bytes:
        public = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        return json.dumps({"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()

    def token(self, username: str, *, issuer: str | None = None, audience=AUDIENCE, lifetime: int = 300, key=None):
        now = int(time.time())
        claims = {"iss": issuer or self.base, "aud": audience, "sub": username, "iat": now, "exp": now + lifetime}
        claims["preferred_username"] = username
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": "k1"})


class JwksHandler(BaseHTTPRequestHandler):
    server: AuthorisationServer

    def do_GET(self):
        body = self.server.jwks()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def issuer(settings):
    server = AuthorisationServer()
    settings.RIS_OAUTH2_ISSUER = server.base
    settings.RIS_OAUTH2_JWKS_URL = f"{server.base}/jwks"
    settings.RIS_OAUTH2_AUDIENCE = AUDIENCE
    settings.RIS_OAUTH2_USERNAME_CLAIM = "preferred_username"
    bearer._keys.cache_clear()
    yield server
    server.shutdown()
    bearer._keys.cache_clear()


def search(live_server, token: str) -> requests.Response:
    return requests.get(
        f"{live_server.url}/dicomweb/modality-scheduled-procedure-steps",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


def test_a_valid_bearer_token_of_the_issuer_is_accepted(live_server, issuer):
    schedule(sps_id="B1")
    user_with_role("technologist", username="ai-engine")
    answer = search(live_server, issuer.token("ai-engine"))
    assert answer.status_code == 200 and len(answer.json()) == 1


@pytest.mark.parametrize(
    "change",
    [
        {"issuer": "https://another.example"},
        {"audience": "someone-else"},
        {"lifetime": -120},
        {"key": rsa.generate_private_key(public_exponent=65537, key_size=2048)},
        {"username": "nobody"},
    ],
    ids=["issuer", "audience", "expired", "signature", "unknown-user"],
)
def test_an_invalid_bearer_token_is_401(live_server, issuer, change):
    user_with_role("technologist", username="ai-engine")
    username = change.pop("username", "ai-engine")
    assert search(live_server, issuer.token(username, **change)).status_code == 401


def test_the_user_role_still_decides(live_server, issuer):
    user_with_role("scheduler", username="booker")  # views patients, may not move exams
    token = issuer.token("booker")
    assert search(live_server, token).status_code == 204  # let in; nothing scheduled
    created = requests.post(
        f"{live_server.url}/dicomweb/modality-performed-procedure-steps",
        data=b"{}",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/dicom+json"},
        timeout=30,
    )
    assert created.status_code == 403


def test_bearer_tokens_are_refused_when_no_issuer_is_set(live_server, transactional_db):
    user_with_role("technologist", username="ai-engine")
    token = AuthorisationServer().token("ai-engine")
    assert search(live_server, token).status_code == 401


def test_the_event_channel_accepts_a_bearer_token(issuer, settings, transactional_db):
    user_with_role("technologist", username="ai-engine")
    channel = events.EventChannel("127.0.0.1", 0).start()

    async def attempt(token):
        url = f"ws://127.0.0.1:{channel.server_port}/dicomweb/subscribers/AI"
        async with connect(url, additional_headers={"Authorization": f"Bearer {token}"}):
            return True

    try:
        assert run_apart(attempt(issuer.token("ai-engine")))
        with pytest.raises(InvalidStatus):
            run_apart(attempt(issuer.token("ai-engine", lifetime=-120)))
    finally:
        channel.shutdown()
