"""People and roles: create a user with roles, change them, deactivate,
set a new password, change what a role may do. Each is one transaction with
its audit event; no staff rights are involved (the administrator role's
`manage_users` capability guards the pages).

A user is never deleted: the audit trail and signed reports point at them;
a deactivated user cannot log in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission, User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext

from ris.exceptions import InvalidInput
from ris.models import AuditEvent, StaffProfile
from ris.records import Actor
from ris.services.audit import audit_record


@dataclass(frozen=True)
class PersonData:
    """What the administration pages enter for a person."""

    username: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    title: str = ""
    credentials: str = ""
    roles: tuple[int, ...] = ()  # Group ids


@transaction.atomic
def user_create(*, person: PersonData, password: str, actor: Actor) -> User:
    users = get_user_model()
    if users.objects.filter(username__iexact=person.username).exists():
        raise InvalidInput(gettext("the user name %(name)s is taken") % {"name": person.username}, field="username")
    _check_password(password, person.username)
    user = users.objects.create_user(username=person.username, password=password)
    _apply(user, person)
    audit_record(actor=actor, action=AuditEvent.Action.CREATE, obj=user, detail=_summary(user))
    return user


@transaction.atomic
def user_update(*, user: User, person: PersonData, actor: Actor) -> User:
    _apply(user, person)
    audit_record(actor=actor, action=AuditEvent.Action.CHANGE, obj=user, detail=_summary(user))
    return user


@transaction.atomic
def user_set_active(*, user: User, active: bool, actor: Actor) -> User:
    if not active and actor.person is not None and actor.person.pk == user.pk:
        raise InvalidInput(gettext("you cannot deactivate yourself"), field="is_active")
    user.is_active = active
    user.save(update_fields=["is_active"])
    what = "activated" if active else "deactivated"
    audit_record(actor=actor, action=AuditEvent.Action.CHANGE, obj=user, detail=f"{user.username} {what}")
    return user


@transaction.atomic
def user_set_password(*, user: User, password: str, actor: Actor) -> User:
    _check_password(password, user.username)
    user.set_password(password)
    user.save(update_fields=["password"])
    audit_record(actor=actor, action=AuditEvent.Action.CHANGE, obj=user, detail=f"{user.username} password reset")
    return user


@transaction.atomic
def role_set_capabilities(*, role: Group, capabilities: Iterable[str], actor: Actor) -> Group:
    chosen = sorted(set(capabilities))
    permissions = Permission.objects.filter(content_type__app_label="ris", codename__in=chosen)
    role.permissions.set(permissions)
    detail = f"role {role.name}: {', '.join(chosen) or 'no capability'}"
    audit_record(actor=actor, action=AuditEvent.Action.CHANGE, obj=role, detail=detail[:200])
    return role


def _apply(user: User, person: PersonData) -> None:
    user.first_name, user.last_name, user.email = person.first_name, person.last_name, person.email
    user.save(update_fields=["first_name", "last_name", "email"])
    StaffProfile.objects.update_or_create(
        user=user, defaults={"title": person.title, "credentials": person.credentials}
    )
    user.groups.set(Group.objects.filter(pk__in=person.roles))


MIN_PASSWORD_LENGTH = 8


def _check_password(password: str, username: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            gettext("a password has at least %(count)d characters") % {"count": MIN_PASSWORD_LENGTH}, field="password"
        )
    try:
        validate_password(password, user=get_user_model()(username=username))
    except ValidationError as exc:
        raise InvalidInput(" ".join(exc.messages), field="password") from None


def _summary(user: User) -> str:
    roles = ", ".join(sorted(user.groups.values_list("name", flat=True))) or "no role"
    return f"{user.username} ({roles})"[:200]
