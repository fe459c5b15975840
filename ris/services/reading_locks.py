"""The reading lock of an exam (docs/reading.md): one radiologist at a time.

Opening an exam to report takes its lock, or renews it for its holder. A
lock idle longer than settings.RIS_READING_LOCK_IDLE_MINUTES is free. While
another radiologist holds it the exam is refused (ReadingLocked, naming
the holder and since when) unless the reader takes it over explicitly,
which the audit trail records. Signing releases it (ris/services/reports.py).
The row is the lock, so every process sees it; it is taken under
SELECT ... FOR UPDATE of the procedure, so two readers never both win.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from ris.exceptions import InvalidInput, ReadingLocked
from ris.models import AuditEvent, ReadingLock, RequestedProcedure
from ris.models.reports import signer_name
from ris.records import Actor
from ris.services.audit import audit_record

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User


def idle_limit() -> dt.timedelta:
    return dt.timedelta(minutes=settings.RIS_READING_LOCK_IDLE_MINUTES)


def is_live(lock: ReadingLock, now: dt.datetime | None = None) -> bool:
    return lock.seen_at > (now or timezone.now()) - idle_limit()


@transaction.atomic
def reading_lock_take(
    *, procedure: RequestedProcedure, reader: User | AnonymousUser, actor: Actor, take_over: bool = False
) -> ReadingLock:
    """Take (or renew) the exam's lock for `reader`; refuse while another's lock
    is live, unless `take_over` says the reader takes it from them."""
    if not reader.is_authenticated:
        raise InvalidInput("an exam is read by a person", field="reader")
    RequestedProcedure.objects.select_for_update().filter(pk=procedure.pk).first()  # serialises takers
    now = timezone.now()
    lock = ReadingLock.objects.select_related("holder__staff_profile").filter(procedure=procedure).first()
    if lock is not None and lock.holder_id == reader.pk:
        lock.seen_at = now
        lock.save(update_fields=["seen_at"])
        return lock
    if lock is not None and is_live(lock, now) and not take_over:
        raise _held(lock)
    return _take(procedure, reader, actor, lock, now)


def _held(lock: ReadingLock) -> ReadingLocked:
    holder = signer_name(lock.holder)
    since = timezone.localtime(lock.taken_at)
    return ReadingLocked(f"being read by {holder} since {since:%H:%M}", holder=holder, since=lock.taken_at)


def _take(
    procedure: RequestedProcedure, reader: User, actor: Actor, previous: ReadingLock | None, now: dt.datetime
) -> ReadingLock:
    if previous is not None:
        if is_live(previous, now):
            what = f"reading lock taken over from {signer_name(previous.holder)} (held since {previous.taken_at:%H:%M})"
            audit_record(
                actor=actor,
                action=AuditEvent.Action.CHANGE,
                patient=procedure.order.patient,
                obj=procedure,
                detail=what,
            )
        previous.delete()
    try:
        with transaction.atomic():
            return ReadingLock.objects.create(procedure=procedure, holder=reader, taken_at=now, seen_at=now)
    except IntegrityError:  # another reader took it first (a database without row locks)
        winner = ReadingLock.objects.select_related("holder__staff_profile").get(procedure=procedure)
        if winner.holder_id == reader.pk:
            return winner
        raise _held(winner) from None


def reading_lock_release(*, procedure: RequestedProcedure, reader: User | AnonymousUser) -> None:
    """Give the lock back (the reader leaves the exam unsigned)."""
    ReadingLock.objects.filter(procedure=procedure, holder_id=reader.pk).delete()


def reading_lock_of(procedure: RequestedProcedure) -> ReadingLock | None:
    """The live lock of the exam, if any."""
    lock = ReadingLock.objects.select_related("holder__staff_profile").filter(procedure=procedure).first()
    return lock if lock is not None and is_live(lock) else None
