"""The audit trail for a hospital's audit record repository (IHE ATNA):
domain audit events as DICOM audit messages (infra/atna.py), exported as a
file and, when RIS_AUDIT_SYSLOG names a repository, forwarded one by one
over syslog (infra/syslog.py) as each event is committed.

The forwarder is a post_save receiver (connected in web/apps.py), so every
process that writes events, the web, the HL7 and DICOM listeners and the
worker, forwards its own.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

from django.conf import settings
from django.db import transaction

from infra.atna import AuditEntry, audit_message_xml
from infra.syslog import SyslogTarget, parse_target, send, syslog_message
from ris.models import AuditEvent

log = logging.getLogger(__name__)
MSG_ID = "IHE+RFC-3881"  # the MSGID the IHE ATNA profile gives audit messages


def audit_entry(event: AuditEvent) -> AuditEntry:
    """A domain event as the plain record the ATNA builder reads. A read
    naming no single patient (a list, a search, a worklist query) is a query."""
    patient = event.patient
    action = "QUERY" if event.action == AuditEvent.Action.VIEW and patient is None else event.action
    return AuditEntry(
        at=event.at,
        action=action,
        actor=event.actor,
        person=event.user_id is not None,
        door=event.door,
        address=event.address,
        detail=event.detail,
        patient_id=f"{patient.patient_id}^^^{patient.issuer}" if patient is not None else "",
        object_type=event.object_type,
        object_id=event.object_id,
    )


def audit_entries(events: Iterable[AuditEvent]) -> Iterator[AuditEntry]:
    return (audit_entry(event) for event in events)


def source_id() -> str:
    return str(settings.RIS_AUDIT_SOURCE_ID)


def syslog_target() -> SyslogTarget | None:
    return parse_target(
        settings.RIS_AUDIT_SYSLOG,
        ca_file=settings.RIS_AUDIT_SYSLOG_CA,
        cert_file=settings.RIS_AUDIT_SYSLOG_CERT,
        key_file=settings.RIS_AUDIT_SYSLOG_KEY,
    )


def forward_on_commit(sender: type[AuditEvent], instance: AuditEvent, created: bool, **kwargs: Any) -> None:
    """post_save of an audit event: once its transaction commits, send it."""
    if not created or not settings.RIS_AUDIT_SYSLOG:
        return
    transaction.on_commit(lambda: forward(instance))


def forward(event: AuditEvent) -> bool:
    target = syslog_target()
    if target is None:
        return False
    payload = audit_message_xml(audit_entry(event), source_id=source_id(), site_id=settings.RIS_HL7_FACILITY)
    sent = send(target, syslog_message(payload, app_name=source_id(), msg_id=MSG_ID, at=event.at))
    if not sent:
        log.warning("audit event %s was not forwarded; it stays in the audit trail", event.pk)
    return sent
