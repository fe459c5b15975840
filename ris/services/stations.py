from ris.models import Station


def station_for_modality(modality: str) -> Station | None:
    """The station that takes orders of this modality when the order names none."""
    if not modality:
        return None
    stations = Station.objects.filter(modality=modality).order_by("-is_default_for_modality", "ae_title")
    return stations.first()
