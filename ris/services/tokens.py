"""API tokens: issued with an expiry, checked on every request, revoked by
their owner, an administrator, or when the owner's password or roles change.

The key is random (secrets.token_hex) and only its SHA-256 digest is stored,
so a copy of the database yields no usable key. Each issue and revocation is
in the audit trail.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from ris.exceptions import NotFound
from ris.models import ApiToken, AuditEvent
from ris.records import Actor
from ris.services.audit import audit_record

KEY_BYTES = 20  # 160 random bits, written as 40 hex characters


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()


def token_issue(
    *, actor: Actor, user: User, name: str = "", lifetime: dt.timedelta | None = None
) -> tuple[ApiToken, str]:
    """A new token for `user`; returns the row and the key (shown this once)."""
    key = secrets.token_hex(KEY_BYTES)
    lifetime = lifetime or dt.timedelta(hours=settings.RIS_API_TOKEN_HOURS)
    token = ApiToken.objects.create(
        user=user, digest=_digest(key), prefix=key[:8], name=name[:80], expires_at=timezone.now() + lifetime
    )
    audit_record(actor=actor, action=AuditEvent.Action.CREATE, obj=token, detail=f"API token {token.prefix}… issued")
    return token, key


def token_user(*, key: str) -> tuple[User | None, ApiToken | None]:
    """The user a presented key stands for, with its token; (None, token) for
    a known key that expired or was revoked, (None, None) for an unknown one."""
    token = ApiToken.objects.select_related("user").filter(digest=_digest(key)).first()
    if token is None:
        return None, None
    now = timezone.now()
    if token.revoked_at is not None or token.expires_at <= now or not token.user.is_active:
        return None, token
    if token.last_used_at is None or now - token.last_used_at > dt.timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)  # at most one write a minute
    return token.user, token


def tokens_of(*, user: User, everyone: bool = False) -> QuerySet[ApiToken]:
    """The tokens `user` may see: their own, or everyone's for an administrator."""
    rows = ApiToken.objects.select_related("user").order_by("-created_at")
    return rows if everyone else rows.filter(user=user)


def token_revoke(*, actor: Actor, token_id: int, visible: QuerySet[ApiToken], reason: str = "revoked") -> ApiToken:
    """Revoke one of the tokens the actor may see (NotFound for any other)."""
    token = visible.filter(pk=token_id).first()
    if token is None:
        raise NotFound(gettext("no token %(id)s") % {"id": token_id})
    if token.revoked_at is None:
        ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now(), revoked_reason=reason[:120])
        token.refresh_from_db()
        detail = f"API token {token.prefix}… of {token.user.get_username()} {reason}"
        audit_record(actor=actor, action=AuditEvent.Action.CHANGE, obj=token, detail=detail)
    return token


def tokens_revoke_all(*, actor: Actor, user: User, reason: str) -> int:
    """Revoke every live token of `user` (a password or role change)."""
    live = ApiToken.objects.filter(user=user, revoked_at__isnull=True)
    count = live.update(revoked_at=timezone.now(), revoked_reason=reason[:120])
    if count:
        detail = f"{count} API token(s) of {user.get_username()} revoked: {reason}"
        audit_record(actor=actor, action=AuditEvent.Action.CHANGE, object_type="apitoken", detail=detail)
    return count


# Django signals (connected in ris/apps.py): a token never outlives the
# password or the roles it was issued under.
def revoke_on_password_change(sender: type[User], instance: User, raw: bool = False, **kwargs: object) -> None:
    """pre_save of a user: a new password hash ends the user's tokens."""
    if raw or instance.pk is None:
        return
    old = User.objects.filter(pk=instance.pk).values_list("password", flat=True).first()
    if old is not None and old != instance.password:
        from ris.services.audit import SYSTEM

        tokens_revoke_all(actor=SYSTEM, user=instance, reason="password changed")


def revoke_on_role_removal(
    sender: type, instance: object, action: str, reverse: bool, pk_set: set[int] | None, **kwargs: object
) -> None:
    """m2m_changed of User.groups: a role taken away ends the user's tokens."""
    if action not in ("post_remove", "pre_clear"):
        return
    from ris.services.audit import SYSTEM

    if isinstance(instance, User):
        users = [instance]
    elif action == "pre_clear" and isinstance(instance, Group):
        users = list(instance.user_set.all())
    else:
        users = list(User.objects.filter(pk__in=pk_set or ()))
    for user in users:
        tokens_revoke_all(actor=SYSTEM, user=user, reason="role removed")
