"""OMI^O23 (HL7 2.5.1 4.4.12; IHE RAD-4 / SWF.b) read into domain records.

MSH [PID [PV1]] {ORC TQ1* OBR NTE* OBX* IPC*}. Each ORC group is one order;
each IPC is one scheduled step, and IPCs sharing a requested procedure ID
(IPC-2) and Study Instance UID (IPC-3) form one requested procedure. A group
without IPC is read as ORM^O01 reads it (OBR-18..20, OBR-24, ZDS).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from hl7.datatypes import identifier, parse_dtm
from hl7.er7 import Segment
from hl7.errors import SEGMENT_SEQUENCE_ERROR, HL7Error, Location
from hl7.read_message import ParsedMessage
from hl7.read_orm import (
    OrderItem,
    order_control,
    order_data,
    order_key,
    order_status,
    orders_from_orm,
    procedure_from_obr,
    required_obr,
    step_from_obr,
)
from ris.records import OrderData, ProcedureData, StepData


@dataclass
class _Group:
    orc: Segment
    tq1: Segment | None = None
    obr: Segment | None = None
    ipcs: list[Segment] = field(default_factory=list)


def orders_from_omi(message: ParsedMessage) -> list[OrderItem]:
    groups = list(_groups(message))
    if not groups:
        raise HL7Error(SEGMENT_SEQUENCE_ERROR, "no ORC segment in the order message", Location("ORC"))
    if not any(group.ipcs for group in groups):
        return orders_from_orm(message)  # OBR/ZDS style, as some senders do in OMI
    pv1 = message.first("PV1")
    return [_item(message, group, pv1, index) for index, group in enumerate(groups, start=1)]


def _groups(message: ParsedMessage) -> Iterator[_Group]:
    group: _Group | None = None
    for segment in message.segments:
        if segment.name == "ORC":
            if group is not None:
                yield group
            group = _Group(segment)
        elif group is not None and segment.name == "TQ1" and group.tq1 is None:
            group.tq1 = segment
        elif group is not None and segment.name == "OBR":
            group.obr = segment
        elif group is not None and segment.name == "IPC":
            group.ipcs.append(segment)
    if group is not None:
        yield group


def _item(message: ParsedMessage, group: _Group, pv1: Segment | None, index: int) -> OrderItem:
    control = order_control(group.orc, index)
    order = None
    if control in ("NW", "XO"):
        obr = required_obr(group.obr, index)
        priority = group.tq1.get(9).upper() if group.tq1 else ""  # TQ1-9 priority
        order = order_data(message, group.orc, obr, pv1, index, _procedures(group, obr, index), priority)
        order = _with_accession(order, group, index)
    key = order_key(message, group.orc, group.obr)
    return OrderItem(control, key, order, order_status(group.orc, control, index))


def _with_accession(order: OrderData, group: _Group, index: int) -> OrderData:
    """IPC-1 is the accession number in OMI (OBR-18 otherwise)."""
    accession = next((ipc.get(1) for ipc in group.ipcs if ipc.get(1)), "")
    if not accession:
        return order
    return replace(order, accession_number=identifier(accession, 16, Location("IPC", 1, 1)))


def _procedures(group: _Group, obr: Segment, index: int) -> list[ProcedureData]:
    """IPCs grouped by (IPC-2, IPC-3), in the order they came."""
    start = _start(group, obr, index)
    by_key: dict[tuple[str, str], list[StepData]] = {}
    for number, ipc in enumerate(group.ipcs, start=1):
        key = (
            identifier(ipc.get(2), 16, Location("IPC", number, 2)),
            identifier(ipc.get(3), 64, Location("IPC", number, 3)),
        )
        by_key.setdefault(key, []).append(_step(obr, ipc, number, start, index))
    return [
        procedure_from_obr(obr, index, requested_procedure_id=rp_id, study_instance_uid=uid, steps=steps)
        for (rp_id, uid), steps in by_key.items()
    ]


def _start(group: _Group, obr: Segment, index: int) -> dt.datetime | None:
    """TQ1-7 start date/time (HL7 2.5.1 4.5.4.7), else ORC-7.4 / OBR-27.4 / OBR-36."""
    if group.tq1 is not None and group.tq1.get(7, 1):
        return parse_dtm(group.tq1.get(7, 1), Location("TQ1", index, 7))
    value = group.orc.get(7, 4) or obr.get(27, 4) or obr.get(36)
    return parse_dtm(value, Location("ORC", index, 7, 4))


def _step(obr: Segment, ipc: Segment, number: int, start: dt.datetime | None, index: int) -> StepData:
    """IPC-4 SPS ID, IPC-5 modality, IPC-6 protocol code, IPC-7 station name,
    IPC-8 location, IPC-9 station AE title (first repetition)."""
    return step_from_obr(
        obr,
        index,
        sps_id=identifier(ipc.get(4), 16, Location("IPC", number, 4)),
        modality=(ipc.get(5) or obr.get(24)).upper(),
        station_name=ipc.get(7)[:16],
        location=ipc.get(8)[:16],
        station_ae_title=identifier(ipc.get(9), 16, Location("IPC", number, 9)),
        start=start,
        protocol_code_value=ipc.get(6, 1),
        protocol_code_meaning=ipc.get(6, 2),
        protocol_code_scheme=ipc.get(6, 3),
        description=ipc.get(6, 2) or obr.get(4, 2),
    )
