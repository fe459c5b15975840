"""Optional sign-on through the hospital's OpenID Connect provider
(mozilla-django-oidc, code flow; settings RIS_OIDC_*). Imported only when
RIS_OIDC_ENABLED names this backend in AUTHENTICATION_BACKENDS."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, User
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from ris.roles import ROLE_CAPABILITIES, ensure_roles


class OidcBackend(OIDCAuthenticationBackend):
    """Sign-on through the hospital's OpenID Connect provider (RIS_OIDC_ENABLED).

    The user is found by the username claim (RIS_OIDC_USERNAME_CLAIM), made on
    first sign-on without a usable password, and given at every sign-on the
    RIS roles its role claim (RIS_OIDC_ROLES_CLAIM) maps to
    (RIS_OIDC_ROLE_MAP): a role the provider no longer grants is taken away,
    which also ends the user's API tokens. Roles outside the RIS's own are
    left as they are."""

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        return bool(claims.get(settings.RIS_OIDC_USERNAME_CLAIM))

    def filter_users_by_claims(self, claims: dict[str, Any]) -> Any:
        return User.objects.filter(username=str(claims.get(settings.RIS_OIDC_USERNAME_CLAIM, ""))[:150])

    def create_user(self, claims: dict[str, Any]) -> User:
        user = User.objects.create_user(str(claims[settings.RIS_OIDC_USERNAME_CLAIM])[:150])
        user.set_unusable_password()
        return self.update_user(user, claims)

    def update_user(self, user: User, claims: dict[str, Any]) -> User:
        user.email = str(claims.get("email", user.email))[:254]
        user.first_name = str(claims.get("given_name", user.first_name))[:150]
        user.last_name = str(claims.get("family_name", user.last_name))[:150]
        user.save()
        granted = claims.get(settings.RIS_OIDC_ROLES_CLAIM) or []
        granted = [granted] if isinstance(granted, str) else granted
        wanted = {settings.RIS_OIDC_ROLE_MAP[name] for name in granted if name in settings.RIS_OIDC_ROLE_MAP}
        ensure_roles()
        held = {group.name: group for group in user.groups.filter(name__in=ROLE_CAPABILITIES)}
        user.groups.remove(*(group for name, group in held.items() if name not in wanted))
        user.groups.add(*Group.objects.filter(name__in=wanted - set(held)))
        return user
