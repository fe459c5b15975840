"""The outbox builder for the "order_status" event, as the worker calls it.

The worker builds a message on its first delivery attempt, after the change
committed; by then the order may have moved on (IN PROGRESS, then COMPLETED
before the EHR answered). `build_order_status` reads the order as it is, so
ORC-5 is set here from the status the event recorded (the outbox context),
and each message tells the change that caused it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from hl7.status_messages import ORDER_STATUS_CODES, build_order_status
from ris.models import Destination
from ris.outbox import Built
from ris.states import OrderStatus

ORC_ORDER_STATUS = 5  # ORC-5, HL7 table 0038


def build_order_status_event(destination: Destination, context: dict[str, Any]) -> Built:
    built = build_order_status(destination, context)
    code = _status_code(str(context.get("status", "")))
    if not code:
        return built
    return dataclasses.replace(built, payload=with_order_status(built.payload, code))


def _status_code(status: str) -> str:
    try:
        return ORDER_STATUS_CODES.get(OrderStatus(status), "")
    except ValueError:
        return ""


def with_order_status(message: str, code: str) -> str:
    """The message with ORC-5 of every ORC segment set to `code`."""
    return "\r".join(_with_field(s, ORC_ORDER_STATUS, code) if s.startswith("ORC|") else s for s in message.split("\r"))


def _with_field(segment: str, index: int, value: str) -> str:
    fields = segment.split("|")
    fields += [""] * (index + 1 - len(fields))
    fields[index] = value
    return "|".join(fields)
