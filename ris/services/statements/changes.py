"""`order_change` and the status moves (`order_cancel`, `order_discontinue`,
`order_hold`, `order_release`, `order_status_change`) as parts of one statement."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from ris.models import AuditEvent, ImagingOrder, RequestedProcedure, ScheduledProcedureStep
from ris.records import CLEAR, Actor, OrderData, OrderKey
from ris.services.statements.base import NotInOneStatement, Statement, audit_part, db_table, move_sources, texts
from ris.states import ORDER_MACHINE, STEP_MACHINE, OrderStatus, StepStatus


def order_cancel_parts(statement: Statement, *, key: OrderKey, actor: Actor, now: dt.datetime) -> str:
    """`order_cancel` (HL7 ORC-1 CA)."""
    return _order_move_parts(statement, key, actor, now, OrderStatus.CANCELED, StepStatus.CANCELED)


def order_discontinue_parts(statement: Statement, *, key: OrderKey, actor: Actor, now: dt.datetime) -> str:
    """`order_discontinue` (HL7 ORC-1 DC)."""
    return _order_move_parts(statement, key, actor, now, OrderStatus.DISCONTINUED, StepStatus.DISCONTINUED)


def order_hold_parts(statement: Statement, *, key: OrderKey, actor: Actor, now: dt.datetime) -> str:
    """`order_hold` (HL7 ORC-1 HD)."""
    return _order_move_parts(statement, key, actor, now, OrderStatus.ON_HOLD)


def order_release_parts(statement: Statement, *, key: OrderKey, actor: Actor, now: dt.datetime) -> str:
    """`order_release` (HL7 ORC-1 RL): only a held order."""
    return _order_move_parts(statement, key, actor, now, OrderStatus.SCHEDULED, only_from={OrderStatus.ON_HOLD})


def order_status_change_parts(
    statement: Statement, *, key: OrderKey, status: str, actor: Actor, now: dt.datetime
) -> str:
    """`order_status_change` (HL7 ORC-1 SC): told the status it has, nothing changes."""
    steps: dict[str, str] = {
        OrderStatus.CANCELED: StepStatus.CANCELED,
        OrderStatus.DISCONTINUED: StepStatus.DISCONTINUED,
    }
    return _order_move_parts(statement, key, actor, now, status, steps.get(status), same_is_known=True)


def _order_move_parts(
    statement: Statement,
    key: OrderKey,
    actor: Actor,
    now: dt.datetime,
    status: str,
    step_status: str | None = None,
    only_from: set[str] | None = None,
    same_is_known: bool = False,
) -> str:
    """`_move` with `order_find`: the order named by placer number (else
    filler number), locked; the move only when both state machines allow it
    (for the order and for every step not ended), else nothing is written and
    the services' path refuses it. Yields the part `named_order` with the order's
    `id` when the move (or, for SC, no move) is allowed."""
    orders, steps, procedures = db_table(ImagingOrder), db_table(ScheduledProcedureStep), db_table(RequestedProcedure)
    _order_find_part(statement, key)
    sources = texts(move_sources(ORDER_MACHINE, status) & (only_from or set(OrderStatus)))
    step_check, step_params = "", []
    if step_status is not None:
        step_check = (
            f" AND NOT EXISTS (SELECT 1 FROM {steps} s JOIN {procedures} r ON r.id = s.requested_procedure_id"
            f" WHERE r.order_id = t.id AND s.status <> ALL(%s) AND s.status <> ALL(%s))"
        )
        step_params = [texts(StepStatus.ENDED), texts(move_sources(STEP_MACHINE, step_status))]
    statement.add(
        "moving",
        f"SELECT t.id, t.accession_number FROM target t, {statement.guard}"
        f" WHERE t.status = ANY(%s){step_check}" + (" AND t.status <> %s" if same_is_known else ""),
        [sources, *step_params, *([status] if same_is_known else [])],
    )
    same = f" UNION ALL SELECT t.id FROM target t, {statement.guard} WHERE t.status = %s" if same_is_known else ""
    statement.add("named_order", "SELECT id FROM moving" + same, [status] if same_is_known else [])
    statement.add(
        "order_update",
        f"UPDATE {orders} o SET status = %s, updated_at = %s FROM moving m WHERE o.id = m.id RETURNING o.id",
        [status, now],
    )
    if step_status is not None:
        statement.add(
            "steps_update",
            f"UPDATE {steps} s SET status = %s FROM moving m, {procedures} r"
            " WHERE r.order_id = m.id AND s.requested_procedure_id = r.id AND s.status <> ALL(%s) RETURNING s.id",
            [step_status, texts(StepStatus.ENDED)],
        )
    statement.add("order_patient", f"SELECT o.patient_id AS id FROM {orders} o, moving m WHERE o.id = m.id")
    audit_part(
        statement,
        "order_audit",
        actor,
        AuditEvent.Action.CHANGE,
        now,
        "order_patient",
        "imagingorder",
        "moving",
        f"'order ' || o.accession_number || ' {status}'",
    )
    return "named_order"


def _order_find_part(statement: Statement, key: OrderKey) -> str:
    """`order_find` with its lock: by placer number within the placer system, else filler number."""
    orders = db_table(ImagingOrder)
    return statement.add(
        "target",
        f"SELECT id, status, accession_number FROM {orders} WHERE id = COALESCE("
        f"(SELECT id FROM {orders} WHERE %s <> '' AND placer_system = %s AND placer_number = %s ORDER BY id LIMIT 1),"
        f" (SELECT id FROM {orders} WHERE %s <> '' AND filler_number = %s ORDER BY id LIMIT 1)) FOR UPDATE",
        [key.placer_number, key.placer_system, key.placer_number, key.filler_number, key.filler_number],
    )


_ORDER_FIELDS = ("ordering_physician", "referring_physician", "reason", "priority", "admission_id")


_PROCEDURE_FIELDS = ("code_value", "code_scheme", "code_meaning", "description")


_STEP_FIELDS = (
    "modality",
    "station_ae_title",
    "station_name",
    "location",
    "performing_physician",
    "description",
    "protocol_code_value",
    "protocol_code_scheme",
    "protocol_code_meaning",
)


def order_change_parts(statement: Statement, *, key: OrderKey, order: OrderData, actor: Actor, now: dt.datetime) -> str:
    """`order_change` (HL7 ORC-1 XO) when every procedure and step it names
    exists (by its identifier, else by its position): values given replace
    the stored ones, CLEAR erases, empty keeps; ended steps are left alone;
    the order's `updated_at` moves only when one of its own values changed.
    A procedure or step to add, or an order not SCHEDULED or ON_HOLD: nothing
    is written, and the services decide. Yields `named_order`."""
    if order.priority == CLEAR:  # priority is never empty: erased means the default
        order = dataclasses.replace(order, priority="ROUTINE")
    orders, procedures, steps = db_table(ImagingOrder), db_table(RequestedProcedure), db_table(ScheduledProcedureStep)
    _order_find_part(statement, key)
    matches: list[tuple[str, str]] = []  # (part, kind)
    for number, data in enumerate(order.procedures):
        procedure = _match_part(
            statement,
            f"xo_rp{number}",
            procedures,
            "order_id",
            "(SELECT id FROM target)",
            "requested_procedure_id",
            data.requested_procedure_id,
            number,
        )
        matches.append((procedure, "procedure"))
        for step_number, step in enumerate(data.steps):
            if step.modality == CLEAR:
                raise NotInOneStatement("the modality of a step cannot be erased")
            matches.append(
                (
                    _match_part(
                        statement,
                        f"{procedure}_sps{step_number}",
                        steps,
                        "requested_procedure_id",
                        f"(SELECT id FROM {procedure})",
                        "sps_id",
                        step.sps_id,
                        step_number,
                    ),
                    "step",
                )
            )
    found = "".join(f" AND EXISTS (SELECT 1 FROM {part})" for part, _ in matches)
    distinct = "".join(_distinct([part for part, k in matches if k == kind]) for kind in ("procedure", "step"))
    statement.add(
        "named_order",
        f"SELECT t.id, t.accession_number FROM target t, {statement.guard} WHERE t.status = ANY(%s){found}{distinct}",
        [texts({OrderStatus.SCHEDULED, OrderStatus.ON_HOLD})],
    )
    assignments, params = _assignments("o", order, _ORDER_FIELDS)
    changed = " OR ".join(f"(%s AND o.{name} IS DISTINCT FROM %s)" for name in _ORDER_FIELDS)
    statement.add(
        "xo_order",
        f"UPDATE {orders} o SET {assignments}, updated_at = CASE WHEN {changed} THEN %s ELSE o.updated_at END"
        " FROM named_order n WHERE o.id = n.id RETURNING o.id",
        [*params, *params, now],
    )
    for number, data in enumerate(order.procedures):
        assignments, params = _assignments("r", data, _PROCEDURE_FIELDS)
        statement.add(
            f"xo_rp{number}_update",
            f"UPDATE {procedures} r SET {assignments} FROM named_order n, xo_rp{number} m"
            " WHERE r.id = m.id RETURNING r.id",
            params,
        )
        for step_number, step in enumerate(data.steps):
            assignments, params = _assignments("s", step, _STEP_FIELDS)
            statement.add(
                f"xo_rp{number}_sps{step_number}_update",
                f"UPDATE {steps} s SET {assignments}, start = COALESCE(%s, s.start),"
                " expected_duration_minutes = COALESCE(%s::integer, s.expected_duration_minutes)"
                f" FROM named_order n, xo_rp{number}_sps{step_number} m WHERE s.id = m.id AND s.status <> ALL(%s)"
                " RETURNING s.id",
                [*params, step.start, step.expected_duration_minutes, texts(StepStatus.ENDED)],
            )
    statement.add("xo_patient", f"SELECT o.patient_id AS id FROM {orders} o, named_order n WHERE o.id = n.id")
    audit_part(
        statement,
        "xo_audit",
        actor,
        AuditEvent.Action.CHANGE,
        now,
        "xo_patient",
        "imagingorder",
        "named_order",
        "'order ' || o.accession_number || ' changed'",
    )
    return "named_order"


def _distinct(parts: list[str]) -> str:
    """Every item names a row of its own (one row updated twice in one
    statement would keep only one of the changes)."""
    if len(parts) < 2:
        return ""
    rows = " UNION ALL ".join(f"SELECT id FROM {part}" for part in parts)
    return f" AND (SELECT count(DISTINCT id) FROM ({rows}) x) = {len(parts)}"


def _match_part(
    statement: Statement, name: str, table: str, parent: str, parent_id: str, id_column: str, wanted: str, position: int
) -> str:
    """`_match`: the row a changed item means, by its identifier, else by its position among its parent's."""
    if wanted and wanted != CLEAR:
        return statement.add(
            name,
            f"SELECT id FROM {table} WHERE {parent} = {parent_id} AND {id_column} = %s ORDER BY id LIMIT 1",
            [wanted],
        )
    return statement.add(
        name, f"SELECT id FROM {table} WHERE {parent} = {parent_id} ORDER BY id OFFSET {int(position)} LIMIT 1"
    )


def _assignments(alias: str, data: object, names: tuple[str, ...]) -> tuple[str, list[Any]]:
    """`_update`'s rule as SET clauses: a value given replaces, CLEAR erases, '' keeps."""
    params: list[Any] = []
    for name in names:
        value = getattr(data, name)
        params += [value != "", "" if value == CLEAR else value]
    return ", ".join(f"{name} = CASE WHEN %s THEN %s ELSE {alias}.{name} END" for name in names), params
