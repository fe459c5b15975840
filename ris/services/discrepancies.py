"""Opening an item in the reconciliation queue: what did not match, as found.

Kept apart from the resolutions (ris/services/reconciliation.py) so that
every service that finds a mismatch (MPPS, images, merges) can record it
without importing the services that repair it.
"""

from __future__ import annotations

import logging
from typing import Any

from ris.models import AuditEvent, Discrepancy
from ris.records import Actor
from ris.services.audit import audit_record

log = logging.getLogger(__name__)
Kind = Discrepancy.Kind


def discrepancy_open(*, kind: str, summary: str, actor: Actor, **links: Any) -> Discrepancy:
    """One open item, linked to what it is about (performed_step, quarantined,
    notification, patient), unless the same thing is in the queue already."""
    existing = Discrepancy.objects.filter(kind=kind, state=Discrepancy.State.OPEN, **links).first()
    if existing is not None:
        return existing
    item = Discrepancy.objects.create(kind=kind, summary=summary[:255], **links)
    audit_record(
        actor=actor, action=AuditEvent.Action.CREATE, patient=item.patient, obj=item, detail=f"to reconcile: {summary}"
    )
    log.info("reconciliation item %s opened: %s", item.pk, kind)
    return item
