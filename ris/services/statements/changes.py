"""The status moves (`order_cancel`, `order_discontinue`, `order_hold`,
`order_release`, `order_status_change`) as parts of one statement.

A change in place (`order_change`) is not among them: a changed start or
duration moves the step's booking with it (`appointment_follow_step`),
which only the services do."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from ris.models import AuditEvent, ImagingOrder, RequestedProcedure, ScheduledProcedureStep
from ris.records import Actor, OrderKey
from ris.services.procedures import CANCELLED, DISCONTINUED
from ris.services.statements.base import NotInOneStatement, Statement, audit_part, db_table, move_sources, texts
from ris.services.statements.procedures import procedure_notify_part
from ris.states import ORDER_MACHINE, STEP_MACHINE, OrderStatus, StepStatus


def order_cancel_parts(
    statement: Statement, *, key: OrderKey, actor: Actor, now: dt.datetime, notify: Sequence[int] = ()
) -> str:
    """`order_cancel` (HL7 ORC-1 CA), and CA for the Image Managers `notify`."""
    return _order_end_parts(statement, key, actor, now, notify, OrderStatus.CANCELED, StepStatus.CANCELED, CANCELLED)


def order_discontinue_parts(
    statement: Statement, *, key: OrderKey, actor: Actor, now: dt.datetime, notify: Sequence[int] = ()
) -> str:
    """`order_discontinue` (HL7 ORC-1 DC), and DC for the Image Managers `notify`."""
    return _order_end_parts(
        statement, key, actor, now, notify, OrderStatus.DISCONTINUED, StepStatus.DISCONTINUED, DISCONTINUED
    )


def _order_end_parts(
    statement: Statement,
    key: OrderKey,
    actor: Actor,
    now: dt.datetime,
    notify: Sequence[int],
    status: str,
    step_status: str,
    control: str,
) -> str:
    """The move that ends an order, and `procedure_notify_status`'s message."""
    moved = _order_move_parts(statement, key, actor, now, status, step_status)
    procedure_notify_part(
        statement, order="moving", control=control, destinations=notify, now=now, name="order_notify", once=True
    )
    return moved


def order_hold_parts(
    statement: Statement, *, key: OrderKey, actor: Actor, now: dt.datetime, notify: Sequence[int] = ()
) -> str:
    """`order_hold` (HL7 ORC-1 HD): the PACS is not told of a hold."""
    return _order_move_parts(statement, key, actor, now, OrderStatus.ON_HOLD)


def order_release_parts(
    statement: Statement, *, key: OrderKey, actor: Actor, now: dt.datetime, notify: Sequence[int] = ()
) -> str:
    """`order_release` (HL7 ORC-1 RL): only a held order; the PACS is not told."""
    return _order_move_parts(statement, key, actor, now, OrderStatus.SCHEDULED, only_from={OrderStatus.ON_HOLD})


def order_status_change_parts(
    statement: Statement, *, key: OrderKey, status: str, actor: Actor, now: dt.datetime, notify: Sequence[int] = ()
) -> str:
    """`order_status_change` (HL7 ORC-1 SC): told the status it has, nothing changes."""
    steps: dict[str, str] = {
        OrderStatus.CANCELED: StepStatus.CANCELED,
        OrderStatus.DISCONTINUED: StepStatus.DISCONTINUED,
    }
    if notify and status in steps:
        raise NotInOneStatement("an order ended by its status: the services tell the Image Managers")
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
