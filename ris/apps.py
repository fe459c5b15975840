from django.apps import AppConfig
from django.db.models.signals import post_migrate


class RisConfig(AppConfig):
    name = "ris"
    verbose_name = "Radiology"

    def ready(self) -> None:
        from ris import outbox, tasks
        from ris.services.audit import SYSTEM
        from ris.services.destinations import destinations_seed_from_settings

        outbox.register_scheduler(tasks.schedule_delivery)
        post_migrate.connect(lambda **kwargs: destinations_seed_from_settings(actor=SYSTEM), sender=self, weak=False)
