"""Which senders the RIS accepts, and how their messages are read."""
from __future__ import annotations

from dataclasses import dataclass

from ris.exceptions import UnknownSender
from ris.models import HL7Sender


@dataclass(frozen=True)
class SenderRules:
    mrn_authority: str = ""  # PID-3 assigning authority of the MRN; '' = first repetition


def sender_rules(*, application: str, facility: str) -> SenderRules:
    """The configuration of a sender; refuses an unknown one once any is configured."""
    senders = HL7Sender.objects.filter(is_active=True)
    if not senders.exists():
        return SenderRules()
    match = (
        senders.filter(application=application, facility__in=[facility, ""]).order_by("-facility").first()
    )
    if match is None:
        raise UnknownSender(f"sending application {application!r} / facility {facility!r} is not configured")
    return SenderRules(mrn_authority=match.mrn_authority)
