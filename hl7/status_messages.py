"""Order status back to the EHR: ORM^O01 (v2.3.1) or OMI^O23 (v2.5.1), ORC-1 SC.

The outbox builder for the "order_status" event (registered in hl7/apps.py).
It runs inside the transaction that changed the order, so it reads the
order as it now is; the payload is stored and resent unchanged, which keeps
MSH-10 stable across retries.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.utils import timezone

from hl7.datatypes import site_zone
from hl7.er7 import escape
from ris.models import Destination, ImagingOrder, RequestedProcedure
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
    control_id = "RIS" + uuid.uuid4().hex[:17]  # ST(20) in v2.3.1
    segments = [_msh(destination, version, control_id, _is_omi(version)), _pid(order), _pv1(order)]
    for index, procedure in enumerate(order.procedures.prefetch_related("steps").order_by("pk"), start=1):
        segments += _order_group(order, procedure, index, _is_omi(version))
    text = "\r".join(segments) + "\r"
    return Built(payload=_with_charset(text), control_id=control_id)


def _is_omi(version: str) -> bool:
    """OMI^O23 from v2.5 on (IHE SWF.b); ORM^O01 before."""
    try:
        return tuple(int(part) for part in version.split(".")[:2]) >= (2, 5)
    except ValueError:
        return True


def _msh(destination: Destination, version: str, control_id: str, omi: bool) -> str:
    message_type = "OMI^O23^OMI_O23" if omi else "ORM^O01"
    return "|".join(
        [
            "MSH",
            "^~\\&",
            escape(settings.RIS_HL7_APPLICATION),
            escape(settings.RIS_HL7_FACILITY),
            escape(destination.receiving_application),
            escape(destination.receiving_facility),
            _now(),
            "",
            message_type,
            control_id,
            "P",
            version,
        ]
    )


def _pid(order: ImagingOrder) -> str:
    patient = order.patient
    birth = patient.birth_date.strftime("%Y%m%d") if patient.birth_date else ""
    cx = f"{escape(patient.patient_id)}^^^{escape(patient.issuer)}".rstrip("^")
    return "|".join(["PID", "1", "", cx, "", pn_to_xpn(patient.name), "", birth, patient.sex])


def _pv1(order: ImagingOrder) -> str:
    # PV1-2 patient class U (unknown, table 0004); PV1-8 referring; PV1-19 visit number
    fields = ["PV1", "1", "U"] + [""] * 17
    fields[8] = pn_to_xpn(order.referring_physician)
    fields[19] = escape(order.admission_id)
    return "|".join(fields).rstrip("|")


def _order_group(order: ImagingOrder, procedure: RequestedProcedure, index: int, omi: bool) -> list[str]:
    steps = list(procedure.steps.all())
    segments = [_orc(order), _obr(order, procedure, steps[0] if steps else None, index)]
    if omi:
        segments += [_ipc(order, procedure, step) for step in steps]
    return segments


def _orc(order: ImagingOrder) -> str:
    # ORC-1 SC status changed, ORC-2/3 placer/filler (EI), ORC-5 order status, ORC-9 transaction time
    status = ORDER_STATUS_CODES.get(order.status, "")
    return "|".join(["ORC", "SC", _placer(order), _filler(order), "", status, "", "", "", _now()])


def _obr(order: ImagingOrder, procedure: RequestedProcedure, step, index: int) -> str:
    fields = ["OBR", str(index), _placer(order), _filler(order)] + [""] * 21
    fields[4] = _ce(procedure.code_value, procedure.code_meaning or procedure.description, procedure.code_scheme)
    fields[18] = escape(order.accession_number or "")  # accession number
    fields[19] = escape(procedure.requested_procedure_id)  # requested procedure ID
    fields[20] = escape(step.sps_id) if step else ""  # scheduled procedure step ID
    fields[24] = escape(step.modality) if step else ""  # diagnostic service section: modality
    return "|".join(fields).rstrip("|")


def _ipc(order: ImagingOrder, procedure: RequestedProcedure, step) -> str:
    # HL7 2.5.1 IPC: accession, requested procedure ID, Study Instance UID, SPS ID, modality
    return "|".join(
        [
            "IPC",
            escape(order.accession_number or ""),
            escape(procedure.requested_procedure_id),
            escape(procedure.study_instance_uid),
            escape(step.sps_id),
            escape(step.modality),
        ]
    )


def _placer(order: ImagingOrder) -> str:
    namespace = order.placer_system.split("|")[0]
    return f"{escape(order.placer_number)}^{escape(namespace)}".rstrip("^") if order.placer_number else ""


def _filler(order: ImagingOrder) -> str:
    return f"{escape(order.filler_number)}^{escape(settings.RIS_HL7_APPLICATION)}"


def _ce(value: str, text: str, scheme: str) -> str:
    if not value:
        return f"^{escape(text)}" if text else ""
    return "^".join([escape(value), escape(text), escape(scheme)])


def pn_to_xpn(name: str) -> str:
    """DICOM PN family^given^middle^prefix^suffix to HL7 XPN family^given^middle^suffix^prefix."""
    parts = (name.split("=")[0].split("^") + [""] * 5)[:5]
    family, given, middle, prefix, suffix = (escape(part) for part in parts)
    return "^".join([family, given, middle, suffix, prefix]).rstrip("^")


def _with_charset(text: str) -> str:
    """Sent as UTF-8 (hl7/client.py); declared in MSH-18 when not plain ASCII."""
    if text.isascii():
        return text
    msh, rest = text.split("\r", 1)
    return msh + "|" * 6 + "UNICODE UTF-8\r" + rest


def _now() -> str:
    return timezone.now().astimezone(site_zone()).strftime("%Y%m%d%H%M%S%z")
