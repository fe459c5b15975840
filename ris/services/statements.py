"""The common changes as single SQL statements, for a door at engine speed.

`order_place` and `patient_update` make their change in about a dozen ORM
queries; a door that takes thousands of messages a minute (HL7) can instead
add the same change as parts of one data-modifying `WITH` statement on
PostgreSQL, run with its own rows in one round trip and one commit. The rows
are the ones the services write (the same defaults, the same audit event);
the services stay the reference, and the tests compare the two.

Every part reads from a *guard* part the door puts first (a row when the
door's own conditions still hold): without it the statement writes nothing.
Anything the statement cannot decide without another query raises
`NotInOneStatement` before a byte is sent, and the door takes the services'
path instead. A constraint the statement breaks (a placer number in use, a
Study Instance UID seen before, a value too long) fails it whole; the door
then runs the services too, which refuse with the named domain error.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Model

from ris.models import AuditEvent, ImagingOrder, Patient, Procedure, RequestedProcedure, ScheduledProcedureStep, Station
from ris.records import CLEAR, Actor, OrderData, OrderKey, PatientData, ProcedureData, StepData, plain
from ris.services.catalogue_defaults import rule_station_ae
from ris.states import ORDER_MACHINE, STEP_MACHINE, OrderStatus, StateMachine, StepStatus
from ris.uids import new_uid

_PATIENT_FIELDS = ("name", "name_ideographic", "name_phonetic", "birth_date", "sex")


class NotInOneStatement(Exception):
    """The change needs what only the services' path can decide."""


@dataclass
class Statement:
    """A `WITH` statement built part by part; parameters in textual order."""

    guard: str = "guard"
    parts: list[tuple[str, str]] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)
    ids: dict[str, int] = field(default_factory=dict)  # table: how many new ids

    def add(self, name: str, sql: str, params: list[Any] | tuple[Any, ...] = ()) -> str:
        self.parts.append((name, sql))
        self.params.extend(params)
        return name

    def new_id(self, model: type[Model]) -> str:
        """An expression for the next new id of the table: ids are drawn in
        the order they were asked for, as the services' INSERTs draw them."""
        table = _table(model)
        self.ids[table] = self.ids.get(table, 0) + 1
        return f"(SELECT id FROM {table}_ids WHERE n = {self.ids[table]})"

    def sql(self, final: str) -> str:
        """The statement; the guard first, then the drawing of new ids (they need no parameter)."""
        drawn = [
            (
                f"{table}_ids",
                f"SELECT n, nextval(pg_get_serial_sequence('{table}', 'id')) AS id"
                f" FROM {self.guard}, generate_series(1, {count}) n ORDER BY n",
            )
            for table, count in self.ids.items()
        ]
        parts = [*self.parts[:1], *drawn, *self.parts[1:]]
        return "WITH " + ",\n".join(f"{name} AS ({sql})" for name, sql in parts) + "\n" + final


def _table(model: type[Model]) -> str:
    return model._meta.db_table


def patient_upsert_part(statement: Statement, *, data: PatientData, now: dt.datetime, name: str = "patient") -> str:
    """`patient_upsert` as one INSERT ... ON CONFLICT: a new patient with what
    the data gives; a known one gets the values given (CLEAR erases) and a new
    `updated_at` only when one changed; a merged one is left alone and stands
    for its survivor. The part yields one row, `id`: the patient to use.

    One level of `merged_into` is enough: `patient_merge` moves earlier merges
    to the survivor, so a merged patient never points to a merged one."""
    if not data.patient_id:
        raise NotInOneStatement("patient identifier is missing")
    table = _table(Patient)
    given = [getattr(data, column) is not None for column in _PATIENT_FIELDS]
    values = [_patient_value(column, getattr(data, column)) for column in _PATIENT_FIELDS]
    updates = ", ".join(
        f"{column} = CASE WHEN {table}.merged_into_id IS NULL AND %s THEN EXCLUDED.{column} ELSE {table}.{column} END"
        for column in _PATIENT_FIELDS
    )
    changed = " OR ".join(f"(%s AND {table}.{column} IS DISTINCT FROM EXCLUDED.{column})" for column in _PATIENT_FIELDS)
    statement.add(
        f"{name}_row",
        f"INSERT INTO {table} (patient_id, issuer, {', '.join(_PATIENT_FIELDS)}, merged_into_id,"
        " created_at, updated_at)"
        f" SELECT %s, %s, %s, %s, %s, %s::date, %s, NULL, %s, %s FROM {statement.guard}"
        f" ON CONFLICT (patient_id, issuer) DO UPDATE SET {updates},"
        f" updated_at = CASE WHEN {table}.merged_into_id IS NULL AND ({changed})"
        f" THEN EXCLUDED.updated_at ELSE {table}.updated_at END"
        " RETURNING id, merged_into_id",
        [data.patient_id, data.issuer, *values, now, now, *given, *given],
    )
    return statement.add(name, f"SELECT COALESCE(merged_into_id, id) AS id FROM {name}_row")


def _patient_value(column: str, value: Any) -> Any:
    """What a new row holds and a change writes: CLEAR and 'not given' are empty."""
    if value is None or value == CLEAR:
        return None if column == "birth_date" else ""
    return value


def patient_update_parts(statement: Statement, *, data: PatientData, actor: Actor, now: dt.datetime) -> str:
    """`patient_update` (HL7 ADT A01/A04/A08): the upsert and its audit event."""
    patient = patient_upsert_part(statement, data=data, now=now)
    _audit_part(statement, "patient_audit", actor, AuditEvent.Action.CHANGE, now, patient, "patient", patient, "")
    return patient


def order_place_parts(
    statement: Statement, *, patient: str, order: OrderData, actor: Actor, now: dt.datetime, name: str = "order"
) -> str:
    """`order_place` for the patient part named `patient`: the order, its
    procedures and steps with the catalogue's and the source's defaults, and
    the audit event. Yields the part `name` with the order's `id`."""
    order = plain(order)
    table = _table(ImagingOrder)
    statement.add(
        f"{name}_id",
        f"SELECT n.id, 'A' || lpad(n.id::text, greatest(7, length(n.id::text)), '0') AS accession"
        f" FROM (SELECT {statement.new_id(ImagingOrder)} AS id) n",
    )
    statement.add(
        name,
        f"INSERT INTO {table} (id, patient_id, placer_system, placer_number, filler_number, accession_number,"
        " ordering_physician, referring_physician, reason, priority, admission_id, status, created_at, updated_at)"
        " SELECT o.id, p.id, %s, %s, COALESCE(NULLIF(%s, ''), o.accession), COALESCE(NULLIF(%s, ''), o.accession),"
        f" %s, %s, %s, %s, %s, %s, %s, %s FROM {name}_id o, {patient} p"
        " RETURNING id, accession_number",
        [
            order.placer_system,
            order.placer_number,
            order.filler_number or order.accession_number,
            order.accession_number,
            order.ordering_physician,
            order.referring_physician,
            order.reason,
            order.priority or "ROUTINE",
            order.admission_id,
            OrderStatus.SCHEDULED,
            now,
            now,
        ],
    )
    for number, procedure in enumerate(order.procedures or [ProcedureData()]):
        _procedure_parts(statement, f"{name}_rp{number}", name, procedure, order, now)
    _audit_part(
        statement,
        f"{name}_audit",
        actor,
        AuditEvent.Action.CREATE,
        now,
        patient,
        "imagingorder",
        name,
        "'order ' || o.accession_number",
    )
    return name


def _procedure_parts(
    statement: Statement, name: str, order_part: str, data: ProcedureData, order: OrderData, now: dt.datetime
) -> None:
    description = data.description or data.code_meaning
    statement.add(
        name,
        f"INSERT INTO {_table(RequestedProcedure)} (id, order_id, requested_procedure_id, code_value, code_scheme,"
        " code_meaning, description, study_instance_uid)"
        " SELECT n.id, n.order_id, COALESCE(NULLIF(%s, ''), 'RP' || n.id), %s, %s, %s, %s, %s"
        f" FROM (SELECT {statement.new_id(RequestedProcedure)} AS id, o.id AS order_id FROM {order_part} o) n"
        " RETURNING id",
        [
            data.requested_procedure_id,
            data.code_value,
            data.code_scheme,
            data.code_meaning,
            description,
            data.study_instance_uid or new_uid(),
        ],
    )
    for number, step in enumerate(data.steps or [StepData()]):
        _step_parts(statement, f"{name}_sps{number}", name, data, description, step, order, now)


def _step_parts(
    statement: Statement,
    name: str,
    procedure_part: str,
    procedure: ProcedureData,
    procedure_description: str,
    data: StepData,
    order: OrderData,
    now: dt.datetime,
) -> None:
    """`_create_step` with `step_defaults` in SQL: the catalogue entry of the
    code, then the station (a source rule for the code, the catalogue's
    station, a source rule for the modality, the modality's default)."""
    entry = statement.add(
        f"{name}_entry",
        f"SELECT modality, default_duration_minutes, station_id FROM {_table(Procedure)}"
        " WHERE %s <> '' AND code = %s AND (code_scheme = %s OR code_scheme = '') ORDER BY code LIMIT 1",
        [procedure.code_value, procedure.code_value, procedure.code_scheme],
    )
    statement.add(
        f"{name}_defaults",
        f"SELECT NULLIF(COALESCE(NULLIF(%s, ''), (SELECT modality FROM {entry})), '') AS modality,"
        f" COALESCE(%s::integer, (SELECT default_duration_minutes FROM {entry})) AS duration",
        [data.modality, data.expected_duration_minutes or None],
    )
    station = _station_part(statement, name, procedure, data, order)
    statement.add(
        name,
        f"INSERT INTO {_table(ScheduledProcedureStep)} (id, requested_procedure_id, sps_id, modality,"
        " station_ae_title, station_name, location, start, expected_duration_minutes, performing_physician,"
        " description, protocol_code_value, protocol_code_scheme, protocol_code_meaning, status)"
        " SELECT n.id, n.procedure_id, COALESCE(NULLIF(%s, ''), 'SPS' || n.id), d.modality,"
        " COALESCE(NULLIF(%s, ''), s.ae_title, ''), left(COALESCE(NULLIF(%s, ''), s.station_name, ''), 16),"
        " left(COALESCE(NULLIF(%s, ''), s.location, ''), 16), %s, d.duration, %s, %s, %s, %s, %s, %s"
        f" FROM (SELECT {statement.new_id(ScheduledProcedureStep)} AS id, r.id AS procedure_id"
        f" FROM {procedure_part} r) n"
        f" CROSS JOIN {name}_defaults d LEFT JOIN {station} s ON true",
        [
            data.sps_id,
            data.station_ae_title,
            data.station_name,
            data.location,
            data.start or now,
            data.performing_physician,
            (data.description or procedure_description)[:64],
            data.protocol_code_value,
            data.protocol_code_scheme,
            data.protocol_code_meaning,
            StepStatus.SCHEDULED,
        ],
    )


def _station_part(statement: Statement, name: str, procedure: ProcedureData, data: StepData, order: OrderData) -> str:
    stations = _table(Station)
    if data.station_ae_title:  # the order's own station: no default is looked up
        return statement.add(f"{name}_station", f"SELECT ae_title, station_name, location FROM {stations} WHERE false")
    if not data.modality and order.station_rules:
        # The rules depend on a modality the catalogue gives: the services decide.
        raise NotInOneStatement("station rules for a modality from the catalogue")
    by_code = rule_station_ae(order.station_rules, procedure_code=procedure.code_value, modality=data.modality)
    by_modality = rule_station_ae(order.station_rules, procedure_code="", modality=data.modality)
    return statement.add(
        f"{name}_station",
        f"SELECT ae_title, station_name, location FROM {stations} WHERE id = COALESCE("
        f"(SELECT id FROM {stations} WHERE ae_title = %s), (SELECT station_id FROM {name}_entry),"
        f" (SELECT id FROM {stations} WHERE ae_title = %s),"
        f" (SELECT id FROM {stations} WHERE modality = (SELECT modality FROM {name}_defaults)"
        " ORDER BY is_default_for_modality DESC, ae_title LIMIT 1))",
        [by_code, by_modality],
    )


def _audit_part(
    statement: Statement,
    name: str,
    actor: Actor,
    action: str,
    now: dt.datetime,
    patient: str,
    object_type: str,
    obj: str,
    detail_sql: str,
) -> None:
    """`audit_record` for an actor without a user (a peer): the detail, then what carried it."""
    if actor.person is not None:
        raise NotInOneStatement("an actor with a user account")
    via = "' · ' || %s" if actor.via else "%s"
    detail = f"{detail_sql} || {via}" if detail_sql else "%s"
    statement.add(
        name,
        f"INSERT INTO {_table(AuditEvent)} (at, user_id, actor, door, action, patient_id, object_type, object_id,"
        f" detail, address) SELECT %s, NULL, %s, %s, %s, p.id, %s, o.id::text, left({detail}, 500), %s"
        f" FROM {patient} p, {obj} o",
        [now, actor.label[:150], actor.door, action, object_type, actor.via, actor.address[:64]],
    )


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
    orders, steps, procedures = _table(ImagingOrder), _table(ScheduledProcedureStep), _table(RequestedProcedure)
    _order_find_part(statement, key)
    sources = _texts(_sources(ORDER_MACHINE, status) & (only_from or set(OrderStatus)))
    step_check, step_params = "", []
    if step_status is not None:
        step_check = (
            f" AND NOT EXISTS (SELECT 1 FROM {steps} s JOIN {procedures} r ON r.id = s.requested_procedure_id"
            f" WHERE r.order_id = t.id AND s.status <> ALL(%s) AND s.status <> ALL(%s))"
        )
        step_params = [_texts(StepStatus.ENDED), _texts(_sources(STEP_MACHINE, step_status))]
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
            [step_status, _texts(StepStatus.ENDED)],
        )
    statement.add("order_patient", f"SELECT o.patient_id AS id FROM {orders} o, moving m WHERE o.id = m.id")
    _audit_part(
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


def _sources(machine: StateMachine, new: str) -> set[str]:
    """The statuses from which the machine allows a move to `new`."""
    return {current for current, targets in machine.transitions.items() if new in targets}


def _texts(values: Iterable[str]) -> list[str]:
    """Statuses as a plain text array parameter."""
    return sorted(str(value) for value in values)


def _order_find_part(statement: Statement, key: OrderKey) -> str:
    """`order_find` with its lock: by placer number within the placer system, else filler number."""
    orders = _table(ImagingOrder)
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
    orders, procedures, steps = _table(ImagingOrder), _table(RequestedProcedure), _table(ScheduledProcedureStep)
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
        [_texts({OrderStatus.SCHEDULED, OrderStatus.ON_HOLD})],
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
                [*params, step.start, step.expected_duration_minutes, _texts(StepStatus.ENDED)],
            )
    statement.add("xo_patient", f"SELECT o.patient_id AS id FROM {orders} o, named_order n WHERE o.id = n.id")
    _audit_part(
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
