"""ORM^O01 (HL7 v2.3.1 ch. 4) read into domain records.

Field map after dcm4chee's HL7 conformance statement (see docs/hl7-interface.md).
Values keep HL7 `""` as CLEAR: a new order reads it as empty, a change in
place (XO) as "erase". The OBR-level helpers are shared with OMI^O23.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from hl7.datatypes import identifier, parse_date, parse_dtm, text, xcn_to_pn, xpn_to_pn
from hl7.er7 import Segment
from hl7.errors import REQUIRED_FIELD_MISSING, SEGMENT_SEQUENCE_ERROR, TABLE_VALUE_NOT_FOUND, HL7Error, Location
from hl7.read_message import ParsedMessage
from hl7.read_safety import safety_from_message
from ris.records import CLEAR, OrderData, OrderKey, PatientData, ProcedureData, StepData
from ris.states import OrderStatus

# HL7 TQ priority (ORC-7.6 / TQ1-9) to DICOM Requested Procedure Priority
PRIORITIES = {"S": "STAT", "A": "HIGH", "P": "HIGH", "C": "HIGH", "R": "ROUTINE", "T": "MEDIUM"}
# HL7 2.5.1 table 0119, the order-control codes the RIS acts on (4.5.1.1)
ORDER_CONTROLS = {"NW", "XO", "CA", "DC", "SC", "HD", "RL"}
# HL7 2.5.1 table 0038 order status (ORC-5), read for ORC-1 SC
ORDER_STATUSES = {
    "SC": OrderStatus.SCHEDULED,
    "IP": OrderStatus.IN_PROGRESS,
    "CM": OrderStatus.COMPLETED,
    "DC": OrderStatus.DISCONTINUED,
    "CA": OrderStatus.CANCELED,
    "HD": OrderStatus.ON_HOLD,
}
_SEX = {"M": "M", "F": "F", "O": "O", "U": "O", "A": "O", "N": "O"}
_NAME_GROUPS = {"I": "name_ideographic", "P": "name_phonetic"}


@dataclass(frozen=True)
class OrderItem:
    """One ORC group: what the sender asks (ORC-1) about which order."""

    control: str
    key: OrderKey
    order: OrderData | None = None  # NW and XO only
    status: str = ""  # SC only: the ORC-5 status, as an OrderStatus


def patient_from_pid(message: ParsedMessage, mrn_authority: str = "") -> PatientData:
    pid = message.first("PID")
    if pid is None:
        raise HL7Error(SEGMENT_SEQUENCE_ERROR, "PID segment is missing", Location("PID"))
    patient_id, issuer = patient_identifier(pid, 3, mrn_authority)
    sex = pid.get(8)
    return PatientData(
        patient_id=patient_id,
        issuer=issuer,
        birth_date=parse_date(pid.get(7), Location("PID", 1, 7)),
        sex=None if not sex else _SEX.get(sex.upper(), ""),
        **_names(pid),
    )


def patient_identifier(segment: Segment, number: int, mrn_authority: str = "") -> tuple[str, str]:
    """The CX repetition that is the MRN: the one whose assigning authority
    (CX-4.1) the sender's configuration names, else the first."""
    where = Location(segment.name, 1, number, 1)
    for rep in range(len(segment.repetitions(number))):
        if not mrn_authority or segment.get(number, 4, repetition=rep) == mrn_authority:
            patient_id = text(segment.get(number, 1, repetition=rep))
            if patient_id:
                return patient_id, text(segment.get(number, 4, repetition=rep))
    wanted = f" from assigning authority {mrn_authority!r}" if mrn_authority else ""
    raise HL7Error(REQUIRED_FIELD_MISSING, f"{segment.name}-{number} patient identifier{wanted} is missing", where)


def _names(pid: Segment) -> dict[str, str]:
    """PID-5 repetitions: alphabetic first; XPN-8 I/P mark ideographic and phonetic."""
    names: dict[str, str] = {}
    for rep in range(len(pid.repetitions(5))):
        group = _NAME_GROUPS.get(pid.get(5, 8, repetition=rep), "name")
        names.setdefault(group, xpn_to_pn(pid, 5, rep))
    return names


def orders_from_orm(message: ParsedMessage) -> list[OrderItem]:
    """Each ORC with its OBR (and ZDS) is one order item."""
    pv1 = message.first("PV1")
    items = []
    for index, (orc, obr, zds) in enumerate(_order_groups(message), start=1):
        control = order_control(orc, index)
        order = None
        if control in ("NW", "XO"):
            obr = required_obr(obr, index)
            order = order_data(message, orc, obr, pv1, index, [_procedure(obr, zds, orc, index)])
        items.append(OrderItem(control, order_key(message, orc, obr), order, order_status(orc, control, index)))
    if not items:
        raise HL7Error(SEGMENT_SEQUENCE_ERROR, "no ORC segment in the order message", Location("ORC"))
    return items


def _order_groups(message: ParsedMessage) -> Iterator[tuple[Segment, Segment | None, Segment | None]]:
    orc: Segment | None = None
    obr: Segment | None = None
    zds: Segment | None = None
    for segment in message.segments:
        if segment.name == "ORC":
            if orc is not None:
                yield orc, obr, zds
            orc, obr, zds = segment, None, None
        elif segment.name == "OBR" and orc is not None:
            obr = segment
        elif segment.name == "ZDS" and orc is not None:
            zds = segment
    if orc is not None:
        yield orc, obr, zds


def order_control(orc: Segment, index: int) -> str:
    control = orc.get(1).upper()
    if control not in ORDER_CONTROLS:
        raise HL7Error(TABLE_VALUE_NOT_FOUND, f"order control {control!r} is not supported", Location("ORC", index, 1))
    return control


def order_status(orc: Segment, control: str, index: int) -> str:
    """ORC-5 for ORC-1 SC (HL7 2.5.1 4.5.1.5); '' for other controls."""
    if control != "SC":
        return ""
    code = text(orc.get(5)).upper()
    where = Location("ORC", index, 5)
    if not code:
        raise HL7Error(REQUIRED_FIELD_MISSING, "ORC-5 order status is required with ORC-1 SC", where)
    if code not in ORDER_STATUSES:
        raise HL7Error(TABLE_VALUE_NOT_FOUND, f"order status {code!r} is not supported", where)
    return ORDER_STATUSES[code]


def order_key(message: ParsedMessage, orc: Segment, obr: Segment | None) -> OrderKey:
    """ORC-2/ORC-3 (else OBR-2/OBR-3): placer number per sender, filler number."""
    header = message.header
    return OrderKey(
        placer_system="|".join((header.sending_application, header.sending_facility)),
        placer_number=text(orc.get(2)) or (text(obr.get(2)) if obr else ""),
        filler_number=text(orc.get(3)) or (text(obr.get(3)) if obr else ""),
    )


def required_obr(obr: Segment | None, index: int) -> Segment:
    """The OBR a new order or a change in place (NW, XO) cannot do without."""
    if obr is None:
        raise HL7Error(SEGMENT_SEQUENCE_ERROR, f"ORC {index} has no OBR segment", Location("OBR", index))
    return obr


def order_data(
    message: ParsedMessage,
    orc: Segment,
    obr: Segment,
    pv1: Segment | None,
    index: int,
    procedures: list[ProcedureData],
    priority: str = "",
) -> OrderData:
    key = order_key(message, orc, obr)
    priority = priority or orc.get(7, 6).upper() or obr.get(27, 6).upper()
    return OrderData(
        placer_system=key.placer_system,
        placer_number=key.placer_number,
        filler_number=key.filler_number,
        accession_number=identifier(obr.get(18), 16, Location("OBR", index, 18)),
        ordering_physician=xcn_to_pn(obr, 16) or xcn_to_pn(orc, 12),
        referring_physician=xcn_to_pn(pv1, 8) if pv1 else "",
        reason=obr.get(31, 2) or obr.get(31, 1),
        priority=CLEAR if priority == CLEAR else PRIORITIES.get(priority, ""),
        admission_id=pv1.get(19) if pv1 else "",
        procedures=procedures,
        safety=safety_from_message(message),
    )


def _procedure(obr: Segment, zds: Segment | None, orc: Segment, index: int) -> ProcedureData:
    return procedure_from_obr(
        obr,
        index,
        requested_procedure_id=identifier(obr.get(19), 16, Location("OBR", index, 19)),
        study_instance_uid=identifier(zds.get(1), 64, Location("ZDS", 1, 1)) if zds else "",
        steps=[_step(orc, obr, index)],
    )


def procedure_from_obr(obr: Segment, index: int, **values: Any) -> ProcedureData:
    """OBR-4.1-3 the Requested Procedure Code, OBR-4.2 its description."""
    return ProcedureData(
        code_value=obr.get(4, 1),
        code_meaning=obr.get(4, 2),
        code_scheme=obr.get(4, 3),
        description=obr.get(4, 2),
        **values,
    )


def _step(orc: Segment, obr: Segment, index: int) -> StepData:
    start = orc.get(7, 4) or obr.get(27, 4) or obr.get(36)
    where = Location("ORC", index, 7, 4) if orc.get(7, 4) else Location("OBR", index, 27, 4)
    return step_from_obr(
        obr,
        index,
        sps_id=identifier(obr.get(20), 16, Location("OBR", index, 20)),
        modality=obr.get(24).upper(),
        station_ae_title=identifier(orc.get(18), 16, Location("ORC", index, 18)),
        start=parse_dtm(start, where),
        protocol_code_value=obr.get(4, 4),
        protocol_code_meaning=obr.get(4, 5),
        protocol_code_scheme=obr.get(4, 6),
        description=obr.get(4, 5) or obr.get(4, 2),
    )


def step_from_obr(obr: Segment, index: int, **values: Any) -> StepData:
    """OBR-34 the Scheduled Performing Physician; the rest as the caller read it."""
    return StepData(performing_physician=xcn_to_pn(obr, 34), **values)
