"""An MPPS dataset to plain records, after the attribute checks of PS3.4 F.7.2.

The door checks what the wire must carry (required attributes and their
values, values of the right form); the domain checks the rest
(ris/services/mpps.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.conf import settings
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.tag import Tag

from ris.records import CLEAR, CodedValue, DoseData, PerformedStepChange, PerformedStepData, ScheduledStepRef
from worklist.matching import InvalidKey, aware_datetime

T = TypeVar("T")


class AttributeProblem(Exception):
    """Base of the attribute problems; `tags` are the offending attributes."""

    def __init__(self, message: str, tags: list[int]):
        super().__init__(message)
        self.tags = tags


class MissingAttribute(AttributeProblem):
    pass


class MissingAttributeValue(AttributeProblem):
    pass


class InvalidAttributeValue(AttributeProblem):
    pass


# PS3.4 Table F.7.2-1, N-CREATE: type 1 (present with a value) and type 2 (present)
CREATE_TYPE_1 = [
    "ScheduledStepAttributesSequence",
    "PerformedProcedureStepID",
    "PerformedStationAETitle",
    "PerformedProcedureStepStartDate",
    "PerformedProcedureStepStartTime",
    "PerformedProcedureStepStatus",
    "Modality",
]
CREATE_TYPE_2 = [
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "ReferencedPatientSequence",
    "PerformedStationName",
    "PerformedLocation",
    "PerformedProcedureStepDescription",
    "PerformedProcedureTypeDescription",
    "ProcedureCodeSequence",
    "PerformedProcedureStepEndDate",
    "PerformedProcedureStepEndTime",
    "StudyID",
    "PerformedProtocolCodeSequence",
    "PerformedSeriesSequence",
]
SCHEDULED_ITEM_TYPE_1 = ["StudyInstanceUID"]
SCHEDULED_ITEM_TYPE_2 = [
    "ReferencedStudySequence",
    "AccessionNumber",
    "RequestedProcedureID",
    "RequestedProcedureDescription",
    "ScheduledProcedureStepID",
    "ScheduledProcedureStepDescription",
    "ScheduledProtocolCodeSequence",
]
SERIES_ITEM_TYPE_1 = ["SeriesInstanceUID"]
# Attributes fixed at N-CREATE (PS3.4 Table F.7.2-1 "Not allowed" in N-SET), by record field
FIXED = {
    "patient_id": "PatientID",
    "patient_name": "PatientName",
    "pps_id": "PerformedProcedureStepID",
    "station_ae_title": "PerformedStationAETitle",
    "station_name": "PerformedStationName",
    "location": "PerformedLocation",
    "modality": "Modality",
    "scheduled_steps": "ScheduledStepAttributesSequence",
}
# Record field -> the attributes that carry it, for the Attribute Identifier List
FIELD_TAGS = {
    **{name: [keyword] for name, keyword in FIXED.items()},
    "start": ["PerformedProcedureStepStartDate", "PerformedProcedureStepStartTime"],
    "end": ["PerformedProcedureStepEndDate", "PerformedProcedureStepEndTime"],
    "performed_series": ["PerformedSeriesSequence"],
}


def tags_of(keywords: list[str]) -> list[int]:
    return [int(Tag(keyword)) for keyword in keywords]


def tag_text(tags: list[int]) -> str:
    """(gggg,eeee) of each tag: N-CREATE-RSP has no Attribute Identifier
    List (PS3.7 10.3.5), so the Error Comment names the attributes."""
    return " ".join(f"({tag >> 16:04X},{tag & 0xFFFF:04X})" for tag in tags)


def check_create(ds: Dataset) -> None:
    """PS3.4 F.7.2.1: 0x0120 for an absent attribute, then 0x0121 for an empty type 1."""
    _check(ds, CREATE_TYPE_1, CREATE_TYPE_2)
    for item in ds.ScheduledStepAttributesSequence:
        _check(item, SCHEDULED_ITEM_TYPE_1, SCHEDULED_ITEM_TYPE_2)
    _check_series(ds)


def _check(ds: Dataset, type_1: list[str], type_2: list[str]) -> None:
    absent = [k for k in type_1 + type_2 if k not in ds]
    if absent:
        raise MissingAttribute(f"missing attribute {tag_text(tags_of(absent))}", tags_of(absent))
    empty = [k for k in type_1 if ds[k].is_empty]
    if empty:
        raise MissingAttributeValue(f"missing value {tag_text(tags_of(empty))}", tags_of(empty))


def _check_series(ds: Dataset) -> None:
    for item in ds.get("PerformedSeriesSequence") or []:
        _check(item, SERIES_ITEM_TYPE_1, [])


def decode_create(ds: Dataset, sop_instance_uid: str, sender: str) -> PerformedStepData:
    check_create(ds)
    return PerformedStepData(
        sop_instance_uid=sop_instance_uid,
        status=_text(ds, "PerformedProcedureStepStatus"),
        pps_id=_text(ds, "PerformedProcedureStepID"),
        station_ae_title=_text(ds, "PerformedStationAETitle"),
        station_name=_text(ds, "PerformedStationName"),
        location=_text(ds, "PerformedLocation"),
        start=_datetime(ds, "PerformedProcedureStepStartDate", "PerformedProcedureStepStartTime"),
        end=_optional_datetime(ds),
        modality=_text(ds, "Modality"),
        description=_text(ds, "PerformedProcedureStepDescription"),
        patient_id=_text(ds, "PatientID"),
        patient_name=_text(ds, "PatientName"),
        scheduled_steps=scheduled_refs(ds),
        performed_series=performed_series(ds.PerformedSeriesSequence),
        dose=decode_dose(ds),
        discontinuation_reason=_reason(ds),
        dataset=stored_json(ds),
        sender=sender,
    )


def decode_change(ds: Dataset) -> PerformedStepChange:
    """N-SET modification list: what is present is sent; the rest is kept."""
    if "PerformedProcedureStepStatus" in ds and ds["PerformedProcedureStepStatus"].is_empty:
        tags = tags_of(["PerformedProcedureStepStatus"])
        raise MissingAttributeValue(f"missing value {tag_text(tags)}", tags)
    _check_series(ds)
    return PerformedStepChange(
        status=_text(ds, "PerformedProcedureStepStatus") or None,
        end=_changed_end(ds),
        description=_sent(ds, "PerformedProcedureStepDescription", _text),
        performed_series=_sent(ds, "PerformedSeriesSequence", lambda d, k: performed_series(d[k].value)),
        dose=decode_dose(ds),
        discontinuation_reason=_changed_reason(ds),
        fixed=_fixed(ds),
        dataset=stored_json(ds),
    )


# Values the RIS never reads back and a peer can make as large as it likes
BINARY_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN"})


def stored_json(ds: Dataset) -> dict[str, Any]:
    """The data set as kept and forwarded (DICOM JSON, PS3.18 F.2), bounded:
    binary elements and elements over RIS_MPPS_MAX_ELEMENT_BYTES are left
    out, sequences kept item by item. Everything the RIS reads is short text."""
    return bounded(ds, settings.RIS_MPPS_MAX_ELEMENT_BYTES).to_json_dict()


def bounded(ds: Dataset, max_element_bytes: int) -> Dataset:
    kept = Dataset()
    for element in ds:
        if element.VR in BINARY_VRS:
            continue
        if element.VR == "SQ":
            items = [bounded(item, max_element_bytes) for item in element.value or []]
            kept.add(DataElement(element.tag, "SQ", DicomSequence(items)))
        elif _value_size(element) <= max_element_bytes:
            kept.add(element)
    return kept


def _value_size(element: DataElement) -> int:
    value = element.value
    if isinstance(value, bytes | str):
        return len(value)
    return len(str(value))


def _sent(ds: Dataset, keyword: str, decode: Callable[[Dataset, str], T]) -> T | None:
    """The decoded value of an attribute the N-SET carries; None when it does not."""
    return decode(ds, keyword) if keyword in ds else None


def _fixed(ds: Dataset) -> dict[str, object]:
    """Values fixed at N-CREATE that this N-SET repeats, to compare with the stored ones."""
    fixed: dict[str, object] = {
        name: _text(ds, keyword) for name, keyword in FIXED.items() if keyword in ds and name != "scheduled_steps"
    }
    if "ScheduledStepAttributesSequence" in ds:
        fixed["scheduled_steps"] = scheduled_refs(ds)
    if "PerformedProcedureStepStartDate" in ds or "PerformedProcedureStepStartTime" in ds:
        fixed["start"] = _datetime(ds, "PerformedProcedureStepStartDate", "PerformedProcedureStepStartTime")
    return fixed


def scheduled_refs(ds: Dataset) -> list[ScheduledStepRef]:
    return [
        ScheduledStepRef(
            study_instance_uid=_text(item, "StudyInstanceUID"),
            accession_number=_text(item, "AccessionNumber"),
            requested_procedure_id=_text(item, "RequestedProcedureID"),
            sps_id=_text(item, "ScheduledProcedureStepID"),
        )
        for item in ds.ScheduledStepAttributesSequence or []
    ]


def performed_series(items: Iterable[Dataset] | None) -> list[dict[str, str | int]]:
    """Performed Series Sequence (0040,0340) items, the values a person reads."""
    return [
        {
            "series_instance_uid": _text(item, "SeriesInstanceUID"),
            "description": _text(item, "SeriesDescription"),
            "protocol_name": _text(item, "ProtocolName"),
            "operator": _text(item, "OperatorsName"),
            "retrieve_ae_title": _text(item, "RetrieveAETitle"),
            "images": len(item.get("ReferencedImageSequence") or []),
        }
        for item in items or []
    ]


def decode_dose(ds: Dataset) -> DoseData:
    """PS3.3 C.4.16 Radiation Dose; Entrance Dose (0040,0302) is in dGy, kept in mGy."""
    entrance_mgy = _number(ds, "EntranceDoseInmGy", float)
    if entrance_mgy is None:
        entrance_dgy = _number(ds, "EntranceDose", float)
        entrance_mgy = entrance_dgy * 100 if entrance_dgy is not None else None
    return DoseData(
        fluoroscopy_time_seconds=_number(ds, "TotalTimeOfFluoroscopy", int),
        exposure_count=_number(ds, "TotalNumberOfExposures", int),
        entrance_dose_mgy=entrance_mgy,
        area_dose_product=_number(ds, "ImageAndFluoroscopyAreaDoseProduct", float),
        exposure_dose=_sent(ds, "ExposureDoseSequence", lambda d, k: [item.to_json_dict() for item in d[k].value]),
    )


def _number(ds: Dataset, keyword: str, kind: Callable[[Any], T]) -> T | None:
    if keyword not in ds or ds[keyword].is_empty:
        return None
    try:
        return kind(ds[keyword].value)
    except (TypeError, ValueError):
        raise InvalidAttributeValue(f"not a number: {tag_text(tags_of([keyword]))}", tags_of([keyword])) from None


def _reason(ds: Dataset) -> CodedValue | None:
    items = ds.get("PerformedProcedureStepDiscontinuationReasonCodeSequence") or []
    if not items:
        return None
    item = items[0]
    return CodedValue(_text(item, "CodeValue"), _text(item, "CodingSchemeDesignator"), _text(item, "CodeMeaning"))


def _changed_reason(ds: Dataset) -> CodedValue | str | None:
    if "PerformedProcedureStepDiscontinuationReasonCodeSequence" not in ds:
        return None
    return _reason(ds) or CLEAR


def _changed_end(ds: Dataset) -> dt.datetime | str | None:
    if "PerformedProcedureStepEndDate" not in ds and "PerformedProcedureStepEndTime" not in ds:
        return None
    return _optional_datetime(ds) or CLEAR


def _optional_datetime(ds: Dataset) -> dt.datetime | None:
    date, time = _text(ds, "PerformedProcedureStepEndDate"), _text(ds, "PerformedProcedureStepEndTime")
    if not date and not time:
        return None
    return _datetime(ds, "PerformedProcedureStepEndDate", "PerformedProcedureStepEndTime")


def _datetime(ds: Dataset, date_keyword: str, time_keyword: str) -> dt.datetime:
    """DA + TM in the site time zone (PS3.5 6.2); both are needed."""
    try:
        return aware_datetime(_text(ds, date_keyword), _text(ds, time_keyword))
    except InvalidKey:
        tags = tags_of([date_keyword, time_keyword])
        raise InvalidAttributeValue(f"invalid date or time {tag_text(tags)}", tags) from None


def _text(ds: Dataset, keyword: str) -> str:
    value = ds.get(keyword)
    if value is None:
        return ""
    return str(value).strip()
