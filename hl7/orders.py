"""ORM^O01 (HL7 v2.3.1 ch. 4) read into domain records.

Field map after dcm4chee's HL7 conformance statement (see docs/hl7-interface.md).
"""
from __future__ import annotations

from hl7.datatypes import parse_date, parse_dtm, text, xcn_to_pn, xpn_to_pn
from hl7.er7 import Segment
from hl7.errors import REQUIRED_FIELD_MISSING, SEGMENT_SEQUENCE_ERROR, HL7Error, Location
from hl7.parse import ParsedMessage
from ris.records import OrderData, PatientData, ProcedureData, StepData

# HL7 TQ priority (ORC-7.6 / TQ1-9) to DICOM Requested Procedure Priority
PRIORITIES = {"S": "STAT", "A": "HIGH", "P": "HIGH", "C": "HIGH", "R": "ROUTINE", "T": "MEDIUM"}
_SEX = {"M": "M", "F": "F", "O": "O", "U": "O", "A": "O", "N": "O"}
_NAME_GROUPS = {"I": "name_ideographic", "P": "name_phonetic"}


def patient_from_pid(message: ParsedMessage) -> PatientData:
    pid = message.first("PID")
    if pid is None:
        raise HL7Error(SEGMENT_SEQUENCE_ERROR, "PID segment is missing", Location("PID"))
    patient_id = text(pid.get(3, 1))
    if not patient_id:
        raise HL7Error(REQUIRED_FIELD_MISSING, "PID-3 patient identifier is missing", Location("PID", 1, 3, 1))
    sex = pid.get(8)
    return PatientData(
        patient_id=patient_id,
        issuer=text(pid.get(3, 4)),
        birth_date=parse_date(pid.get(7), Location("PID", 1, 7)),
        sex=None if not sex else _SEX.get(sex.upper(), ""),
        **_names(pid),
    )


def _names(pid: Segment) -> dict[str, str]:
    """PID-5 repetitions: alphabetic first; XPN-8 I/P mark ideographic and phonetic."""
    names: dict[str, str] = {}
    for rep in range(len(pid.repetitions(5))):
        group = _NAME_GROUPS.get(pid.get(5, 8, repetition=rep), "name")
        names.setdefault(group, xpn_to_pn(pid, 5, rep))
    return names


def orders_from_orm(message: ParsedMessage) -> list[tuple[str, OrderData]]:
    """Each ORC with its OBR is one order; returns (order control, order)."""
    pv1 = message.first("PV1")
    placer_system = "|".join((message.header.sending_application, message.header.sending_facility))
    orders = []
    for index, (orc, obr, zds) in enumerate(_order_groups(message), start=1):
        orders.append((orc.get(1).upper(), _order(orc, obr, zds, pv1, placer_system, index)))
    if not orders:
        raise HL7Error(SEGMENT_SEQUENCE_ERROR, "no ORC segment in the order message", Location("ORC"))
    return orders


def _order_groups(message: ParsedMessage):
    orc = obr = zds = None
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


def _order(orc: Segment, obr: Segment | None, zds: Segment | None, pv1, placer_system: str, index: int) -> OrderData:
    if obr is None:
        raise HL7Error(SEGMENT_SEQUENCE_ERROR, f"ORC {index} has no OBR segment", Location("OBR", index))
    placer = text(orc.get(2)) or text(obr.get(2))
    return OrderData(
        placer_system=placer_system,
        placer_number=placer,
        filler_number=text(orc.get(3)) or text(obr.get(3)),
        accession_number=text(obr.get(18)),
        ordering_physician=xcn_to_pn(obr, 16) or xcn_to_pn(orc, 12),
        referring_physician=xcn_to_pn(pv1, 8) if pv1 else "",
        reason=text(obr.get(31, 2)) or text(obr.get(31, 1)),
        priority=PRIORITIES.get(orc.get(7, 6).upper() or obr.get(27, 6).upper(), "ROUTINE"),
        admission_id=text(pv1.get(19)) if pv1 else "",
        procedures=[_procedure(orc, obr, zds, index)],
    )


def _procedure(orc: Segment, obr: Segment, zds: Segment | None, index: int) -> ProcedureData:
    return ProcedureData(
        requested_procedure_id=text(obr.get(19)),
        code_value=text(obr.get(4, 1)),
        code_meaning=text(obr.get(4, 2)),
        code_scheme=text(obr.get(4, 3)),
        description=text(obr.get(4, 2)),
        study_instance_uid=text(zds.get(1)) if zds else "",
        steps=[_step(orc, obr, index)],
    )


def _step(orc: Segment, obr: Segment, index: int) -> StepData:
    modality = text(obr.get(24)).upper()
    if not modality:
        raise HL7Error(REQUIRED_FIELD_MISSING, "OBR-24 modality is missing", Location("OBR", index, 24))
    start = orc.get(7, 4) or obr.get(27, 4) or obr.get(36)
    where = Location("ORC", index, 7, 4) if orc.get(7, 4) else Location("OBR", index, 27, 4)
    return StepData(
        sps_id=text(obr.get(20)),
        modality=modality,
        station_ae_title=text(orc.get(18))[:16],
        start=parse_dtm(start, where),
        performing_physician=xcn_to_pn(obr, 34),
        description=text(obr.get(4, 5)) or text(obr.get(4, 2)),
        protocol_code_value=text(obr.get(4, 4)),
        protocol_code_meaning=text(obr.get(4, 5)),
        protocol_code_scheme=text(obr.get(4, 6)),
    )
