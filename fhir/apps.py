from pathlib import Path

from django.apps import AppConfig


class FhirConfig(AppConfig):
    name = "fhir"
    verbose_name = "FHIR interface"
    # The package's __path__ also holds fhir.resources' folder (see __init__).
    path = str(Path(__file__).resolve().parent)

    def ready(self) -> None:
        from fhir.client import send_fhir
        from fhir.transaction import build_critical_communicated, build_report_transaction
        from ris import outbox
        from ris.models import Destination

        outbox.register_sender(Destination.Kind.FHIR, send_fhir)
        outbox.register_builder(Destination.Kind.FHIR, "report", build_report_transaction)
        outbox.register_builder(Destination.Kind.FHIR, "critical_communicated", build_critical_communicated)
