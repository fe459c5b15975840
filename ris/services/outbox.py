"""The transactional outbox: enqueue with the change, build and deliver after commit.

`outbox_enqueue` only writes rows (the event and its context), so nothing
another system needs can refuse the change that caused it. The worker builds
a message's payload on its first delivery attempt and freezes it with its
control ID; retries and resends send those same bytes. A builder that raises
is a failed delivery like a refused send: recorded, retried, then DEAD.

Delivery per destination is in order: one worker holds the destination's
lease (a conditional UPDATE, so two workers never take the same queue) and
sends its open messages oldest first. What a failure holds back is the
destination's ordering policy (`Destination.ordering`): every later message
(DESTINATION), the later messages of the same patient (PATIENT, the
default), or nothing (NONE); a receiver that cannot be reached holds back
everything, whatever the policy. A failed message is retried with
exponential backoff; a message the receiver refuses (HL7 AE/AR) or that
cannot be built is a dead letter (DEAD) after `max_refusals` attempts, any
other after `max_attempts`. A worker killed mid-send leaves the lease to
expire; the periodic sweep hands the queue to another worker.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ris import metrics, outbox
from ris.models import AuditEvent, Destination, ImagingOrder, OutboundMessage
from ris.records import Actor
from ris.services.audit import audit_record

log = logging.getLogger(__name__)
LEASE = dt.timedelta(seconds=120)
BACKOFF_BASE_SECONDS = 5
BACKOFF_MAX_SECONDS = 600

Status = OutboundMessage.Status


def outbox_enqueue(*, event: str, context: dict[str, Any], order: ImagingOrder | None = None) -> list[OutboundMessage]:
    """Write one outbound row per interested destination, inside the caller's
    transaction; delivery (and building) is queued only once that transaction commits.

    `context` is stored as JSON and handed to the builder as it was given.
    """
    rows = [
        OutboundMessage.objects.create(destination=destination, event=event, context=context, order=order)
        for destination in outbox_destinations(event)
    ]
    for destination_id in sorted({row.destination_id for row in rows}):
        transaction.on_commit(functools.partial(_schedule, destination_id))
    return rows


def outbox_destinations(event: str) -> list[Destination]:
    """The destinations an event is written for, in the order their rows are:
    enabled, wanting the event, and with a builder for it."""
    return [
        destination
        for destination in Destination.objects.filter(enabled=True).order_by("pk")
        if destination.wants(event) and outbox.builder_for(destination.kind, event) is not None
    ]


def outbox_wake(destination_ids: Iterable[int]) -> None:
    """Queue delivery to these destinations, for rows a door wrote and committed itself."""
    for destination_id in sorted(set(destination_ids)):
        _schedule(destination_id)


# A door that commits hundreds of changes a second (the HL7 listener) would
# queue a delivery task for each, and publishing one costs about as much as
# the change itself. Per process and destination, an immediate task is queued
# at most once per window; a change within the window is covered by one task
# queued to run at the window's end, which every later change until then
# shares. Each committed row thus has a task that starts after its commit.
WAKE_WINDOW_SECONDS = 0.2
_wakes: dict[int, tuple[float, float]] = {}  # destination: (last immediate task, when the trailing one runs)
_wakes_lock = threading.Lock()
_clock = time.monotonic


def _schedule(destination_id: int, countdown: float = 0) -> None:
    """Queue delivery through the registered scheduler (the Celery door)."""
    schedule = outbox.scheduler()
    if schedule is None:
        log.warning("no scheduler registered; the sweep delivers destination %s later", destination_id)
        return
    if countdown <= 0:
        countdown = _coalesced(destination_id)
        if countdown < 0:
            return  # a task already queued starts after this commit
    try:
        schedule(destination_id, countdown)
    except Exception as exc:  # broker down: the sweep delivers it later
        log.warning("could not queue delivery to destination %s: %s", destination_id, exc)


def _coalesced(destination_id: int) -> float:
    """The countdown of the task to queue now for the destination: 0, the
    window (a trailing task), or -1 for none (one queued already starts later)."""
    now = _clock()
    with _wakes_lock:
        immediate, trailing = _wakes.get(destination_id, (-WAKE_WINDOW_SECONDS, 0.0))
        if trailing > now:
            return -1
        if now - immediate >= WAKE_WINDOW_SECONDS:
            _wakes[destination_id] = (now, trailing)
            return 0
        _wakes[destination_id] = (immediate, now + WAKE_WINDOW_SECONDS)
        return WAKE_WINDOW_SECONDS


def outbox_deliver(*, destination_id: int) -> int:
    """Send the destination's due messages in order; returns how many were delivered."""
    owner = uuid.uuid4().hex
    if not _claim(destination_id, owner):
        return 0
    try:
        return _drain(Destination.objects.get(pk=destination_id), owner)
    finally:
        Destination.objects.filter(pk=destination_id, lease_owner=owner).update(lease_until=None, lease_owner="")


def _claim(destination_id: int, owner: str) -> bool:
    now = timezone.now()
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    return Destination.objects.filter(free, pk=destination_id).update(lease_until=now + LEASE, lease_owner=owner) == 1


def _drain(destination: Destination, owner: str) -> int:
    """Send the open messages oldest first, as the destination's ordering
    policy allows: a message that is not due, or that failed, holds back the
    messages of its group (all of them, its patient's, or none); a receiver
    that cannot be reached holds back everything."""
    delivered = 0
    held: set[object] = set()
    wake_at: dt.datetime | None = None
    for message in _open_messages(destination):
        group = _group(destination, message)
        if group in held:
            continue
        if message.next_attempt_at and message.next_attempt_at > timezone.now():
            held.add(group)
            wake_at = min(wake_at or message.next_attempt_at, message.next_attempt_at)
            continue
        Destination.objects.filter(pk=destination.pk, lease_owner=owner).update(lease_until=timezone.now() + LEASE)
        result = _attempt(destination, message)
        if result.delivered:
            delivered += 1
            continue
        if message.status == Status.RETRYING and message.next_attempt_at is not None:
            wake_at = min(wake_at or message.next_attempt_at, message.next_attempt_at)
        if message.status == Status.DEAD:
            continue  # given up on: the queue moves on
        if not result.refused:
            break  # the receiver is unreachable: nothing else would get through now
        held.add(group)
    if wake_at is not None:
        _schedule(destination.pk, _seconds_until(wake_at))
    return delivered


def _group(destination: Destination, message: OutboundMessage) -> object:
    """What a failing message holds back with it (Destination.ordering)."""
    if destination.ordering == Destination.Ordering.DESTINATION:
        return "all"
    if destination.ordering == Destination.Ordering.PATIENT and message.order_id is not None:
        return ("patient", message.order.patient_id if message.order else None)
    return ("message", message.pk)


def _seconds_until(moment: dt.datetime) -> float:
    return (moment - timezone.now()).total_seconds()


def _open_messages(destination: Destination) -> Iterator[OutboundMessage]:
    """The open messages oldest first, read a batch at a time, then what was
    queued meanwhile (its own delivery task finds the lease taken)."""
    last = 0
    while True:
        batch = list(
            destination.messages.filter(status__in=(Status.PENDING, Status.RETRYING), id__gt=last)
            .select_related("order")
            .order_by("id")[:100]
        )
        if not batch:
            return
        yield from batch
        last = batch[-1].pk


def _attempt(destination: Destination, message: OutboundMessage) -> outbox.SendResult:
    """One delivery attempt: build the payload if it is not yet frozen, then send it."""
    try:
        outbox_build(message=message)
    except Exception as exc:  # a builder bug is a failed delivery, visible on the row
        log.exception("building outbound message %s (%s to %s) failed", message.pk, message.event, destination)
        result = outbox.SendResult(False, error=f"build failed: {type(exc).__name__}: {exc}", refused=True)
    else:
        result = _send(destination, message)
    _record(destination, message, result)
    metrics.OUTBOUND_SENT.labels(message.event, message.status.lower()).inc()
    return result


def outbox_build(*, message: OutboundMessage) -> OutboundMessage:
    """Build the message's payload once and freeze it with its control ID.

    A message already built is returned as it is: retries and resends keep the
    payload and its MSH-10 or resource id. Raises what the builder raises, or
    `outbox.NoBuilder`; the message then stays unbuilt.
    """
    if message.is_built:
        return message
    destination = message.destination
    build = outbox.builder_for(destination.kind, message.event)
    if build is None:
        raise outbox.NoBuilder(f"no builder for {destination.kind} {message.event!r}")
    # A savepoint: a builder's failed query must not break a surrounding transaction.
    with transaction.atomic():
        built = build(destination, message.context)
        _freeze(message, built)
    return message


def _freeze(message: OutboundMessage, built: outbox.Built) -> None:
    frozen: dict[str, Any] = {
        "payload": built.payload,
        "control_id": built.control_id,
        "content_type": built.content_type,
        "built_at": timezone.now(),
    }
    # Conditional UPDATE: if another caller froze the row first, its payload stands.
    if OutboundMessage.objects.filter(pk=message.pk, built_at__isnull=True).update(**frozen) == 1:
        for name, value in frozen.items():
            setattr(message, name, value)
    else:
        message.refresh_from_db(fields=list(frozen))


def _send(destination: Destination, message: OutboundMessage) -> outbox.SendResult:
    sender = outbox.sender_for(destination.kind)
    if sender is None:
        return outbox.SendResult(False, error="no sender for this kind")
    try:
        return sender(destination, message)
    except Exception as exc:  # a sender bug must not stall the queue silently
        log.exception("sending outbound message %s failed", message.pk)
        return outbox.SendResult(False, error=f"{type(exc).__name__}: {exc}")


def _record(destination: Destination, message: OutboundMessage, result: outbox.SendResult) -> None:
    message.attempts += 1
    message.response = result.response
    if result.delivered:
        message.status = Status.ACKED if result.acknowledged else Status.SENT
        message.sent_at, message.last_error, message.next_attempt_at = timezone.now(), "", None
    elif message.attempts >= _attempts_allowed(destination, result):
        # A dead letter: given up, counted by ris_outbox_dead_letters and shown until sent again.
        message.status, message.last_error = Status.DEAD, result.error
        log.error("outbound message %s to %s is a dead letter: %s", message.pk, destination, result.error)
    else:
        message.status, message.last_error = Status.RETRYING, result.error
        message.next_attempt_at = timezone.now() + backoff(message.attempts)
        log.warning(
            "outbound message %s to %s failed (attempt %d): %s", message.pk, destination, message.attempts, result.error
        )
    message.save(update_fields=["attempts", "response", "status", "sent_at", "last_error", "next_attempt_at"])


def _attempts_allowed(destination: Destination, result: outbox.SendResult) -> int:
    """A refused message gets `max_refusals` attempts, any other `max_attempts` (the cap of both)."""
    if result.refused:
        return min(destination.max_refusals, destination.max_attempts)
    return destination.max_attempts


def backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(BACKOFF_BASE_SECONDS * 2 ** (attempts - 1), BACKOFF_MAX_SECONDS))


@transaction.atomic
def outbox_resend(*, message: OutboundMessage, actor: Actor) -> OutboundMessage:
    """Send a message again (from the UI): a delivered or dead one is re-queued.

    A built message keeps its frozen payload and control ID; one whose build
    failed is built again on the next attempt (the builder may be fixed by then).
    """
    message.status, message.next_attempt_at, message.last_error = Status.PENDING, None, ""
    message.attempts = 0
    message.save(update_fields=["status", "next_attempt_at", "last_error", "attempts"])
    patient = message.order.patient if message.order is not None else None
    detail = f"{message.event} {message.control_id or '(not built)'} to {message.destination} sent again"
    audit_record(actor=actor, action=AuditEvent.Action.CHANGE, patient=patient, obj=message, detail=detail)
    transaction.on_commit(functools.partial(_schedule, message.destination_id))
    return message


def outbox_sweep() -> list[int]:
    """Queue delivery for every destination with due messages and no live lease."""
    now = timezone.now()
    due = OutboundMessage.objects.filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
        status__in=(Status.PENDING, Status.RETRYING),
    ).filter(Q(destination__lease_until__isnull=True) | Q(destination__lease_until__lt=now))
    destination_ids = sorted(set(due.values_list("destination_id", flat=True)))
    for destination_id in destination_ids:
        _schedule(destination_id)
    return destination_ids
