"""Opening an item in the reconciliation queue: what did not match, as found.

Kept apart from the resolutions (ris/services/reconciliation.py) so that
every service that finds a mismatch (MPPS, images, merges) can record it
without importing the services that repair it.
"""

from __future__ import annotations

import logging
from typing import Any

from ris.models import Discrepancy
from ris.records import Actor

log = logging.getLogger(__name__)
Kind = Discrepancy.Kind


def discrepancy_open(*, kind: str, summary: str, actor: Actor, **links: Any) -> Discrepancy:
    """One open item, linked to what it is about (performed_step, quarantined,
    notification, patient), unless the same thing is in the queue already."""
    existing = Discrepancy.objects.filter(kind=kind, state=Discrepancy.State.OPEN, **links).first()
    if existing is not None:
        return existing
    # Not an audit event: the change that found it (the MPPS, the IAN, the
    # merge) is audited with its actor; opening the item changes no patient data.
    item = Discrepancy.objects.create(kind=kind, summary=summary[:255], **links)
    log.info("reconciliation item %s opened by %s: %s", item.pk, actor.label, kind)
    return item
