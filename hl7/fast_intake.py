"""The HL7 door at engine speed: a message's success in one statement.

On PostgreSQL, each MLLP connection holds a database connection of its own
(`infra.db.HeldConnection`). The common messages - a new order (ORM^O01 /
OMI^O23 whose groups are all NW), a status move (one CA, DC, HD, RL or SC
group), a patient update (ADT A01/A04/A05/A08/A28/A31 and A11-A13) - are read and checked exactly as
`hl7.intake` does (`checked_message`, the sender's rules, the handlers'
dispatch, the same readers, the same ACK builder), then stored already
applied, with the AA they will be answered with, together with the
domain's rows (`ris.services.statements`: the services' changes and audit
events as parts of one statement): one round trip, one commit, then the ACK.

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
connection; the statement's guard part re-checks a digest of the senders'
tables, so a configuration changed since is noticed by the statement itself.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable

import psycopg
from django.db import DatabaseError
from django.utils import timezone

from hl7 import intake, metrics, read_omi, read_orm
from hl7.errors import HL7Error
from hl7.handlers import PATIENT_UPDATES, handler_for
from hl7.log import inbound_row, message_actor
from hl7.models import HL7Sender, InboundMessage, SenderStationRule
from hl7.read_message import Header, ParsedMessage
from hl7.senders import SenderRules, sender_rules
from hl7.write_ack import answers_for
from infra.db import HeldConnection, release_connection
from ris.exceptions import DomainError
from ris.models import Destination, Station
from ris.services.patients import demographics_source
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

# A digest of every row (all columns) of the senders' tables and of the
# stations their rules name: it changes with any edit of the configuration.
_CONFIGURATION_DIGEST = (
    "SELECT md5(concat("
    f"(SELECT string_agg(s::text, ';' ORDER BY s.id) FROM {HL7Sender._meta.db_table} s), '|',"
    f"(SELECT string_agg(r::text || st.ae_title, ';' ORDER BY r.id) FROM {SenderStationRule._meta.db_table} r"
    f" JOIN {Station._meta.db_table} st ON st.id = r.station_id)))"
)


# The statement writes no outbox rows: with an Image Manager to tell of
# procedures (ris.services.procedures) every message goes the reference way.
_NO_IMAGE_MANAGER = (
    f" AND NOT EXISTS (SELECT 1 FROM {Destination._meta.db_table} d"
    f" WHERE d.enabled AND d.role = '{Destination.Role.IMAGE_MANAGER.value}')"
)

_RESULT = "SELECT (SELECT ok FROM guard), (SELECT id FROM message)"
_APPLIED = metrics.HL7_ONE_STATEMENT.labels("applied")
_REFERENCE = metrics.HL7_ONE_STATEMENT.labels("reference")


class Skip(Exception):
    """This message goes the reference way."""


class FastIntake:
    """One MLLP connection's intake: the one-statement path, else the reference one."""

    def __init__(self, peer: str):
        self.peer = peer
        self.database = HeldConnection()
        self._digest: str | None = None
        self._senders: dict[tuple[str, str], SenderRules] = {}

    def receive(self, raw: bytes) -> list[bytes]:
        """The ACKs to send for one message, in order. Never raises."""
        started = time.perf_counter()
        try:
            header, acks = self._apply(raw)
        except (Skip, HL7Error, DomainError, NotInOneStatement) as exc:
            log.debug("HL7 message from %s goes the reference way: %s", self.peer, exc)
            return self._reference(raw)
        except (psycopg.Error, DatabaseError) as exc:
            log.info("HL7 message from %s goes the reference way: %s", self.peer, exc.__class__.__name__)
            log.debug("the statement failed: %s", exc)  # the cached rules stay: the guard checks them
            return self._reference(raw)
        except Exception:  # a fault of ours: the reference path answers
            log.exception("HL7 message from %s failed on the one-statement path", self.peer)
            self._forget()
            return self._reference(raw)
        _APPLIED.inc()
        intake.count(header, acks, started)
        return acks

    def _reference(self, raw: bytes) -> list[bytes]:
        _REFERENCE.inc()
        return intake.receive(raw, self.peer, release=False)  # the listener releases it when quiet

    def close(self) -> None:
        self.database.close()

    def _apply(self, raw: bytes) -> tuple[Header, list[bytes]]:
        parsed = intake.checked_message(raw)
        header = parsed.header
        rules = self._rules(header)
        handler_for(parsed)  # an unsupported type or event raises as it does there
        row = inbound_row(raw=raw, peer=self.peer, header=intake.message_header(header))
        statement = Statement()
        statement.add(
            "guard", f"SELECT 1 AS ok WHERE ({_CONFIGURATION_DIGEST}) = %s{_NO_IMAGE_MANAGER}", [self._digest]
        )
        first_order = _domain_parts(statement, parsed, rules, row)
        answers = answers_for(header, "AA")
        if answers.application not in answers.texts:
            raise Skip("enhanced mode asks for no application ACK: the reference way records why")
        _message_part(statement, row, answers.application, answers.commit, first_order)
        guard, message = self.database.execute(statement.sql(_RESULT), statement.params)[0]
        if guard is None:
            self._forget()  # the configuration changed: read it again
            raise Skip("sender configuration changed")
        if message is None:
            raise Skip("the services decide (an unknown order, a move the state machines refuse)")
        log.info("HL7 %s %s from %s applied", row.message_type, header.control_id, header.sending_application)
        return header, [intake.encode(text, header) for text in answers.texts]

    def _rules(self, header: Header) -> SenderRules:
        """The sender's rules, read once per connection with the digest they match."""
        key = (header.sending_application, header.sending_facility)
        if key not in self._senders:
            if self._digest is None:
                self._digest = str(self.database.execute(_CONFIGURATION_DIGEST, ())[0][0])
            try:
                self._senders[key] = sender_rules(application=key[0], facility=key[1])
            finally:
                release_connection()
        return self._senders[key]

    def _forget(self) -> None:
        self._digest = None
        self._senders.clear()


def _domain_parts(statement: Statement, parsed: ParsedMessage, rules: SenderRules, row: InboundMessage) -> str | None:
    """The handler's service calls as parts of the statement; the first order's part, if any."""
    key = (parsed.header.message_type.upper(), parsed.header.trigger_event.upper())
    now = timezone.now()
    actor = message_actor(row)
    if key in _PATIENT_UPDATES:
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
            return order_status_change_parts(statement, key=item.key, status=item.status, actor=actor, now=now)
        return _MOVES[item.control](statement, key=item.key, actor=actor, now=now)
    if any(item.control != "NW" or item.order is None for item in items):
        # XO goes there too: a changed start or duration moves the step's booking (appointment_follow_step).
        raise Skip("changes in place, and several order controls other than NW in one message, go the reference way")
    patient = read_orm.patient_from_pid(parsed, rules.mrn_authority)
    patient_part = patient_upsert_part(statement, data=patient, source=demographics_source(actor), now=now)
    orders = [
        order_place_parts(
            statement,
            patient=patient_part,
            order=dataclasses.replace(item.order, station_rules=rules.station_rules),
            actor=actor,
            now=now,
            name=f"order{number}",
        )
        for number, item in enumerate(items)
        if item.order is not None
    ]
    return orders[0]


def _message_part(statement: Statement, row: InboundMessage, ack: str, commit_ack: str, order: str | None) -> None:
    """The log's row, already APPLIED with its AA (as `hl7.log.inbound_apply`
    leaves it): every column of the model, from the row as `hl7.log` made it."""
    row.status, row.ack_code, row.ack, row.commit_ack, row.error = (
        InboundMessage.Status.APPLIED,
        "AA",
        ack,
        commit_ack,
        "",
    )
    columns: list[str] = []
    values: list[str] = []
    params: list[object] = []
    for field in InboundMessage._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(str(field.column))
        if field.attname == "order_id":
            values.append(f"{order}.id" if order else "NULL")
            continue
        value = field.pre_save(row, add=True)  # received_at: now
        values.append("%s")
        params.append(bytes(value) if isinstance(value, bytes | memoryview) else value)
    statement.add(
        "message",
        f"INSERT INTO {InboundMessage._meta.db_table} ({', '.join(columns)})"
        f" SELECT {', '.join(values)} FROM {order or statement.guard} RETURNING id",
        params,
    )
