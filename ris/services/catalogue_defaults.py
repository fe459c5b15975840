"""Scheduling defaults for a new step: the procedure catalogue and the order source's station rules."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from ris.models import Procedure, Station
from ris.records import StationRule
from ris.services.stations import station_for_modality


@dataclass(frozen=True)
class StepDefaults:
    modality: str = ""
    duration_minutes: int | None = None
    station: Station | None = None


def step_defaults(
    *,
    code_value: str,
    code_scheme: str,
    modality: str,
    rules: tuple[StationRule, ...] = (),
    needs_station: bool = True,
) -> StepDefaults:
    """What the catalogue and the source's rules say for a step the order leaves open.

    Station: a source rule for the procedure code, the catalogue's station,
    a source rule for the modality, then the modality's default station.
    """
    entry = catalogue_entry(code_value=code_value, code_scheme=code_scheme)
    modality = modality or (entry.modality if entry else "")
    duration = entry.default_duration_minutes if entry else None
    if not needs_station:
        return StepDefaults(modality=modality, duration_minutes=duration)
    station = (
        _rule_station(rules, procedure_code=code_value, modality=modality)
        or (entry.station if entry else None)
        or _rule_station(rules, procedure_code="", modality=modality)
        or station_for_modality(modality)
    )
    return StepDefaults(modality=modality, duration_minutes=duration, station=station)


def catalogue_entry(*, code_value: str, code_scheme: str) -> Procedure | None:
    """The catalogue entry of a code, entered for the sender's scheme or for any."""
    if not code_value:
        return None
    entries = Procedure.objects.filter(code=code_value).filter(Q(code_scheme=code_scheme) | Q(code_scheme=""))
    return entries.select_related("station").first()


def _rule_station(rules: tuple[StationRule, ...], *, procedure_code: str, modality: str) -> Station | None:
    ae_title = rule_station_ae(rules, procedure_code=procedure_code, modality=modality)
    return Station.objects.filter(ae_title=ae_title).first() if ae_title is not None else None


def rule_station_ae(rules: tuple[StationRule, ...], *, procedure_code: str, modality: str) -> str | None:
    """The AE title of the first (most specific) rule for exactly this code and this modality or any."""
    if not procedure_code and not modality:
        return None
    for rule in rules:
        if rule.procedure_code == procedure_code and rule.modality in (modality, ""):
            return rule.station_ae_title
    return None
