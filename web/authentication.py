"""One authentication policy for every HTTP door: pages, admin, REST and FHIR.

- `ThrottledModelBackend` is the only password backend (settings
  AUTHENTICATION_BACKENDS): the login form, the admin's login, the token
  view and HTTP Basic all reach it through `django.contrib.auth.authenticate`,
  so every password attempt is throttled and counted the same way
  (ris/services/login_throttle.py), per user name and address.
- `BasicAuthentication` and `TokenAuthentication` are the REST framework's
  authenticators for /api and /fhir (settings REST_FRAMEWORK), answering a
  locked pair, a wrong password, an unknown name, and an unknown, expired or
  revoked token all with the same 401.
- `BearerAuthentication`: OAuth2 bearer tokens of the site's authorisation
  server (RIS_OAUTH2_ISSUER; validated in infra/bearer.py), for programs that
  hold no RIS password or API token.
- `web.oidc.OidcBackend`: optional sign-on through the hospital's OpenID
  Connect provider, in its own module so that the library is loaded only
  where it is enabled.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from infra.bearer import InvalidBearer, bearer_enabled, bearer_user
from ris.exceptions import LoginLocked
from ris.services.login_throttle import (
    UNKNOWN_TOKEN,
    address_check_allowed,
    login_attempt_record,
    login_check_allowed,
)
from ris.services.tokens import token_user

REFUSED = "Invalid credentials, or too many failed attempts."


def request_address(request: HttpRequest | Request | None) -> str:
    return str(request.META.get("REMOTE_ADDR", "")) if request is not None else ""


class ThrottledModelBackend(ModelBackend):
    """Django's user name and password check, refused while the name and
    address are locked, each failure and success counted. A locked pair
    stops every backend (PermissionDenied), so no other backend is tried."""

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> User | None:
        if username is None:
            username = kwargs.get(User.USERNAME_FIELD)
        if username is None or password is None:
            return None
        address = request_address(request)
        try:
            login_check_allowed(username=username, address=address)
        except LoginLocked:
            # Run the hasher all the same: a locked answer takes as long as a checked one.
            User().set_password(password)
            raise PermissionDenied from None
        # ModelBackend runs the hasher for unknown names too (same timing shape).
        user = super().authenticate(request, username=username, password=password)
        login_attempt_record(username=username, address=address, succeeded=user is not None)
        return user


class BasicAuthentication(authentication.BasicAuthentication):
    """HTTP Basic through the throttled backend; every refusal is the same 401."""

    def authenticate_credentials(self, userid: str, password: str, request: Request | None = None) -> Any:
        try:
            return super().authenticate_credentials(userid, password, request)
        except exceptions.AuthenticationFailed:
            raise exceptions.AuthenticationFailed(REFUSED) from None


class TokenAuthentication(authentication.TokenAuthentication):
    """`Authorization: Token <key>` with the RIS's expiring, revocable tokens.
    A key that matches nothing, or a dead one, counts as a failed attempt."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        self._request = request
        return super().authenticate(request)

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        address = request_address(getattr(self, "_request", None))
        try:
            address_check_allowed(address=address)
            user, token = token_user(key=key)
            if token is not None:  # a known key: its owner's pair counts too
                login_check_allowed(username=token.user.get_username(), address=address)
        except LoginLocked:
            raise exceptions.AuthenticationFailed(REFUSED) from None
        if user is None:
            name = token.user.get_username() if token is not None else UNKNOWN_TOKEN
            login_attempt_record(username=name, address=address, succeeded=False)
            raise exceptions.AuthenticationFailed(REFUSED)
        return user, token


class BearerAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <JWT>` when the site names an issuer; a token that
    is not valid is the same 401 as any other refusal, counted as a failure."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        scheme, _, token = str(request.META.get("HTTP_AUTHORIZATION", "")).partition(" ")
        if scheme.lower() != "bearer" or not token.strip() or not bearer_enabled():
            return None
        address = request_address(request)
        try:
            address_check_allowed(address=address)
            return bearer_user(token.strip()), None
        except (InvalidBearer, LoginLocked):
            login_attempt_record(username=UNKNOWN_TOKEN, address=address, succeeded=False)
            raise exceptions.AuthenticationFailed(REFUSED) from None

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="RIS"'


class BasicScheme(OpenApiAuthenticationExtension):
    """HTTP Basic in the OpenAPI description, as drf-spectacular writes DRF's own."""

    target_class = "web.authentication.BasicAuthentication"
    name = "basicAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "basic"}


class BearerScheme(OpenApiAuthenticationExtension):
    """OAuth2 bearer tokens (JWT) in the OpenAPI description."""

    target_class = "web.authentication.BearerAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
