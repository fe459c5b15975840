"""Order status back to the EHR: ORM^O01 (v2.3.1) or OMI^O23 (v2.5.1), ORC-1 SC,
or ORC-1 OC (order cancelled by the filler) when a radiologist rejected it at
vetting. A reason the event carries (a rejection, a return for information)
goes in ORC-16 Order Control Code Reason and in an NTE after the OBR.

The outbox builder for the "order_status" event (registered in hl7/apps.py).
The worker runs it on the first delivery attempt, after the change has
committed; ORC-5 is the status the event recorded. The payload is then
frozen on the outbound row and resent unchanged, which keeps MSH-10 stable
across retries.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone

from hl7 import writer
from hl7.writer import SegmentBuilder, pn_to_xpn

__all__ = ["ORDER_STATUS_CODES", "build_order_status", "pn_to_xpn"]
from ris.models import Destination, ImagingOrder, RequestedProcedure, ScheduledProcedureStep
from ris.outbox import Built
from ris.states import OrderStatus

# HL7 table 0038 order status, for ORC-5
ORDER_STATUS_CODES = {
    OrderStatus.SCHEDULED: "SC",
    OrderStatus.IN_PROGRESS: "IP",
    OrderStatus.COMPLETED: "CM",
    OrderStatus.DISCONTINUED: "DC",
    OrderStatus.CANCELED: "CA",
    OrderStatus.ON_HOLD: "HD",
}


def build_order_status(destination: Destination, context: dict[str, Any]) -> Built:
    order = ImagingOrder.objects.select_related("patient").get(pk=context["order_id"])
    version = destination.hl7_version or "2.5.1"
    omi = writer.version_at_least(version, "2.5")  # OMI^O23 from v2.5 on (IHE SWF.b); ORM^O01 before
    control_id = "RIS" + uuid.uuid4().hex[:17]  # ST(20) in v2.3.1
    # The worker builds after the change committed, when the order may have
    # moved on: ORC-5 tells the status of the change that caused this message.
    status = str(context.get("status") or order.status)
    change = _Change(status, str(context.get("control") or "SC"), str(context.get("reason") or ""))
    body = [_pid(order), _pv1(order)]
    for index, procedure in enumerate(order.procedures.prefetch_related("steps").order_by("pk"), start=1):
        body += _order_group(order, procedure, index, omi, change)
    return Built(payload=writer.utf8_message(_msh(destination, version, control_id, omi), body), control_id=control_id)


def _msh(destination: Destination, version: str, control_id: str, omi: bool) -> writer.SegmentBuilder:
    return writer.msh(
        message_type=("OMI", "O23", "OMI_O23") if omi else ("ORM", "O01"),
        control_id=control_id,
        version=version,
        receiving_application=(destination.receiving_application,),
        receiving_facility=(destination.receiving_facility,),
    )


def _pid(order: ImagingOrder) -> str:
    return writer.pid(order.patient)


def _pv1(order: ImagingOrder) -> str:
    # PV1-2 patient class U (unknown, table 0004); PV1-8 referring (XCN); PV1-19 visit number
    segment = SegmentBuilder("PV1").put(1, "1").put(2, "U").put(8, writer.pn_to_xcn(order.referring_physician))
    return segment.set(19, order.admission_id).text()


@dataclass(frozen=True)
class _Change:
    status: str  # ORC-5, as an OrderStatus
    control: str = "SC"  # ORC-1: SC status changed, OC cancelled by the filler (HL7 2.5.1 table 0119)
    reason: str = ""  # ORC-16 and NTE-3


def _order_group(
    order: ImagingOrder, procedure: RequestedProcedure, index: int, omi: bool, change: _Change
) -> list[str]:
    steps = sorted(procedure.steps.all(), key=lambda s: s.pk)
    start = steps[0].start if steps else None  # the booked time, else the one the order asked for
    segments = [_orc(order, change, None if omi else start)]
    if omi and start is not None:
        segments.append(SegmentBuilder("TQ1").put(1, "1").put(7, writer.hl7_time(start)).text())  # TQ1-7 start
    segments.append(_obr(order, procedure, steps[0] if steps else None, index))
    if change.reason:
        # NTE-1 set ID, NTE-2 source L (ancillary / filler, table 0105), NTE-3 the comment
        segments.append(SegmentBuilder("NTE").put(1, "1").put(2, "L").set(3, change.reason).text())
    if omi:
        segments += [_ipc(order, procedure, step) for step in steps]
    return segments


def _orc(order: ImagingOrder, change: _Change, start: dt.datetime | None = None) -> str:
    # ORC-1 SC status changed or OC cancelled, ORC-2/3 placer/filler (EI), ORC-5 order status,
    # ORC-9 transaction time; v2.3.1: ORC-7.4 the scheduled start (TQ; from v2.5 TQ1-7 carries it);
    # ORC-16 order control code reason (CE: the text in component 2)
    segment = SegmentBuilder("ORC").put(1, change.control).put(2, _placer(order)).put(3, _filler(order))
    segment.put(5, ORDER_STATUS_CODES.get(OrderStatus(change.status), ""))
    if start is not None:
        segment.put(7, writer.components("", "", "", writer.hl7_time(start)))
    segment.put(9, writer.hl7_time(timezone.now()))
    if change.reason:
        segment.put(16, writer.components("", change.reason[:199]))
    return segment.text()


def _obr(order: ImagingOrder, procedure: RequestedProcedure, step: ScheduledProcedureStep | None, index: int) -> str:
    segment = SegmentBuilder("OBR").put(1, str(index)).put(2, _placer(order)).put(3, _filler(order))
    segment.put(
        4, writer.coded(procedure.code_value, procedure.code_meaning or procedure.description, procedure.code_scheme)
    )
    segment.set(18, order.accession_number or "")  # accession number
    segment.set(19, procedure.requested_procedure_id)  # requested procedure ID
    segment.set(20, step.sps_id if step else "")  # scheduled procedure step ID
    segment.set(24, step.modality if step else "")  # diagnostic service section: modality
    return segment.text()


def _ipc(order: ImagingOrder, procedure: RequestedProcedure, step: ScheduledProcedureStep) -> str:
    # HL7 2.5.1 IPC: accession, requested procedure ID, Study Instance UID, SPS ID, modality
    segment = SegmentBuilder("IPC").set(1, order.accession_number or "").set(2, procedure.requested_procedure_id)
    return segment.set(3, procedure.study_instance_uid).set(4, step.sps_id).set(5, step.modality).text()


def _placer(order: ImagingOrder) -> str:
    namespace = order.placer_system.split("|")[0]
    return writer.components(order.placer_number, namespace) if order.placer_number else ""


def _filler(order: ImagingOrder) -> str:
    return writer.components(order.filler_number, settings.RIS_HL7_APPLICATION)
