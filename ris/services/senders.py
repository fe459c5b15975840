"""Which senders the RIS accepts, and how their messages are read."""

from __future__ import annotations

from dataclasses import dataclass

from ris.exceptions import UnknownSender
from ris.models import HL7Sender


@dataclass(frozen=True)
class SenderRules:
    mrn_authority: str = ""  # PID-3 assigning authority of the MRN; '' = first repetition


def sender_rules(*, application: str, facility: str) -> SenderRules:
    """The configuration of a sender; refuses an unknown one once any is configured.

    One query: the list of active senders is short, and read whole.
    """
    senders = list(HL7Sender.objects.filter(is_active=True).values_list("application", "facility", "mrn_authority"))
    if not senders:
        return SenderRules()
    matches = [row for row in senders if row[0] == application and row[1] in (facility, "")]
    if not matches:
        raise UnknownSender(f"sending application {application!r} / facility {facility!r} is not configured")
    best = max(matches, key=lambda row: row[1] != "")  # the facility's own entry first
    return SenderRules(mrn_authority=best[2])
