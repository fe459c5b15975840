"""Procedure Scheduled and Procedure Update to the Image Manager (IHE RAD-4, RAD-13).

The outbox builder for the "procedure" event (registered in hl7/apps.py):
OMI^O23 for a v2.5 or later destination (IHE RAD TF-2 4.4, SWF.b), ORM^O01
with ZDS for a v2.3.1 one (SWF). ORC-1 is the control the domain recorded
(NW scheduled, XO changed, CA cancelled, DC discontinued); everything else
is the order as it is when the worker builds it, with the patient it now
belongs to, so a later message always carries the latest truth.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.utils import timezone

from hl7 import writer
from hl7.write_order_status import ORDER_STATUS_CODES
from hl7.writer import SegmentBuilder
from ris.models import Destination, ImagingOrder, RequestedProcedure, ScheduledProcedureStep
from ris.outbox import Built
from ris.states import OrderStatus

# IHE RAD TF-2 4.4.4.1.2 / 4.13.4.1.2: the controls an Image Manager accepts
CONTROLS = frozenset({"NW", "XO", "CA", "DC"})


def build_procedure(destination: Destination, context: dict[str, Any]) -> Built:
    order = ImagingOrder.objects.select_related("patient").get(pk=context["order_id"])
    control = str(context.get("control") or "XO")
    if control not in CONTROLS:
        raise ValueError(f"not a procedure control: {control!r}")
    version = destination.hl7_version or "2.5.1"
    omi = writer.version_at_least(version, "2.5")
    control_id = "RIS" + uuid.uuid4().hex[:17]  # ST(20) in v2.3.1
    body = [writer.pid(order.patient), _pv1(order)]
    procedures = order.procedures.prefetch_related("steps").order_by("pk")
    for index, procedure in enumerate(procedures, start=1):
        body += _procedure_group(order, procedure, index, control, omi)
    header = writer.msh(
        message_type=("OMI", "O23", "OMI_O23") if omi else ("ORM", "O01"),
        control_id=control_id,
        version=version,
        receiving_application=(destination.receiving_application,),
        receiving_facility=(destination.receiving_facility,),
    )
    return Built(payload=writer.utf8_message(header, body), control_id=control_id)


def _pv1(order: ImagingOrder) -> str:
    # PV1-2 patient class U (table 0004), PV1-8 referring physician, PV1-19 visit number
    segment = SegmentBuilder("PV1").put(1, "1").put(2, "U").put(8, writer.pn_to_xcn(order.referring_physician))
    return segment.set(19, order.admission_id).text()


def _procedure_group(
    order: ImagingOrder, procedure: RequestedProcedure, index: int, control: str, omi: bool
) -> list[str]:
    steps = sorted(procedure.steps.all(), key=lambda s: s.pk)
    first = steps[0] if steps else None
    segments = [_orc(order, control, first, omi)]
    if omi and first is not None:
        segments.append(_tq1(first))
    segments.append(_obr(order, procedure, first, index, omi))
    if omi:
        segments += [_ipc(order, procedure, step) for step in steps]
    else:
        segments.append(_zds(procedure))
    return segments


def _orc(order: ImagingOrder, control: str, step: ScheduledProcedureStep | None, omi: bool) -> str:
    # ORC-1 control, ORC-2/3 placer/filler, ORC-5 order status, ORC-9 transaction time,
    # ORC-7 (v2.3.1 only) quantity/timing: start in component 4, priority in 6
    segment = SegmentBuilder("ORC").put(1, control).put(2, _placer(order)).put(3, _filler(order))
    segment.put(5, ORDER_STATUS_CODES.get(OrderStatus(order.status), ""))
    if not omi and step is not None:
        segment.put(7, writer.components("", "", "", writer.hl7_time(step.start), "", _priority(order)))
    segment.put(9, writer.hl7_time(timezone.now()))
    return segment.put(12, writer.pn_to_xcn(order.ordering_physician)).text()


def _tq1(step: ScheduledProcedureStep) -> str:
    # TQ1-7 start date/time, TQ1-9 priority
    segment = SegmentBuilder("TQ1").put(1, "1").put(7, writer.hl7_time(step.start))
    order = step.requested_procedure.order
    return segment.set(9, _priority(order)).text()


def _obr(
    order: ImagingOrder, procedure: RequestedProcedure, step: ScheduledProcedureStep | None, index: int, omi: bool
) -> str:
    segment = SegmentBuilder("OBR").put(1, str(index)).put(2, _placer(order)).put(3, _filler(order))
    segment.put(4, writer.procedure_code(procedure))
    segment.put(16, writer.pn_to_xcn(order.ordering_physician))
    segment.set(18, order.accession_number or "")  # placer field 1: accession number
    segment.set(19, procedure.requested_procedure_id)  # placer field 2: requested procedure ID
    segment.set(20, step.sps_id if step else "")  # filler field 1: scheduled procedure step ID
    segment.set(24, step.modality if step else "")  # diagnostic service section: modality
    segment.set(31, order.reason)  # reason for study
    if step is not None and omi:  # OBR-44 procedure code, from v2.4 on
        segment.set(44, step.protocol_code_value, step.protocol_code_meaning, step.protocol_code_scheme)
    return segment.text()


def _ipc(order: ImagingOrder, procedure: RequestedProcedure, step: ScheduledProcedureStep) -> str:
    # HL7 2.5.1 IPC: accession, requested procedure ID, Study Instance UID, SPS ID,
    # modality, protocol code, scheduled station name, location, AE title
    segment = SegmentBuilder("IPC").set(1, order.accession_number or "").set(2, procedure.requested_procedure_id)
    segment.set(3, procedure.study_instance_uid).set(4, step.sps_id).set(5, step.modality)
    if step.protocol_code_value:
        segment.put(6, writer.coded(step.protocol_code_value, step.protocol_code_meaning, step.protocol_code_scheme))
    segment.set(7, step.station_name).set(8, step.location).set(9, step.station_ae_title)
    return segment.text()


def _zds(procedure: RequestedProcedure) -> str:
    # IHE RAD TF-2 4.4.4.1.2.1 ZDS-1 Study Instance UID ^ RIS ^ Application ^ DICOM
    uid = writer.components(procedure.study_instance_uid, settings.RIS_HL7_APPLICATION, "Application", "DICOM")
    return SegmentBuilder("ZDS").put(1, uid).text()


def _priority(order: ImagingOrder) -> str:
    # HL7 table 0027: S stat, A as soon as possible, R routine
    return {"STAT": "S", "HIGH": "A", "MEDIUM": "T"}.get(order.priority, "R")


def _placer(order: ImagingOrder) -> str:
    namespace = order.placer_system.split("|")[0]
    return writer.components(order.placer_number, namespace) if order.placer_number else ""


def _filler(order: ImagingOrder) -> str:
    return writer.components(order.filler_number, settings.RIS_HL7_APPLICATION)
