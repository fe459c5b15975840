"""`patient_upsert` and `patient_update` as parts of one statement."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from typing import Any

from ris.models import AuditEvent, Patient
from ris.records import CLEAR, Actor, PatientData
from ris.services.patients import demographics_source
from ris.services.statements.base import NotInOneStatement, Statement, audit_part, db_table
from ris.services.statements.procedures import open_orders_sql

_PATIENT_FIELDS = ("name", "name_ideographic", "name_phonetic", "birth_date", "sex")
_NAME_FIELDS = _PATIENT_FIELDS[:3]  # the name groups, first


def patient_upsert_part(
    statement: Statement,
    *,
    data: PatientData,
    source: str,
    now: dt.datetime,
    name: str = "patient",
    notify: Sequence[int] = (),
) -> str:
    """`patient_upsert` as one INSERT ... ON CONFLICT: a new patient with what
    the data gives; a known one gets the values given (CLEAR erases) and a new
    `updated_at` only when one changed; a merged one is left alone and the
    statement fails (a division by zero where its id would be): a sender
    naming a merged identifier is refused, which the reference path does
    (`patient_upsert`, AE 204). The part yields one row, `id`: the patient to use.

    As `patient_upsert` with `source` (the HL7 sender): the sender owns the
    demographics it sends (`demographics_source`), and `search_name` follows
    the name. A name given only in part (PID-5 without its ideographic group,
    say) over a stored patient whose other groups are not empty cannot be
    re-indexed here: the part then writes NULL, which the NOT NULL column
    refuses, and the message goes the reference way.

    With Image Managers to tell (`notify`), a change of a known patient with
    open orders fails the statement the same way: the services send each of
    those orders' Procedure Update (`procedure_notify_patient`)."""
    if not data.patient_id:
        raise NotInOneStatement("patient identifier is missing")
    sent = [getattr(data, column) for column in _PATIENT_FIELDS]
    given = [value is not None for value in sent]
    values = [_patient_value(column, value) for column, value in zip(_PATIENT_FIELDS, sent, strict=True)]
    any_value = any(value not in (None, CLEAR) for value in sent)
    names = len(_NAME_FIELDS)
    search = Patient.name_of(*values[:names]).search_text()
    owner = source[:180]
    names_given = tuple(column for column, is_given in zip(_NAME_FIELDS, given[:names], strict=True) if is_given)
    statement.add(
        f"{name}_row",
        _upsert_sql(statement.guard, names_given),
        [
            data.patient_id,
            data.issuer,
            *values,
            search,
            owner,
            now,
            now,
            *given,
            bool(names_given),
            any_value,
            *given,
            any_value,
        ],
    )
    if not notify:
        return statement.add(
            name, f"SELECT CASE WHEN merged_into_id IS NULL THEN id ELSE merged_into_id / 0 END AS id FROM {name}_row"
        )
    open_orders, params = open_orders_sql(f"{name}_row.id")
    return statement.add(
        name,
        "SELECT CASE WHEN merged_into_id IS NOT NULL THEN merged_into_id / 0"
        f" WHEN updated_at = %s AND created_at <> %s AND {open_orders} THEN id / 0 ELSE id END AS id FROM {name}_row",
        [now, now, *params],
    )


@functools.lru_cache(maxsize=16)
def _upsert_sql(guard: str, names_given: tuple[str, ...]) -> str:
    """The upsert's text: it depends on the guard part and the name groups given only."""
    table = db_table(Patient)
    others_empty = " AND ".join(f"{table}.{c} = ''" for c in _NAME_FIELDS if c not in names_given) or "TRUE"
    updates = ", ".join(
        f"{column} = CASE WHEN {table}.merged_into_id IS NULL AND %s THEN EXCLUDED.{column} ELSE {table}.{column} END"
        for column in _PATIENT_FIELDS
    )
    search_update = (
        f"search_name = CASE WHEN {table}.merged_into_id IS NOT NULL OR NOT %s THEN {table}.search_name"
        f" WHEN {others_empty} THEN EXCLUDED.search_name ELSE NULL END"
    )
    owner_update = (
        f"demographics_source = CASE WHEN {table}.merged_into_id IS NULL AND %s"
        f" THEN EXCLUDED.demographics_source ELSE {table}.demographics_source END"
    )
    changed = " OR ".join(f"(%s AND {table}.{column} IS DISTINCT FROM EXCLUDED.{column})" for column in _PATIENT_FIELDS)
    changed += f" OR (%s AND {table}.demographics_source IS DISTINCT FROM EXCLUDED.demographics_source)"
    return (
        f"INSERT INTO {table} (patient_id, issuer, {', '.join(_PATIENT_FIELDS)}, search_name, demographics_source,"
        " merged_into_id, created_at, updated_at)"
        f" SELECT %s, %s, %s, %s, %s, %s::date, %s, %s, %s, NULL, %s, %s FROM {guard}"
        f" ON CONFLICT (patient_id, issuer) DO UPDATE SET {updates}, {search_update}, {owner_update},"
        f" updated_at = CASE WHEN {table}.merged_into_id IS NULL AND ({changed})"
        f" THEN EXCLUDED.updated_at ELSE {table}.updated_at END"
        " RETURNING id, merged_into_id, created_at, updated_at"
    )


def _patient_value(column: str, value: Any) -> Any:
    """What a new row holds and a change writes: CLEAR and 'not given' are empty."""
    if value is None or value == CLEAR:
        return None if column == "birth_date" else ""
    return value


def patient_update_parts(statement: Statement, *, data: PatientData, actor: Actor, now: dt.datetime) -> str:
    """`patient_update` (HL7 ADT A01/A04/A08): the upsert and its audit event.
    Not with Image Managers to tell: a change updates every open order there,
    which only the services do."""
    patient = patient_upsert_part(statement, data=data, source=demographics_source(actor), now=now)
    audit_part(statement, "patient_audit", actor, AuditEvent.Action.CHANGE, now, patient, "patient", patient, "")
    return patient
