"""OMG^O19 (HL7 2.5.1 4.4.1, general clinical order) read into domain records,
for imaging orders only.

MSH PID [PV1] {ORC [TQ1] OBR [NTE] [OBX]* [ZDS]}: read as ORM^O01 reads
it (OBR-18..20, OBR-24, ZDS; hl7/read_orm.py), the start from TQ1-7 as in
OMI^O23. OBR-24, the diagnostic service section (HL7 table 0074), says
whether an order is for imaging: a DICOM modality or one of the table's
imaging sections is; any other section is refused AR. An OBR with no
section is imaging when its procedure code is in the catalogue (the handler
checks: that is a lookup, not reading).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from hl7.datatypes import parse_dtm
from hl7.er7 import Segment
from hl7.errors import TABLE_VALUE_NOT_FOUND, HL7Error, Location
from hl7.read_message import ParsedMessage
from hl7.read_orm import OrderItem, orders_from_orm
from ris.records import OrderData, ProcedureData

# HL7 2.5.1 table 0074 imaging sections, to the DICOM modality (PS3.3
# C.7.3.1.1.1) they name; '' where the section names none (RAD, RX): the
# catalogue or the order's own modality decides.
IMAGING_SECTIONS = {
    "RAD": "",
    "RX": "",
    "CT": "CT",
    "NMR": "MR",
    "NMS": "NM",
    "US": "US",
    "VUS": "US",
    "CUS": "US",
    "OUS": "US",
    "XRC": "RF",
}
# DICOM modalities of acquisition a sender may put in OBR-24 instead (PS3.3 C.7.3.1.1.1)
DICOM_MODALITIES = {
    "BMD", "CR", "CT", "DX", "ES", "GM", "IO", "IVOCT", "IVUS", "MG", "MR", "NM", "OCT", "OP", "OPT",
    "OT", "PT", "PX", "RF", "RG", "SM", "TG", "US", "XA", "XC",
}  # fmt: skip


def orders_from_omg(message: ParsedMessage) -> list[OrderItem]:
    """One item per ORC group; an OBR of a section that is not imaging is refused."""
    starts = _tq1_starts(message)
    items = orders_from_orm(message)
    return [_imaging(item, index, starts.get(index)) for index, item in enumerate(items, start=1)]


def _imaging(item: OrderItem, index: int, start: dt.datetime | None) -> OrderItem:
    if item.order is None:
        return item
    procedures = [_procedure(p, index, start) for p in item.order.procedures]
    order: OrderData = dataclasses.replace(item.order, procedures=procedures)
    return dataclasses.replace(item, order=order)


def _procedure(procedure: ProcedureData, index: int, start: dt.datetime | None) -> ProcedureData:
    steps = []
    for step in procedure.steps:
        modality = imaging_modality(step.modality, index)
        steps.append(dataclasses.replace(step, modality=modality, start=step.start or start))
    return dataclasses.replace(procedure, steps=steps)


def imaging_modality(section: str, index: int) -> str:
    """OBR-24 as a DICOM modality ('' when it names none); not imaging: AR."""
    if not section or section in DICOM_MODALITIES:
        return section
    if section in IMAGING_SECTIONS:
        return IMAGING_SECTIONS[section]
    raise HL7Error(
        TABLE_VALUE_NOT_FOUND,
        f"OBR {index}: diagnostic service section {section[:8]!r} is not imaging; the RIS takes imaging orders only",
        Location("OBR", index, 24),
        ack_code="AR",
    )


def _tq1_starts(message: ParsedMessage) -> dict[int, dt.datetime | None]:
    """TQ1-7 start date/time of each ORC group (HL7 2.5.1 4.5.4.7), by group number."""
    starts: dict[int, dt.datetime | None] = {}
    index = 0
    for segment in message.segments:
        if segment.name == "ORC":
            index += 1
        elif segment.name == "TQ1" and index and index not in starts:
            starts[index] = _start(segment, index)
    return starts


def _start(tq1: Segment, index: int) -> dt.datetime | None:
    value = tq1.get(7, 1)
    return parse_dtm(value, Location("TQ1", index, 7)) if value else None
