from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "web"
    verbose_name = "Web pages and REST API"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from ris.models import AuditEvent
        from web.audit_export import forward_on_commit

        # Each committed audit event goes to the hospital's audit repository, when one is set.
        post_save.connect(forward_on_commit, sender=AuditEvent, weak=False, dispatch_uid="audit_syslog")
