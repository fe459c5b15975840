"""A Modality Worklist identifier (PS3.4 K.6.1.2) to one database query.

Two tables from DICOM keyword to column: the top level and the items of the
Scheduled Procedure Step Sequence. Each names its matching type.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from ris.models import ScheduledProcedureStep
from ris.states import StepStatus
from worklist.matching import (
    InvalidKey,
    is_universal,
    match_datetime_range,
    match_person_name,
    match_text,
    match_uid_list,
)

_RP = "requested_procedure"
_ORDER = f"{_RP}__order"
_PATIENT = f"{_ORDER}__patient"

TEXT, PERSON, UIDS = "text", "person", "uids"

# keyword -> (column, matching type); PS3.4 Table K.6-1
TOP_LEVEL_KEYS = {
    "PatientName": (f"{_PATIENT}__name", PERSON),
    "PatientID": (f"{_PATIENT}__patient_id", TEXT),
    "IssuerOfPatientID": (f"{_PATIENT}__issuer", TEXT),
    "AccessionNumber": (f"{_ORDER}__accession_number", TEXT),
    "ReferringPhysicianName": (f"{_ORDER}__referring_physician", PERSON),
    "RequestedProcedureID": (f"{_RP}__requested_procedure_id", TEXT),
    "StudyInstanceUID": (f"{_RP}__study_instance_uid", UIDS),
    "PatientSex": (f"{_PATIENT}__sex", TEXT),
    "AdmissionID": (f"{_ORDER}__admission_id", TEXT),
}
STEP_KEYS = {
    "ScheduledStationAETitle": ("station_ae_title", TEXT),
    "Modality": ("modality", TEXT),
    "ScheduledPerformingPhysicianName": ("performing_physician", PERSON),
    "ScheduledProcedureStepID": ("sps_id", TEXT),
    "ScheduledStationName": ("station_name", TEXT),
    "ScheduledProcedureStepLocation": ("location", TEXT),
    "ScheduledProcedureStepStatus": ("status", TEXT),
}
# Shown unless the query asks for a status (PS3.4 K.6.1.2.2: the SCP decides
# which steps are on the worklist; performed and ended steps are not).
OPEN_STATUSES = (StepStatus.SCHEDULED, StepStatus.ARRIVED, StepStatus.READY)


@dataclass
class WorklistQuery:
    condition: Q

    def run(self) -> QuerySet[ScheduledProcedureStep]:
        return (
            ScheduledProcedureStep.objects.filter(self.condition)
            .select_related(_PATIENT, _RP)
            .order_by("start", "pk")
        )


def build_query(identifier: Dataset) -> WorklistQuery:
    """Raises InvalidKey for a key whose value cannot be matched."""
    condition = _conditions(identifier, TOP_LEVEL_KEYS)
    item = _step_item(identifier)
    if item is not None:
        condition &= _conditions(item, STEP_KEYS)
        condition &= match_datetime_range(
            "start", _text(item, "ScheduledProcedureStepStartDate"), _text(item, "ScheduledProcedureStepStartTime")
        ) or Q()
    if item is None or is_universal(_text(item, "ScheduledProcedureStepStatus")):
        condition &= Q(status__in=OPEN_STATUSES)
    return WorklistQuery(condition)


def _step_item(identifier: Dataset) -> Dataset | None:
    sequence = identifier.get("ScheduledProcedureStepSequence")
    if not sequence:
        return None
    if len(sequence) != 1:
        raise InvalidKey("Scheduled Procedure Step Sequence must hold exactly one item")
    return sequence[0]


def _conditions(dataset: Dataset, table: dict[str, tuple[str, str]]) -> Q:
    condition = Q()
    for keyword, (column, kind) in table.items():
        if keyword not in dataset:
            continue
        if kind == UIDS:
            q = match_uid_list(column, _values(dataset, keyword))
        elif kind == PERSON:
            q = match_person_name(column, _text(dataset, keyword))
        else:
            q = match_text(column, _text(dataset, keyword))
        if q is not None:
            condition &= q
    return condition


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
