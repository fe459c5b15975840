from django.apps import AppConfig


class RisConfig(AppConfig):
    name = "ris"
    verbose_name = "Radiology"
