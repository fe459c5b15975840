"""The registry between the outbox and the doors that speak wire formats.

The domain decides *that* an event goes to a destination; a door registers,
per destination kind, how to build its payload and how to send it. The
domain never imports a wire format; the doors register in AppConfig.ready().
The Celery door registers the scheduler that queues a destination's delivery,
so the outbox service never imports the task module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ris.models import Destination, OutboundMessage


@dataclass(frozen=True)
class Built:
    payload: str
    control_id: str = ""
    content_type: str = "application/hl7-v2"


@dataclass(frozen=True)
class SendResult:
    delivered: bool
    response: str = ""
    error: str = ""
    acknowledged: bool = True  # False for a send that expects no answer
    # The receiver answered and refused this message (an HL7 AE/AR), or it
    # could not be built: a fault of this message, not of the link, so the
    # messages behind it may go on (Destination.ordering).
    refused: bool = False


class NoBuilder(LookupError):
    """No builder is registered for a message's destination kind and event."""


Builder = Callable[[Destination, dict[str, Any]], Built]
Sender = Callable[[Destination, OutboundMessage], SendResult]
Scheduler = Callable[[int, float], None]  # (destination id, seconds from now)

_builders: dict[tuple[str, str], Builder] = {}
_senders: dict[str, Sender] = {}
_schedulers: list[Scheduler] = []


def register_builder(kind: str, event: str, builder: Builder) -> None:
    _builders[(kind, event)] = builder


def register_sender(kind: str, sender: Sender) -> None:
    _senders[kind] = sender


def register_scheduler(scheduler: Scheduler) -> None:
    """One scheduler at a time: registering again replaces it."""
    _schedulers[:] = [scheduler]


def builder_for(kind: str, event: str) -> Builder | None:
    return _builders.get((kind, event))


def sender_for(kind: str) -> Sender | None:
    return _senders.get(kind)


def scheduler() -> Scheduler | None:
    return _schedulers[0] if _schedulers else None
