"""OAuth2 bearer tokens (RFC 6750) issued by the site's authorisation server,
validated as JWTs (RFC 9068): signature by the issuer's published keys
(JWKS), issuer, audience when one is configured, expiry. Settings
RIS_OAUTH2_ISSUER (none: bearer tokens are not accepted), RIS_OAUTH2_JWKS_URL,
RIS_OAUTH2_AUDIENCE, RIS_OAUTH2_USERNAME_CLAIM.

The token names an existing, active user of the RIS by its username claim;
what it may do is that user's roles. No user is created from a token.
"""

from __future__ import annotations

import functools
from typing import Any

import jwt
from django.conf import settings
from django.contrib.auth.models import User

ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]


class InvalidBearer(Exception):
    """A bearer token that is not valid here (answered 401, never explained)."""


def bearer_enabled() -> bool:
    return bool(settings.RIS_OAUTH2_ISSUER)


def bearer_user(token: str) -> User:
    """The active user a valid token names; raises InvalidBearer otherwise."""
    claims = bearer_claims(token)
    name = str(claims.get(settings.RIS_OAUTH2_USERNAME_CLAIM, ""))[:150]
    user = User.objects.filter(username=name, is_active=True).first() if name else None
    if user is None:
        raise InvalidBearer(f"no active user {name!r}")
    return user


def bearer_claims(token: str) -> dict[str, Any]:
    try:
        key = _keys(settings.RIS_OAUTH2_JWKS_URL).get_signing_key_from_jwt(token)
        audience = settings.RIS_OAUTH2_AUDIENCE or None
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=ALGORITHMS,
            issuer=settings.RIS_OAUTH2_ISSUER,
            audience=audience,
            options={"require": ["exp", "iss"], "verify_aud": audience is not None},
            leeway=30,
        )
    except jwt.PyJWTError as exc:
        raise InvalidBearer(str(exc)) from None
    return claims


@functools.cache
def _keys(url: str) -> jwt.PyJWKClient:
    """One key client per JWKS address: it caches the keys and fetches them again for an unknown key id."""
    return jwt.PyJWKClient(url, cache_keys=True, lifespan=3600, timeout=10)
