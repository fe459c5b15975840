"""Configuration rows (rooms, opening hours, blocked time, the procedure
catalogue, stations, destinations, senders, the modality registry): saved or
deleted with their audit event in one transaction, from the pages and the
admin alike."""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction
from django.db.models import Model, ProtectedError
from django.utils.translation import gettext

from ris.exceptions import StillInUse
from ris.models import AuditEvent
from ris.records import Actor
from ris.services.audit import audit_record


def config_save(*, actor: Actor, row: Model, save_related: Callable[[], None] | None = None) -> Model:
    """Save a validated row (and, through `save_related`, its many-to-many
    fields or inlines): CREATE when it is new, CHANGE otherwise."""

    def write() -> Model:
        row.save()
        if save_related is not None:
            save_related()
        return row

    return config_write(actor=actor, write=write, created=row._state.adding)


@transaction.atomic
def config_write(*, actor: Actor, write: Callable[[], Model], created: bool) -> Model:
    """Run a validated write that saves one row (a serializer's or a form's
    save) and record it: CREATE or CHANGE."""
    row = write()
    action = AuditEvent.Action.CREATE if created else AuditEvent.Action.CHANGE
    audit_record(actor=actor, action=action, obj=row, detail=str(row)[:200])
    return row


@transaction.atomic
def config_delete(*, actor: Actor, row: Model) -> None:
    """Delete a row; a row still in use stays, unaudited, and is refused (StillInUse)."""
    audit_record(actor=actor, action=AuditEvent.Action.DELETE, obj=row, detail=str(row)[:200])
    try:
        with transaction.atomic():
            row.delete()
    except ProtectedError as exc:
        raise StillInUse(
            gettext("%(row)s is still in use (%(users)s) and was not deleted") % {"row": row, "users": _users(exc)}
        ) from None


def _users(exc: ProtectedError) -> str:
    kinds = sorted({str(type(other)._meta.verbose_name_plural) for other in exc.protected_objects})
    return ", ".join(kinds) or gettext("referenced")
