from ris.models import Station
from ris.records import Actor
from ris.services.configuration import config_save


def station_for_modality(modality: str) -> Station | None:
    """The station that takes orders of this modality when the order names none."""
    if not modality:
        return None
    stations = Station.objects.filter(modality=modality).order_by("-is_default_for_modality", "ae_title")
    return stations.first()


def station_add(*, ae_title: str, modality: str, actor: Actor, station_name: str = "", location: str = "") -> Station:
    """Register a modality station (the admin does the same by hand)."""
    station = Station(ae_title=ae_title, modality=modality, station_name=station_name, location=location)
    config_save(actor=actor, row=station)
    return station
