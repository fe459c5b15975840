"""Sign-on through an OpenID Connect provider (mozilla-django-oidc), against
a tiny provider on 127.0.0.1 that this test runs: the code flow over real
HTTP, the ID token checked (HS256 with the client secret), claims mapped to
the user and to RIS roles, a role taken away at the next sign-on."""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from django.contrib.auth.models import User

CLIENT_ID, CLIENT_SECRET = "ris", "a-client-secret-the-provider-shares-with-the-ris-32b"


class Provider(ThreadingHTTPServer):
    """Answers the token and userinfo requests of the code flow."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), ProviderHandler)
        self.nonce, self.claims, self.codes = "", {}, []
        self.signing_key = CLIENT_SECRET
        self.base = f"http://127.0.0.1:{self.server_address[1]}"
        threading.Thread(target=self.serve_forever, daemon=True).start()


class ProviderHandler(BaseHTTPRequestHandler):
    server: Provider

    def do_POST(self):  # the token endpoint
        form = urllib.parse.parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        assert form["client_secret"] == [CLIENT_SECRET] and form["grant_type"] == ["authorization_code"]
        self.server.codes.append(form["code"][0])
        now = int(time.time())
        id_token = jwt.encode(
            {
                "iss": self.server.base,
                "aud": CLIENT_ID,
                "sub": self.server.claims["preferred_username"],
                "iat": now,
                "exp": now + 300,
                "nonce": self.server.nonce,
            },
            self.server.signing_key,
            algorithm="HS256",
        )
        self._json({"access_token": "provider-access-token", "token_type": "Bearer", "id_token": id_token})

    def do_GET(self):  # the userinfo endpoint
        assert self.headers["Authorization"] == "Bearer provider-access-token"
        self._json(self.server.claims)

    def _json(self, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def provider(settings):
    server = Provider()
    settings.ROOT_URLCONF = "tests.oidc_urls"
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, "web.oidc.OidcBackend"]
    settings.RIS_OIDC_ENABLED = True
    settings.OIDC_RP_CLIENT_ID, settings.OIDC_RP_CLIENT_SECRET = CLIENT_ID, CLIENT_SECRET
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = f"{server.base}/authorize"
    settings.OIDC_OP_TOKEN_ENDPOINT = f"{server.base}/token"
    settings.OIDC_OP_USER_ENDPOINT = f"{server.base}/userinfo"
    settings.OIDC_RP_SIGN_ALGO = "HS256"
    settings.RIS_OIDC_ROLE_MAP = {"radiology-readers": "radiologist", "radiology-admins": "administrator"}
    yield server
    server.shutdown()
    server.server_close()


def sign_on(client, provider: Provider, claims: dict):
    """The browser's part of the code flow; the provider's login page is skipped."""
    to_provider = client.get("/oidc/authenticate/")
    assert to_provider.status_code == 302 and to_provider["Location"].startswith(f"{provider.base}/authorize?")
    asked = urllib.parse.parse_qs(urllib.parse.urlsplit(to_provider["Location"]).query)
    assert asked["client_id"] == [CLIENT_ID] and asked["response_type"] == ["code"]
    provider.nonce, provider.claims = asked["nonce"][0], claims
    return client.get("/oidc/callback/", {"code": "one-time-code", "state": asked["state"][0]})


@pytest.mark.django_db
def test_sign_on_makes_the_user_with_the_roles_the_provider_grants(client, provider):
    claims = {"preferred_username": "olga", "email": "olga@hospital.example", "given_name": "Olga"}
    answer = sign_on(client, provider, {**claims, "groups": ["radiology-readers", "cafeteria"]})
    assert answer.status_code == 302 and provider.codes == ["one-time-code"]
    olga = User.objects.get(username="olga")
    assert int(client.session["_auth_user_id"]) == olga.pk and not olga.has_usable_password()
    assert {g.name for g in olga.groups.all()} == {"radiologist"} and olga.first_name == "Olga"
    assert client.get("/reporting/").status_code == 200


@pytest.mark.django_db
def test_a_role_the_provider_no_longer_grants_is_taken_away(client, provider):
    from tests.factories import api_token

    sign_on(client, provider, {"preferred_username": "olga", "groups": ["radiology-readers"]})
    key = api_token(User.objects.get(username="olga"))
    client.logout()
    sign_on(client, provider, {"preferred_username": "olga", "groups": []})
    assert not User.objects.get(username="olga").groups.exists()
    assert client.get("/reporting/").status_code in (302, 403)
    assert client.get("/fhir/Patient", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401


@pytest.mark.django_db
def test_an_id_token_signed_with_another_key_signs_no_one_on(client, provider):
    provider.signing_key = "not-the-client-secret-but-as-long-as-one-0123456789"
    answer = sign_on(client, provider, {"preferred_username": "mallory", "groups": ["radiology-admins"]})
    assert answer.status_code == 400 and "_auth_user_id" not in client.session  # SuspiciousOperation
    assert not User.objects.filter(username="mallory").exists()


def test_the_login_page_offers_the_sign_on_only_when_enabled(client, db, settings):
    assert b"Sign in with the hospital account" not in client.get("/login/").content
