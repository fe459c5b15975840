"""A Modality Worklist identifier (PS3.4 K.6.1.2) to one database query.

Two tables from DICOM keyword to column: the top level and the items of the
Scheduled Procedure Step Sequence. Each names its matching type. Keys
outside these tables and the return keys of `worklist.response` are not
supported: the query still runs, and its pending responses say FF01.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Q
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from infra.db import HeldConnections, compiled, prepared_rows
from ris.selectors.worklist import COLUMNS, offered_to_modalities, worklist_steps
from ris.states import OrderStatus, StepStatus
from worklist.keys import IdentifierMismatch as IdentifierMismatch  # raised here too; the SCP maps it
from worklist.keys import check_identifier
from worklist.matching import (
    InvalidKey,
    is_universal,
    match_date_and_time,
    match_person_name,
    match_text,
    match_uid_list,
)
from worklist.response import RETURN_KEYS, STEP_RETURN_KEYS

_RP = "requested_procedure"
_ORDER = f"{_RP}__order"
_PATIENT = f"{_ORDER}__patient"

TEXT, PERSON, UIDS = "text", "person", "uids"
# keyword -> (columns, matching type)
KeyTable = dict[str, tuple[tuple[str, ...], str]]

# keyword -> (columns, matching type); PS3.4 Table K.6-1. A person name has
# one column per component group, or one column holding the whole value.
TOP_LEVEL_KEYS: KeyTable = {
    "PatientName": ((f"{_PATIENT}__name", f"{_PATIENT}__name_ideographic", f"{_PATIENT}__name_phonetic"), PERSON),
    "PatientID": ((f"{_PATIENT}__patient_id",), TEXT),
    "IssuerOfPatientID": ((f"{_PATIENT}__issuer",), TEXT),
    "AccessionNumber": ((f"{_ORDER}__accession_number",), TEXT),
    "ReferringPhysicianName": ((f"{_ORDER}__referring_physician",), PERSON),
    "RequestedProcedureID": ((f"{_RP}__requested_procedure_id",), TEXT),
    "StudyInstanceUID": ((f"{_RP}__study_instance_uid",), UIDS),
    "PatientSex": ((f"{_PATIENT}__sex",), TEXT),
    "AdmissionID": ((f"{_ORDER}__admission_id",), TEXT),
}
STEP_KEYS: KeyTable = {
    "ScheduledStationAETitle": (("station_ae_title",), TEXT),
    "Modality": (("modality",), TEXT),
    "ScheduledPerformingPhysicianName": (("performing_physician",), PERSON),
    "ScheduledProcedureStepID": (("sps_id",), TEXT),
    "ScheduledStationName": (("station_name",), TEXT),
    "ScheduledProcedureStepLocation": (("location",), TEXT),
    "ScheduledProcedureStepStatus": (("status",), TEXT),
}
# Matched together on the `start` column (PS3.4 C.2.2.2.5).
STEP_DATE_TIME_KEYS = ("ScheduledProcedureStepStartDate", "ScheduledProcedureStepStartTime")
# Carried by every identifier, never matched (PS3.4 C.4.1.1.3.1, PS3.5 6.1).
CONTROL_KEYS = {"SpecificCharacterSet", "TimezoneOffsetFromUTC"}


@dataclass
class WorklistQuery:
    condition: Q
    unsupported_keys: list[str] = field(default_factory=list)

    def rows(self, held: HeldConnections | None = None) -> Iterator[dict[str, Any]]:
        """The matching rows. With `held` (the listener's, on PostgreSQL) on
        one of its connections, the SQL compiled once per condition; else
        on the thread's Django connection (the ORM on SQLite)."""
        if held is None or connection.vendor != "postgresql":
            return iter(prepared_rows(worklist_steps(self.condition), COLUMNS))
        sql, params = compiled(worklist_steps, self.condition, COLUMNS)
        return (dict(zip(COLUMNS, row, strict=True)) for row in held.rows(sql, params))


def build_query(identifier: Dataset, *, own_station_ae_titles: list[str] | None = None) -> WorklistQuery:
    """Raises InvalidKey for a key whose value cannot be matched (IdentifierMismatch
    for an identifier of another shape), before any database work.

    `own_station_ae_titles`: the calling AE's stations, applied when the
    query leaves Scheduled Station AE Title universal."""
    check_identifier(identifier)
    _refuse_other_models(identifier)
    item = _step_item(identifier)
    condition = _conditions(identifier, TOP_LEVEL_KEYS) & _step_conditions(item)
    if is_universal(_text(item, "ScheduledProcedureStepStatus")):
        # Open steps only, unless the query asks for a status (PS3.4 K.6.1.2.2:
        # the SCP decides which steps are on the worklist; started and ended
        # steps are not), and none of an order the EHR put on hold (ORC-1 HD).
        condition &= Q(status__in=StepStatus.OPEN) & ~Q(requested_procedure__order__status=OrderStatus.ON_HOLD)
    condition &= offered_to_modalities()
    if own_station_ae_titles is not None and is_universal(_text(item, "ScheduledStationAETitle")):
        condition &= Q(station_ae_title__dicom_any=own_station_ae_titles)
    return WorklistQuery(condition, unsupported_keys(identifier, item))


def _refuse_other_models(identifier: Dataset) -> None:
    # A Query/Retrieve Level belongs to the Q/R information models (PS3.4 C.6).
    if "QueryRetrieveLevel" in identifier:
        raise IdentifierMismatch("Query/Retrieve Level is not a Modality Worklist key")


def _step_item(identifier: Dataset) -> Dataset:
    """The single SPS item (PS3.4 C.2.2.2.6), or an empty one."""
    if "ScheduledProcedureStepSequence" not in identifier:
        return Dataset()
    element = identifier["ScheduledProcedureStepSequence"]
    if element.VR != "SQ":
        raise IdentifierMismatch("Scheduled Procedure Step Sequence is not a sequence")
    if len(element.value) > 1:
        raise IdentifierMismatch("Scheduled Procedure Step Sequence must hold one item")
    return element.value[0] if element.value else Dataset()


def _step_conditions(item: Dataset) -> Q:
    condition = _conditions(item, STEP_KEYS)
    date_value, time_value = (_text(item, keyword) for keyword in STEP_DATE_TIME_KEYS)
    return condition & (match_date_and_time("start", date_value, time_value) or Q())


def _conditions(dataset: Dataset, table: KeyTable) -> Q:
    condition = Q()
    for keyword, (columns, kind) in table.items():
        if keyword in dataset:
            q = _match(dataset, keyword, columns, kind)
            if q is not None:
                condition &= q
    return condition


def _match(dataset: Dataset, keyword: str, columns: tuple[str, ...], kind: str) -> Q | None:
    if kind == UIDS:
        return match_uid_list(columns[0], _values(dataset, keyword))
    if kind == PERSON:
        return match_person_name(columns, _text(dataset, keyword))
    return match_text(columns[0], _text(dataset, keyword))


def unsupported_keys(identifier: Dataset, item: Dataset) -> list[str]:
    """Keys we can neither return nor, when they carry a value, match."""
    top = _unsupported(identifier, TOP_LEVEL_KEYS, RETURN_KEYS)
    step = _unsupported(item, {**STEP_KEYS, **dict.fromkeys(STEP_DATE_TIME_KEYS)}, STEP_RETURN_KEYS)
    return top + [f"ScheduledProcedureStepSequence/{keyword}" for keyword in step]


def _unsupported(dataset: Dataset, matching: Collection[str], returned: frozenset[str]) -> list[str]:
    found = []
    for element in dataset:
        keyword = element.keyword or str(element.tag)
        if keyword in CONTROL_KEYS or keyword == "ScheduledProcedureStepSequence":
            continue
        matched = element.VR == "SQ" or element.is_empty or keyword in matching
        if keyword not in returned or not matched:
            found.append(keyword)
    return found


def _text(dataset: Dataset, keyword: str) -> str:
    value = dataset.get(keyword)
    if value is None or value == "":
        return ""
    if isinstance(value, MultiValue):
        raise InvalidKey(f"{keyword} allows one value only")
    return str(value).strip()


def _values(dataset: Dataset, keyword: str) -> list[str]:
    value = dataset.get(keyword)
    if value is None or value == "":
        return []
    return [str(v).strip() for v in (value if isinstance(value, MultiValue) else [value])]
