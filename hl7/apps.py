from pathlib import Path

from django.apps import AppConfig


class Hl7Config(AppConfig):
    name = "hl7"
    verbose_name = "HL7 v2 interface"
    # The package's __path__ may hold several folders (see __init__), so name ours.
    path = str(Path(__file__).resolve().parent)

    def ready(self) -> None:
        from hl7.client import send_mllp
        from hl7.write_adt import build_patient_change
        from hl7.write_critical import build_critical_overdue
        from hl7.write_order_status import build_order_status
        from hl7.write_oru import build_oru_r01
        from hl7.write_procedure import build_procedure
        from hl7.write_siu import build_siu
        from ris import outbox
        from ris.models import Destination

        outbox.register_sender(Destination.Kind.HL7_MLLP, send_mllp)
        outbox.register_builder(Destination.Kind.HL7_MLLP, "report", build_oru_r01)
        outbox.register_builder(Destination.Kind.HL7_MLLP, "order_status", build_order_status)
        outbox.register_builder(Destination.Kind.HL7_MLLP, "patient", build_patient_change)
        outbox.register_builder(Destination.Kind.HL7_MLLP, "appointment", build_siu)
        outbox.register_builder(Destination.Kind.HL7_MLLP, "critical_overdue", build_critical_overdue)
        outbox.register_builder(Destination.Kind.HL7_MLLP, "procedure", build_procedure)
