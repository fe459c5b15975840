from django.apps import AppConfig


class WorklistConfig(AppConfig):
    name = "worklist"
    verbose_name = "DICOM worklist"

    def ready(self) -> None:
        from ris import outbox
        from ris.models import Destination
        from worklist.forward import build_mpps_forward
        from worklist.rejection import build_rejection_note, send_dicom

        outbox.register_builder(Destination.Kind.DICOM, "mpps", build_mpps_forward)
        outbox.register_builder(Destination.Kind.DICOM, "rejection_note", build_rejection_note)
        outbox.register_sender(Destination.Kind.DICOM, send_dicom)
        self._forget_policies_on_change()
        self._report_ups_states()

    def _report_ups_states(self) -> None:
        from django.db.models.signals import post_save

        from ris.models import ScheduledProcedureStep
        from worklist.dicomweb.ups import on_step_saved

        post_save.connect(on_step_saved, sender=ScheduledProcedureStep, dispatch_uid="ups-state-report")

    def _forget_policies_on_change(self) -> None:
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from ris.models import Station
        from worklist.models import ModalityAE
        from worklist.registry import forget_policies

        for model in (ModalityAE, Station):
            post_save.connect(forget_policies, sender=model, dispatch_uid=f"forget-policies-save-{model.__name__}")
            post_delete.connect(forget_policies, sender=model, dispatch_uid=f"forget-policies-delete-{model.__name__}")
        m2m_changed.connect(forget_policies, sender=ModalityAE.stations.through, dispatch_uid="forget-policies-m2m")
