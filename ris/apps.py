from django.apps import AppConfig
from django.db.models.signals import m2m_changed, post_migrate, pre_save


class RisConfig(AppConfig):
    name = "ris"
    verbose_name = "Radiology"

    def ready(self) -> None:
        from django.contrib.auth.models import User

        from ris import outbox, tasks
        from ris.services.audit import SYSTEM
        from ris.services.destinations import destinations_seed_from_settings
        from ris.services.tokens import revoke_on_password_change, revoke_on_role_removal

        outbox.register_scheduler(tasks.schedule_delivery)
        post_migrate.connect(lambda **kwargs: destinations_seed_from_settings(actor=SYSTEM), sender=self, weak=False)
        pre_save.connect(revoke_on_password_change, sender=User, weak=False)
        m2m_changed.connect(revoke_on_role_removal, sender=User.groups.through, weak=False)
