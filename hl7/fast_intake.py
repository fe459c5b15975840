"""The HL7 door at engine speed: a message's success in one statement.

On PostgreSQL (`infra.db.HeldConnection`: prepared statements without a
cursor's machinery), the common messages - a new order (ORM^O01 /
OMI^O23 whose groups are all NW), a status move (one CA, DC, HD, RL or SC
group), a patient update (ADT A01/A04/A05/A08/A28/A31 and A11-A13) - are read and checked exactly as
`hl7.intake` does (`checked_message`, the sender's rules, the handlers'
dispatch, the same readers, the same ACK builder), then stored already
applied, with the AA they will be answered with, together with the
domain's rows (`ris.services.statements`: the services' changes and audit
events as parts of one statement): one round trip, one commit - shared
with other connections' statements sent with it (`hl7.group_commit`) -,
then the ACK.

Everything else goes the reference way (`hl7.intake.receive`): messages of
other kinds, and every message this path does not carry through to its
commit. A constraint the statement breaks (a resend's control ID already
applied, a placer number in use, a value too long), an unknown order, a move
the state machines refuse, a sender
configuration that changed, a database fault: nothing of the statement was
written, and the reference path stores the message, answers it from the log
or refuses it with the named error, as it always has. So this path only
ever answers AA, and only for what it committed.

The sender's rules (`hl7.senders.sender_rules`) are read once per MLLP
connection, after the version of the configuration they come from; the
statement's guard part checks that version, so a configuration changed
since is noticed by the statement itself. The Image Manager destinations
(Procedure Scheduled and Update, RAD-4/RAD-13) are read with them: a new
order's and a cancel's outbox rows are parts of the statement, and their
delivery is queued after its commit, as the services do; a patient update,
or a new order that changes a known patient with open orders (each open
order's Procedure Update), goes the reference way while one is enabled.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
import time
from collections.abc import Callable
from typing import Any

import psycopg
from django.db import DatabaseError
from django.utils import timezone

from hl7 import intake, metrics, read_omi, read_orm
from hl7.errors import HL7Error
from hl7.handlers import PATIENT_UPDATES, handler_for
from hl7.log import inbound_values, sender_actor
from hl7.models import InboundMessage
from hl7.read_message import Header, ParsedMessage
from hl7.senders import SenderRules, sender_rules
from hl7.write_ack import answers_for
from infra.db import HeldConnection, release_connection
from ris.exceptions import DomainError
from ris.services.outbox import outbox_destinations, outbox_wake
from ris.services.patients import demographics_source
from ris.services.procedures import EVENT as PROCEDURE_EVENT
from ris.services.statements import (
    NotInOneStatement,
    Statement,
    order_cancel_parts,
    order_discontinue_parts,
    order_hold_parts,
    order_place_parts,
    order_release_parts,
    order_status_change_parts,
    patient_update_parts,
    patient_upsert_part,
)

log = logging.getLogger(__name__)

_ORDER_READERS = {("ORM", "O01"): read_orm.orders_from_orm, ("OMI", "O23"): read_omi.orders_from_omi}
_PATIENT_UPDATES = {("ADT", event) for event in PATIENT_UPDATES}
# HL7 2.5.1 4.5.1.1 order controls that move a status, to their statement (SC takes ORC-5 too)
_MOVES: dict[str, Callable[..., str]] = {
    "CA": order_cancel_parts,
    "DC": order_discontinue_parts,
    "HD": order_hold_parts,
    "RL": order_release_parts,
    "SC": order_status_change_parts,
}

# What this path reads once per connection (a sender's rules; the
# destinations told of procedures) and the transaction that last changed
# any of it, recorded by triggers (hl7/migrations/0003_configuration_version.py):
# each statement's guard checks that it is still the one read.
_VERSION_TABLE = "hl7_configuration_version"
_VERSION = f"SELECT changed_by::text FROM {_VERSION_TABLE}"
_GUARD = f"SELECT 1 AS ok FROM {_VERSION_TABLE} WHERE changed_by = %s::xid8"

_RESULT = "SELECT (SELECT ok FROM guard), (SELECT id FROM message)"
_APPLIED = metrics.HL7_ONE_STATEMENT.labels("applied")
_REFERENCE = metrics.HL7_ONE_STATEMENT.labels("reference")


class Skip(Exception):
    """This message goes the reference way."""


class FastIntake:
    """One MLLP connection's intake: the one-statement path, else the reference one.

    `receive` applies a message and waits for its commit (a thread of its
    own). An event loop serving many connections (`hl7.server`) calls
    `begin` instead: the message's statement, made and not sent; the loop
    sends it with other connections' (`hl7.group_commit`) and `finish`es it
    with its answer. Both share every step between."""

    def __init__(self, peer: str):
        self.peer = peer
        self.database = HeldConnection()  # for `receive`, while it runs
        self._version: str | None = None  # of the configuration read, None before it is read
        self._notify: tuple[int, ...] = ()  # the Image Managers told of procedures
        self._senders: dict[tuple[str, str], SenderRules] = {}

    def receive(self, raw: bytes) -> list[bytes]:
        """The ACKs to send for one message, in order. Never raises. Its
        database connection is closed after: `receive` is for the first
        message of a sender, the next ones go through `begin`."""
        started = time.perf_counter()
        try:
            acks = self._trying(lambda: self._applied(self._made(raw, started, reading=True)))
        finally:
            self.database.close()
        return acks if acks is not None else self.reference(raw)

    def begin(self, raw: bytes) -> InFlight | None:
        """The message's statement, when making it needs no query: its
        sender's rules read already. None: `receive` it, in a thread that
        may wait (which also tells why a message goes the reference way,
        and reads the rules for the next one)."""
        try:
            return self._made(raw, time.perf_counter(), reading=False)
        except Exception:  # `receive` meets it again, and answers or logs it
            return None

    def reference(self, raw: bytes) -> list[bytes]:
        """The message applied the reference way (`hl7.intake.receive`); waits."""
        _REFERENCE.inc()
        return intake.receive(raw, self.peer, release=False)  # the listener releases it when quiet

    def close(self) -> None:
        self.database.close()

    def _trying(self, apply: Callable[[], list[bytes]]) -> list[bytes] | None:
        """`apply`'s ACKs, or None when the message goes the reference way."""
        try:
            return apply()
        except (Skip, HL7Error, DomainError, NotInOneStatement) as exc:
            log.debug("HL7 message from %s goes the reference way: %s", self.peer, exc)
        except (psycopg.Error, DatabaseError) as exc:
            log.info("HL7 message from %s goes the reference way: %s", self.peer, exc.__class__.__name__)
            log.debug("the statement failed: %s", exc)  # the cached rules stay: the guard checks them
        except Exception:  # a fault of ours: the reference path answers
            log.exception("HL7 message from %s failed on the one-statement path", self.peer)
            self._forget()
        return None

    def _made(self, raw: bytes, started: float, *, reading: bool) -> InFlight | None:
        """The message's statement; None when the sender's rules are still
        to be read and `reading` them (queries) is not allowed."""
        parsed = intake.checked_message(raw)
        header = parsed.header
        if not reading and (self._version is None or _sender_key(header) not in self._senders):
            return None
        rules = self._rules(header)
        handler_for(parsed)  # an unsupported type or event raises as it does there
        row = inbound_values(raw=raw, peer=self.peer, header=intake.message_header(header))
        statement = Statement()
        statement.add("guard", _GUARD, [self._version])
        now = timezone.now()
        first_order = _domain_parts(statement, parsed, rules, row, self._notify, now)
        answers = answers_for(header, "AA")
        if answers.application not in answers.texts:
            raise Skip("enhanced mode asks for no application ACK: the reference way records why")
        _message_part(statement, row, answers.application, answers.commit, first_order, now)
        return InFlight(self, header, answers.texts, statement, row["message_type"], started)

    def _applied(self, flight: InFlight | None) -> list[bytes]:
        assert flight is not None, "made by a caller that may read"
        return flight.complete(self.database.execute(flight.sql, flight.params))

    def _rules(self, header: Header) -> SenderRules:
        """The sender's rules, read once per connection, after the version
        they are checked against (a change in between is then noticed by the
        next statement, not missed)."""
        key = _sender_key(header)
        if key not in self._senders:
            try:
                if self._version is None:
                    self._read_configuration()
                self._senders[key] = sender_rules(application=key[0], facility=key[1])
            finally:
                release_connection()
        return self._senders[key]

    def _read_configuration(self) -> None:
        """The version, then what the connection caches besides the senders' rules."""
        rows = self.database.execute(_VERSION, ())
        if not rows:
            raise Skip(f"{_VERSION_TABLE} holds no row")
        self._version = str(rows[0][0])
        self._notify = tuple(destination.pk for destination in outbox_destinations(PROCEDURE_EVENT))

    def _forget(self) -> None:
        self._version = None
        self._senders.clear()


class InFlight:
    """One message's statement, made; applied by `FastIntake.receive`, or
    sent by the loop with others and `finish`ed with what it came to."""

    def __init__(
        self, intake: FastIntake, header: Header, texts: list[str], statement: Statement, kind: str, started: float
    ):
        self.intake, self.header, self.texts, self.statement = intake, header, texts, statement
        self.kind, self.started = kind, started
        self.sql, self.params = statement.sql(_RESULT), statement.params

    def finish(self, answer: list[tuple[Any, ...]] | Exception) -> list[bytes] | None:
        """The ACKs, once committed (`answer`: the statement's rows, or the
        error it met); None: the message goes the reference way
        (`FastIntake.reference`), nothing of the statement having been written."""
        return self.intake._trying(lambda: self.complete(answer))

    def complete(self, answer: list[tuple[Any, ...]] | Exception) -> list[bytes]:
        if isinstance(answer, Exception):
            raise answer
        intake_ = self.intake
        guard, message = answer[0]
        if guard is None:
            intake_._forget()  # the configuration changed: read it again
            raise Skip("sender configuration changed")
        if message is None:
            raise Skip("the services decide (an unknown order, a move the state machines refuse)")
        header = self.header
        log.info("HL7 %s %s from %s applied", self.kind, header.control_id, header.sending_application)
        outbox_wake(self.statement.wake)  # as the services' on_commit: the rows are there now
        acks = [intake.encode(text, header) for text in self.texts]
        _APPLIED.inc()
        intake.count(header, acks, self.started)
        return acks


def _sender_key(header: Header) -> tuple[str, str]:
    return header.sending_application, header.sending_facility


def _domain_parts(
    statement: Statement,
    parsed: ParsedMessage,
    rules: SenderRules,
    row: dict[str, Any],
    notify: tuple[int, ...],
    now: dt.datetime,
) -> str | None:
    """The handler's service calls as parts of the statement, with the Image
    Managers `notify` told as the services tell them; the first order's part, if any."""
    key = (parsed.header.message_type.upper(), parsed.header.trigger_event.upper())
    actor = sender_actor(
        application=row["sending_application"],
        peer=row["peer"],
        message_type=row["message_type"],
        control_id=row["control_id"],
    )
    if key in _PATIENT_UPDATES:
        if notify:
            raise Skip("a patient update with Image Managers: the services update every open order there")
        patient_update_parts(
            statement, data=read_orm.patient_from_pid(parsed, rules.mrn_authority), actor=actor, now=now
        )
        return None
    if key not in _ORDER_READERS:
        raise Skip(f"{key} is applied the reference way")
    items = _ORDER_READERS[key](parsed)
    if len(items) == 1 and items[0].control in _MOVES:
        item = items[0]
        if item.control == "SC":
            return order_status_change_parts(
                statement, key=item.key, status=item.status, actor=actor, now=now, notify=notify
            )
        return _MOVES[item.control](statement, key=item.key, actor=actor, now=now, notify=notify)
    if any(item.control != "NW" or item.order is None for item in items):
        # XO goes there too: a changed start or duration moves the step's booking (appointment_follow_step).
        raise Skip("changes in place, and several order controls other than NW in one message, go the reference way")
    patient = read_orm.patient_from_pid(parsed, rules.mrn_authority)
    patient_part = patient_upsert_part(
        statement, data=patient, source=demographics_source(actor), now=now, notify=notify
    )
    orders = [
        order_place_parts(
            statement,
            patient=patient_part,
            order=dataclasses.replace(item.order, station_rules=rules.station_rules),
            actor=actor,
            now=now,
            name=f"order{number}",
            notify=notify,
        )
        for number, item in enumerate(items)
        if item.order is not None
    ]
    return orders[0]


def _message_part(
    statement: Statement, row: dict[str, Any], ack: str, commit_ack: str, order: str | None, now: dt.datetime
) -> None:
    """The log's row, already APPLIED with its AA (as `hl7.log.inbound_apply`
    leaves it): every column of the model, from the values `hl7.log` gives."""
    values = {
        **row,
        "status": InboundMessage.Status.APPLIED,
        "ack_code": "AA",
        "ack": ack,
        "commit_ack": commit_ack,
        "error": "",
        "received_at": now,
    }
    columns, defaults = _message_columns()
    params = [values.get(name, default) for name, default in defaults]
    order_id = f"{order}.id" if order else "NULL"
    statement.add(
        "message",
        f"INSERT INTO {InboundMessage._meta.db_table} ({columns}, order_id)"
        f" SELECT {', '.join(['%s'] * len(params))}, {order_id} FROM {order or statement.guard} RETURNING id",
        params,
    )


@functools.cache
def _message_columns() -> tuple[str, list[tuple[str, Any]]]:
    """The log table's columns but its id and order, and each one's
    attribute name and default (a value: none of the log's is callable)."""
    fields = [f for f in InboundMessage._meta.concrete_fields if not f.primary_key and f.attname != "order_id"]
    assert not any(f.has_default() and callable(f.default) for f in fields), "a callable default is drawn per row"
    return ", ".join(str(f.column) for f in fields), [(f.attname, f.get_default()) for f in fields]
