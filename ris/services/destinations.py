from django.conf import settings

from ris.models import Destination
from ris.records import Actor
from ris.services.configuration import config_save


def destinations_seed_from_settings(*, actor: Actor) -> None:
    """Create the destinations named by RIS_HL7_DESTINATION (host:port) and
    RIS_FHIR_BASE_URL once; afterwards they are managed in the admin."""
    if settings.RIS_HL7_DESTINATION:
        host, _, port = settings.RIS_HL7_DESTINATION.rpartition(":")
        _seed(actor, Destination(name="EHR (HL7)", kind=Destination.Kind.HL7_MLLP, host=host, port=int(port)))
    if settings.RIS_FHIR_BASE_URL:
        _seed(actor, Destination(name="EHR (FHIR)", kind=Destination.Kind.FHIR, base_url=settings.RIS_FHIR_BASE_URL))


def _seed(actor: Actor, destination: Destination) -> None:
    if not Destination.objects.filter(name=destination.name).exists():
        config_save(actor=actor, row=destination)
