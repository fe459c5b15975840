"""`procedure_notify` as a part of one statement: the Image Managers' outbox rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from ris.models import ImagingOrder, OutboundMessage
from ris.services.procedures import EVENT, OPEN_ORDERS
from ris.services.statements.base import Statement, db_table, texts


def procedure_notify_part(
    statement: Statement,
    *,
    order: str,
    control: str,
    destinations: Sequence[int],
    now: dt.datetime,
    name: str,
    once: bool = False,
) -> None:
    """`procedure_notify` for the order of part `order` (no row: nothing):
    one PENDING row per destination (`outbox_destinations`, read by the
    door), in their order. With `once`, as the services do for an order
    that may already have rows: not when one with the same control is
    still waiting to be built."""
    if not destinations:
        return
    outbox = db_table(OutboundMessage)
    pending = (
        f" AND NOT EXISTS (SELECT 1 FROM {outbox} w WHERE w.order_id = o.id AND w.event = %s"
        " AND w.built_at IS NULL AND w.status = %s AND w.context ->> 'control' = %s)"
        if once
        else ""
    )
    statement.wake.update(destinations)
    numbers = statement.new_id_numbers(OutboundMessage, len(destinations))  # one row per destination, in order
    statement.add(
        name,
        f"INSERT INTO {outbox} (id, destination_id, event, context, payload, content_type, control_id, built_at,"
        " status, attempts, next_attempt_at, last_error, response, created_at, sent_at, order_id)"
        " SELECT i.id, d.id, %s, jsonb_build_object('order_id', o.id, 'control', %s::text, 'reason', ''), '', '', '',"
        " NULL, %s, 0, NULL, '', '', %s, NULL, o.id"
        f" FROM {order} o, unnest(%s::bigint[], %s::integer[]) AS d(id, n) JOIN {outbox}_ids i ON i.n = d.n"
        f" WHERE true{pending} RETURNING id",
        [
            EVENT,
            control,
            OutboundMessage.Status.PENDING,
            now,
            list(destinations),
            numbers,
            *([EVENT, OutboundMessage.Status.PENDING, control] if once else []),
        ],
    )


def open_orders_sql(patient_id: str) -> tuple[str, list[object]]:
    """Whether the patient (a qualified SQL column: the subquery has an `id` of its own) has an
    order a PACS still places images under."""
    return (
        f"EXISTS (SELECT 1 FROM {db_table(ImagingOrder)} WHERE patient_id = {patient_id} AND status = ANY(%s))",
        [texts(OPEN_ORDERS)],
    )
