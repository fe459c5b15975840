"""A statement built in parts, and the part every change shares: its audit event."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Model

from ris.models import AuditEvent
from ris.records import Actor
from ris.states import StateMachine


class NotInOneStatement(Exception):
    """The change needs what only the services' path can decide."""


@dataclass
class Statement:
    """A `WITH` statement built part by part; parameters in textual order."""

    guard: str = "guard"
    parts: list[tuple[str, str]] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)
    ids: dict[str, int] = field(default_factory=dict)  # table: how many new ids
    wake: set[int] = field(default_factory=set)  # destinations with outbox rows: delivery is queued after the commit

    def add(self, name: str, sql: str, params: list[Any] | tuple[Any, ...] = ()) -> str:
        self.parts.append((name, sql))
        self.params.extend(params)
        return name

    def new_id(self, model: type[Model]) -> str:
        """An expression for the next new id of the table: ids are drawn in
        the order they were asked for, as the services' INSERTs draw them."""
        table = db_table(model)
        self.ids[table] = self.ids.get(table, 0) + 1
        return f"(SELECT id FROM {table}_ids WHERE n = {self.ids[table]})"

    def new_id_numbers(self, model: type[Model], count: int) -> list[int]:
        """The numbers of `count` new ids of the table, as `new_id` draws them:
        a part joins `<table>_ids` on `n` for a number of rows known only as data."""
        table = db_table(model)
        first = self.ids.get(table, 0) + 1
        self.ids[table] = first + count - 1
        return list(range(first, first + count))

    def sql(self, final: str) -> str:
        """The statement; the guard first, then the drawing of new ids (they need no parameter)."""
        drawn = [(f"{table}_ids", self._drawing(table, count)) for table, count in self.ids.items()]
        parts = [*self.parts[:1], *drawn, *self.parts[1:]]
        return "WITH " + ",\n".join([f"{name} AS ({sql})" for name, sql in parts]) + "\n" + final

    def _drawing(self, table: str, count: int) -> str:
        sequence = f"nextval('{id_sequence(table)}'::regclass)"
        if count == 1:  # the common case, without the series and its sort
            return f"SELECT 1 AS n, {sequence} AS id FROM {self.guard}"
        return f"SELECT n, {sequence} AS id FROM {self.guard}, generate_series(1, {count}) n ORDER BY n"


def db_table(model: type[Model]) -> str:
    return model._meta.db_table


@functools.lru_cache(maxsize=32)
def id_sequence(table: str) -> str:
    """The sequence behind the table's `id`, asked once per process: looked
    up in every statement, it cost a catalogue search per table and message."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
        (name,) = cursor.fetchone()
    if not name:
        raise NotInOneStatement(f"{table}.id draws from no sequence")
    return str(name)


def audit_part(
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
        f"INSERT INTO {db_table(AuditEvent)} (at, user_id, actor, door, action, patient_id, object_type, object_id,"
        f" detail, address) SELECT %s, NULL, %s, %s, %s, p.id, %s, o.id::text, left({detail}, 500), %s"
        f" FROM {patient} p, {obj} o",
        [now, actor.label[:150], actor.door, action, object_type, actor.via, actor.address[:64]],
    )


def texts(values: Iterable[str]) -> list[str]:
    """Statuses as a plain text array parameter."""
    return sorted(str(value) for value in values)


def move_sources(machine: StateMachine, new: str) -> set[str]:
    """The statuses from which the machine allows a move to `new`."""
    return {current for current, targets in machine.transitions.items() if new in targets}
