"""Scheduling defaults for a new step: the procedure catalogue and station rules."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import F, Q

from ris.models import Procedure, SenderStationRule, Station
from ris.services.stations import station_for_modality


@dataclass(frozen=True)
class StepDefaults:
    modality: str = ""
    duration_minutes: int | None = None
    station: Station | None = None


def step_defaults(
    *, code_value: str, code_scheme: str, modality: str, sender: tuple[str, str], needs_station: bool = True
) -> StepDefaults:
    """What the catalogue and the sender's rules say for a step the order leaves open.

    Station: a sender rule for the procedure code, the catalogue's station,
    a sender rule for the modality, then the modality's default station.
    """
    entry = catalogue_entry(code_value=code_value, code_scheme=code_scheme)
    modality = modality or (entry.modality if entry else "")
    duration = entry.default_duration_minutes if entry else None
    if not needs_station:
        return StepDefaults(modality=modality, duration_minutes=duration)
    station = (
        _rule_station(sender, procedure_code=code_value, modality=modality)
        or (entry.station if entry else None)
        or _rule_station(sender, procedure_code="", modality=modality)
        or station_for_modality(modality)
    )
    return StepDefaults(modality=modality, duration_minutes=duration, station=station)


def catalogue_entry(*, code_value: str, code_scheme: str) -> Procedure | None:
    """The catalogue entry of a code, entered for the sender's scheme or for any."""
    if not code_value:
        return None
    entries = Procedure.objects.filter(code=code_value).filter(Q(code_scheme=code_scheme) | Q(code_scheme=""))
    return entries.select_related("station").first()


def _rule_station(sender: tuple[str, str], *, procedure_code: str, modality: str) -> Station | None:
    if not procedure_code and not modality:
        return None
    application, facility = sender
    rules = SenderStationRule.objects.filter(
        Q(sender__isnull=True)
        | Q(sender__application=application, sender__facility__in=[facility, ""], sender__is_active=True)
    ).filter(procedure_code=procedure_code, modality__in=[modality, ""])
    # the most specific rule: a modality named over any, the sender's own over every sender's
    rule = rules.select_related("station").order_by("-modality", F("sender_id").asc(nulls_last=True)).first()
    return rule.station if rule else None
