"""Patient identity changes to the systems downstream (IHE RAD-12 Patient
Update as the Department System Scheduler sends it on): the outbox builder
of the "patient" event (registered in hl7/apps.py), for destinations that
list it (Destination.OPT_IN_EVENTS).

- a merge: ADT^A40^ADT_A39, PID the survivor, MRG-1 the merged identifier;
- an identifier change (A47 received): ADT^A47^ADT_A30, PID the patient
  under its new identifier, MRG-1 the prior one;
- an un-merge: HL7 v2 has no message that undoes A40, so the restored
  patient is sent as ADT^A31^ADT_A05 (update person information) with its
  own identifier and demographics; a receiver that keeps merged records
  linked must unlink them itself (docs/hl7-interface.md).

Built by the worker after the change committed, from the rows as they are.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.utils import timezone

from hl7 import writer
from hl7.writer import SegmentBuilder
from ris.models import Destination, Patient, PatientMerge
from ris.outbox import Built


def build_patient_change(destination: Destination, context: dict[str, Any]) -> Built:
    change = context["change"]
    if change == "merge":
        merge = PatientMerge.objects.select_related("survivor", "merged").get(pk=context["merge_id"])
        body = [writer.pid(merge.survivor), _mrg(merge.merged.patient_id, merge.merged.issuer), _pv1()]
        return _built(destination, ("ADT", "A40", "ADT_A39"), body)
    if change == "identifier":
        patient = Patient.objects.get(pk=context["patient_id"])
        body = [writer.pid(patient), _mrg(context["prior_patient_id"], context.get("prior_issuer", ""))]
        return _built(destination, ("ADT", "A47", "ADT_A30"), body)
    if change == "unmerge":
        merge = PatientMerge.objects.select_related("merged").get(pk=context["merge_id"])
        return _built(destination, ("ADT", "A31", "ADT_A05"), [writer.pid(merge.merged), _pv1()])
    raise ValueError(f"unknown patient change {change!r}")


def _built(destination: Destination, message_type: tuple[str, str, str], body: list[str]) -> Built:
    control_id = "RIS" + uuid.uuid4().hex[:17]  # ST(20) in v2.3.1
    header = writer.msh(
        message_type=message_type,
        control_id=control_id,
        version=destination.hl7_version or "2.5.1",
        receiving_application=(destination.receiving_application,),
        receiving_facility=(destination.receiving_facility,),
    )
    # EVN-1 event type (kept for v2.3.1 receivers), EVN-2 recorded date/time
    evn = SegmentBuilder("EVN").set(1, message_type[1]).put(2, writer.hl7_time(timezone.now())).text()
    return Built(payload=writer.utf8_message(header, [evn, *body]), control_id=control_id)


def _mrg(patient_id: str, issuer: str) -> str:
    """MRG-1 prior patient identifier list: identifier^^^assigning authority."""
    return SegmentBuilder("MRG").set(1, patient_id, "", "", issuer).text()


def _pv1() -> str:
    """PV1-2 patient class N, not applicable (HL7 table 0004): no visit is meant."""
    return SegmentBuilder("PV1").put(1, "1").put(2, "N").text()
