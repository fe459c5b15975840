"""Which senders the RIS accepts, how their messages are read, and where
their orders go when they name no station."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from hl7.models import HL7Sender, SenderStationRule
from ris.exceptions import UnknownSender
from ris.records import StationRule


@dataclass(frozen=True)
class SenderRules:
    mrn_authority: str = ""  # PID-3 assigning authority of the MRN; '' = first repetition
    station_rules: tuple[StationRule, ...] = ()  # most specific first
    may_merge_patients: bool = False  # ADT^A40 accepted (HL7Sender.may_merge_patients)


def sender_rules(*, application: str, facility: str) -> SenderRules:
    """The configuration of a sender; refuses an unknown one once any is configured.

    One query: the list of active senders is short, and read whole.
    """
    senders = list(
        HL7Sender.objects.filter(is_active=True).values_list(
            "application", "facility", "mrn_authority", "may_merge_patients"
        )
    )
    routing = station_rules(application=application, facility=facility)
    if not senders:
        return SenderRules(station_rules=routing)
    matches = [row for row in senders if row[0] == application and row[1] in (facility, "")]
    if not matches:
        raise UnknownSender(f"sending application {application!r} / facility {facility!r} is not configured")
    best = max(matches, key=lambda row: row[1] != "")  # the facility's own entry first
    return SenderRules(mrn_authority=best[2], station_rules=routing, may_merge_patients=best[3])


def station_rules(*, application: str, facility: str) -> tuple[StationRule, ...]:
    """The rules for this sender and for every sender, most specific first: a
    modality named over any, the sender's own over every sender's."""
    rows = SenderStationRule.objects.filter(
        Q(sender__isnull=True)
        | Q(sender__application=application, sender__facility__in=[facility, ""], sender__is_active=True)
    ).values_list("procedure_code", "modality", "station__ae_title", "sender_id")
    ordered = sorted(rows, key=lambda row: (row[1] == "", row[3] is None))
    return tuple(
        StationRule(station_ae_title=ae, procedure_code=code, modality=modality) for code, modality, ae, _ in ordered
    )
