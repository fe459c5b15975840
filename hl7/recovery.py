"""Messages a crash left stored but unanswered (RECEIVED), processed again.

The raw message is stored before anything else (hl7/intake.py), and it is
marked APPLIED in the transaction of its change: a message still RECEIVED
after a crash was never applied and its sender never had an ACK (it will
send it again; the resend is then answered from the log). `serve` runs this
at start and periodically (RIS_HL7_RECOVERY_SECONDS); the exactly-once
index keeps a message applied once even if a listener is still at it.
One that fails again is REJECTED with the reason, logged as an error and
counted by the `ris_hl7_inbound_recovery_failed` metric: someone must look.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.utils import timezone

from hl7.intake import reprocess
from hl7.models import InboundMessage

log = logging.getLogger(__name__)
BATCH = 500
RECOVERED_NOTE = "recovered: left unanswered by a crash"


def inbound_recover(*, older_than: dt.timedelta) -> dict[str, int]:
    """Process again the RECEIVED messages stored before `older_than` ago,
    oldest first; returns how many got each ACK code."""
    cutoff = timezone.now() - older_than
    counts: dict[str, int] = {}
    stuck = InboundMessage.objects.filter(status=InboundMessage.Status.RECEIVED, received_at__lte=cutoff)
    for message in stuck.order_by("pk")[:BATCH]:
        code = reprocess(message)
        counts[code] = counts.get(code, 0) + 1
        if code != "AA":
            log.error(
                "HL7 message %s left unanswered by a crash failed again (%s): rejected, see the message log",
                message.pk,
                code,
            )
    return counts
