from django.conf import settings

from ris.models import Destination


def destinations_seed_from_settings() -> None:
    """Create the destinations named by RIS_HL7_DESTINATION (host:port) and
    RIS_FHIR_BASE_URL once; afterwards they are managed in the admin."""
    if settings.RIS_HL7_DESTINATION:
        host, _, port = settings.RIS_HL7_DESTINATION.rpartition(":")
        Destination.objects.get_or_create(
            name="EHR (HL7)", defaults={"kind": Destination.Kind.HL7_MLLP, "host": host, "port": int(port)}
        )
    if settings.RIS_FHIR_BASE_URL:
        Destination.objects.get_or_create(
            name="EHR (FHIR)", defaults={"kind": Destination.Kind.FHIR, "base_url": settings.RIS_FHIR_BASE_URL}
        )
