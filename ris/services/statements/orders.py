"""`order_place` as parts of one statement: the order, its procedures and steps with their defaults."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from ris.models import AuditEvent, ImagingOrder, Procedure, RequestedProcedure, ScheduledProcedureStep, Station
from ris.records import Actor, OrderData, ProcedureData, StepData, plain
from ris.services.catalogue_defaults import rule_station_ae
from ris.services.procedures import SCHEDULED
from ris.services.statements.base import NotInOneStatement, Statement, audit_part, db_table
from ris.services.statements.procedures import procedure_notify_part
from ris.states import OrderStatus, StepStatus, VettingStatus
from ris.uids import new_uid


def order_place_parts(
    statement: Statement,
    *,
    patient: str,
    order: OrderData,
    actor: Actor,
    now: dt.datetime,
    name: str = "order",
    notify: Sequence[int] = (),
) -> str:
    """`order_place` for the patient part named `patient`: the order, its
    procedures and steps with the catalogue's and the source's defaults, the
    audit event, and Procedure Scheduled for the Image Managers `notify`
    (`outbox_destinations`). Yields the part `name` with the order's `id`."""
    order = plain(order)
    if order.safety:
        raise NotInOneStatement("safety screening values: the services record and audit each")
    table = db_table(ImagingOrder)
    statement.add(
        f"{name}_id",
        f"SELECT n.id, 'A' || lpad(n.id::text, greatest(7, length(n.id::text)), '0') AS accession"
        f" FROM (SELECT {statement.new_id(ImagingOrder)} AS id) n",
    )
    statement.add(
        name,
        f"INSERT INTO {table} (id, patient_id, placer_system, placer_number, filler_number, accession_number,"
        " ordering_physician, referring_physician, reason, priority, admission_id, status, created_at, updated_at,"
        " vetting_status, vetting_reason, vetted_at, vetted_by_id)"
        " SELECT o.id, p.id, %s, %s, COALESCE(NULLIF(%s, ''), o.accession), COALESCE(NULLIF(%s, ''), o.accession),"
        f" %s, %s, %s, %s, %s, %s, %s, %s, {_vetting_sql(order)}, '', NULL, NULL FROM {name}_id o, {patient} p"
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
            *_vetting_params(order),
        ],
    )
    for number, procedure in enumerate(order.procedures or [ProcedureData()]):
        _procedure_parts(statement, f"{name}_rp{number}", name, procedure, order, now)
    audit_part(
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
    procedure_notify_part(statement, order=name, control=SCHEDULED, destinations=notify, now=now, name=f"{name}_notify")
    return name


def _vetting_sql(order: OrderData) -> str:
    """`initial_vetting` in SQL: PENDING when a catalogue entry of a code needs vetting."""
    codes = [p for p in order.procedures if p.code_value]
    if not codes:
        return "%s"
    matches = " OR ".join(["(code = %s AND (code_scheme = %s OR code_scheme = ''))"] * len(codes))
    return (
        f"CASE WHEN EXISTS (SELECT 1 FROM {db_table(Procedure)} WHERE needs_vetting AND ({matches}))"
        " THEN %s ELSE %s END"
    )


def _vetting_params(order: OrderData) -> list[object]:
    codes = [p for p in order.procedures if p.code_value]
    if not codes:
        return [VettingStatus.NOT_REQUIRED]
    params: list[object] = []
    for procedure in codes:
        params += [procedure.code_value, procedure.code_scheme]
    return [*params, VettingStatus.PENDING, VettingStatus.NOT_REQUIRED]


def _procedure_parts(
    statement: Statement, name: str, order_part: str, data: ProcedureData, order: OrderData, now: dt.datetime
) -> None:
    description = data.description or data.code_meaning
    statement.add(
        name,
        f"INSERT INTO {db_table(RequestedProcedure)} (id, order_id, requested_procedure_id, code_value, code_scheme,"
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
        f"SELECT modality, default_duration_minutes, station_id FROM {db_table(Procedure)}"
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
        f"INSERT INTO {db_table(ScheduledProcedureStep)} (id, requested_procedure_id, sps_id, modality,"
        " station_ae_title, station_name, location, start, expected_duration_minutes, performing_physician,"
        " description, protocol_code_value, protocol_code_scheme, protocol_code_meaning, status,"
        " requested_start, status_reason, scheduling_note)"
        " SELECT n.id, n.procedure_id, COALESCE(NULLIF(%s, ''), 'SPS' || n.id), d.modality,"
        " COALESCE(NULLIF(%s, ''), s.ae_title, ''), left(COALESCE(NULLIF(%s, ''), s.station_name, ''), 16),"
        " left(COALESCE(NULLIF(%s, ''), s.location, ''), 16), %s, d.duration, %s, %s, %s, %s, %s, %s,"
        " %s, '', ''"
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
            data.start,  # what the order asked for; `start` becomes the booked time
        ],
    )


def _station_part(statement: Statement, name: str, procedure: ProcedureData, data: StepData, order: OrderData) -> str:
    stations = db_table(Station)
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
