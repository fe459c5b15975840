from pathlib import Path

from django.apps import AppConfig


class FhirConfig(AppConfig):
    name = "fhir"
    verbose_name = "FHIR interface"
    # The package's __path__ also holds fhir.resources' folder (see __init__).
    path = str(Path(__file__).resolve().parent)
