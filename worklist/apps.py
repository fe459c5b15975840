from django.apps import AppConfig


class WorklistConfig(AppConfig):
    name = "worklist"
    verbose_name = "DICOM worklist"

    def ready(self) -> None:
        from ris import outbox
        from ris.models import Destination
        from worklist.forward import build_mpps_forward, send_mpps

        outbox.register_builder(Destination.Kind.DICOM, "mpps", build_mpps_forward)
        outbox.register_sender(Destination.Kind.DICOM, send_mpps)
