"""Appointment notifications to the Order Placer: SIU^S12..S26 (HL7 2.5.1
ch. 10; IHE RAD-48), the outbox builder of the "appointment" event
(registered in hl7/apps.py; ris/services/appointment_events.py says when).

MSH SCH [TQ1] PID PV1 RGS AIS AIL [AIP]: SCH the booking (SCH-2 filler
appointment ID, SCH-11 and TQ1 its times, SCH-25 its status, SCH-26/27 the
order's placer and filler numbers, from v2.4), AIS the procedure, AIL the room, AIP
the performing physician when the step names one. The times are those the
event recorded (a cancelled booking's too). TQ1 exists from v2.5: a
v2.3.1 destination gets SCH-11 alone.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.conf import settings

from hl7 import writer
from hl7.writer import SegmentBuilder
from ris.models import Destination, ScheduledProcedureStep
from ris.outbox import Built

# HL7 2.5.1 table 0278 filler status codes, by trigger event
_FILLER_STATUS = {"S12": "Booked", "S13": "Booked", "S14": "Booked", "S15": "Cancelled", "S26": "Noshow"}
# SCH-6 event reason (a user-defined code: the trigger event and what it means)
_EVENT_REASON = {
    "S12": "new appointment booked",
    "S13": "appointment rescheduled",
    "S14": "appointment modified",
    "S15": "appointment cancelled",
    "S26": "patient did not show up",
}


def build_siu(destination: Destination, context: dict[str, Any]) -> Built:
    trigger = context["change"]
    step = ScheduledProcedureStep.objects.select_related("requested_procedure__order__patient").get(
        pk=context["step_id"]
    )
    start, end = dt.datetime.fromisoformat(context["start"]), dt.datetime.fromisoformat(context["end"])
    version = destination.hl7_version or "2.5.1"
    control_id = "RIS" + uuid.uuid4().hex[:17]  # ST(20) in v2.3.1
    header = writer.msh(
        message_type=("SIU", trigger, "SIU_S12"),  # every SIU event has the S12 structure
        control_id=control_id,
        version=version,
        receiving_application=(destination.receiving_application,),
        receiving_facility=(destination.receiving_facility,),
    )
    order = step.requested_procedure.order
    body = [_sch(context, step, start, end, trigger, with_order=writer.version_at_least(version, "2.4"))]
    if writer.version_at_least(version, "2.5"):
        body.append(
            SegmentBuilder("TQ1").put(1, "1").put(7, writer.hl7_time(start)).put(8, writer.hl7_time(end)).text()
        )
    body += [writer.pid(order.patient), _pv1(order.referring_physician), SegmentBuilder("RGS").put(1, "1").text()]
    body += _resources(context, step, start, end, trigger)
    return Built(payload=writer.utf8_message(header, body), control_id=control_id)


def _minutes(start: dt.datetime, end: dt.datetime) -> str:
    return str(int((end - start).total_seconds() // 60))


def _sch(
    context: dict[str, Any],
    step: ScheduledProcedureStep,
    start: dt.datetime,
    end: dt.datetime,
    trigger: str,
    with_order: bool,
) -> str:
    order = step.requested_procedure.order
    placer = writer.components(order.placer_number, order.placer_system.split("|")[0]) if order.placer_number else ""
    filler = writer.components(order.filler_number, settings.RIS_HL7_APPLICATION)
    segment = SegmentBuilder("SCH").put(
        2, writer.components(str(context["appointment_id"]), settings.RIS_HL7_APPLICATION)
    )
    segment.put(6, writer.components(trigger, _EVENT_REASON[trigger]))
    segment.put(7, writer.components(step.requested_procedure.code_value, step.requested_procedure.description))
    segment.set(9, _minutes(start, end)).set(10, "min")  # SCH-9/10 duration (kept for older receivers)
    # SCH-11 TQ: ^^duration^start^end
    segment.put(11, writer.components("", "", f"M{_minutes(start, end)}", writer.hl7_time(start), writer.hl7_time(end)))
    segment.put(16, writer.components("", settings.RIS_HL7_APPLICATION))  # SCH-16 filler contact: the department
    segment.put(20, writer.components("", settings.RIS_HL7_APPLICATION))  # SCH-20 entered by
    segment.set(25, _FILLER_STATUS[trigger])
    if with_order:  # SCH-26/27 placer and filler order numbers, from v2.4
        segment.put(26, placer).put(27, filler)
    return segment.text()


def _pv1(referring_physician: str) -> str:
    # PV1-2 patient class U (unknown, table 0004); PV1-8 referring (XCN)
    return SegmentBuilder("PV1").put(1, "1").put(2, "U").put(8, writer.pn_to_xcn(referring_physician)).text()


def _resources(
    context: dict[str, Any], step: ScheduledProcedureStep, start: dt.datetime, end: dt.datetime, trigger: str
) -> list[str]:
    """AIS the procedure, AIL the room, AIP the performing physician: each with the booking's start and length."""
    when, minutes, status = writer.hl7_time(start), _minutes(start, end), _FILLER_STATUS[trigger]
    procedure = step.requested_procedure
    ais = SegmentBuilder("AIS").put(1, "1").put(3, writer.procedure_code(procedure)).put(4, when)
    ais.set(7, minutes).set(8, "min").set(10, status)
    ail = SegmentBuilder("AIL").put(1, "1").put(3, writer.components(context["room"])).put(6, when)
    ail.set(9, minutes).set(10, "min").set(12, status)
    segments = [ais.text(), ail.text()]
    if step.performing_physician:
        aip = SegmentBuilder("AIP").put(1, "1").put(3, writer.pn_to_xcn(step.performing_physician)).put(6, when)
        segments.append(aip.set(9, minutes).set(10, "min").set(12, status).text())
    return segments
