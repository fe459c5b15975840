"""A worklist row as a C-FIND response: every requested key, no other.

A `ResponsePlan` is made once per C-FIND from the identifier: for each
requested key, the function that gives its value from a row (or nothing:
zero-length). Each row then costs one pass over the requested keys only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, NamedTuple, cast
from zoneinfo import ZoneInfo

from django.conf import settings
from pydicom import config
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from ris.names import PersonName
from ris.selectors.worklist import ORDER, PATIENT, PROCEDURE
from worklist.charsets import UTF8, declare

Row = dict[str, Any]
Getter = Callable[[Row, "Context"], object]
UNKNOWN_NAME = "UNKNOWN"
SPECIFIC_CHARACTER_SET = 0x00080005


class Context:
    """What a value may depend on besides the row."""

    def __init__(self, calling_ae: str = ""):
        self.calling_ae = calling_ae
        self.zone = ZoneInfo(settings.TIME_ZONE)


def column(name: str) -> Getter:
    return lambda row, ctx: row[name] or ""


def _patient_name(row: Row, ctx: Context) -> str:
    # Type 1 (PS3.4 Table K.6-1): a nameless patient is answered as UNKNOWN.
    name = PersonName.from_groups(
        row[PATIENT + "name"] or UNKNOWN_NAME, row[PATIENT + "name_ideographic"], row[PATIENT + "name_phonetic"]
    )
    return name.to_dicom()


def _birth_date(row: Row, ctx: Context) -> str:
    day = row[PATIENT + "birth_date"]
    return day.strftime("%Y%m%d") if day else ""


def _start(fmt: str) -> Getter:
    return lambda row, ctx: row["start"].astimezone(ctx.zone).strftime(fmt)


def _station_ae_title(row: Row, ctx: Context) -> str:
    # Type 1: an unassigned step is offered as scheduled on the station that asks.
    return row["station_ae_title"] or ctx.calling_ae


class Codes:
    """A code sequence of one item, or empty (PS3.3 8.8; L: local, PS3.16 8.2),
    from the row's columns `prefix` + value, scheme, meaning."""

    def __init__(self, prefix: str):
        self.prefix = prefix

    def values(self, row: Row) -> tuple[str, str, str] | None:
        """(Code Value, Coding Scheme Designator, Code Meaning) of the one item, or None."""
        value = row[self.prefix + "value"]
        if not value:
            return None
        return value, row[self.prefix + "scheme"] or "L", row[self.prefix + "meaning"] or value

    def __call__(self, row: Row, ctx: Context) -> Sequence:
        values = self.values(row)
        if values is None:
            return Sequence()
        item = Dataset()
        item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = values
        return Sequence([item])


def _codes(prefix: str) -> Getter:
    return Codes(prefix)


def _empty_sequence(row: Row, ctx: Context) -> Sequence:
    return Sequence()


# The keys we return and where their values come from (PS3.4 Table K.6-1).
STEP_VALUES: dict[str, Getter] = {
    "ScheduledStationAETitle": _station_ae_title,
    "ScheduledProcedureStepStartDate": _start("%Y%m%d"),
    "ScheduledProcedureStepStartTime": _start("%H%M%S"),
    "Modality": column("modality"),
    "ScheduledPerformingPhysicianName": column("performing_physician"),
    "ScheduledProcedureStepDescription": column("description"),
    "ScheduledProtocolCodeSequence": _codes("protocol_code_"),
    "ScheduledProcedureStepID": column("sps_id"),
    "ScheduledStationName": column("station_name"),
    "ScheduledProcedureStepLocation": column("location"),
    "ScheduledProcedureStepStatus": column("status"),
}
TOP_LEVEL_VALUES: dict[str, Getter] = {
    "PatientName": _patient_name,
    "PatientID": column(PATIENT + "patient_id"),
    "IssuerOfPatientID": column(PATIENT + "issuer"),
    "PatientBirthDate": _birth_date,
    "PatientSex": column(PATIENT + "sex"),
    "AccessionNumber": column(ORDER + "accession_number"),
    "ReferringPhysicianName": column(ORDER + "referring_physician"),
    "RequestingPhysician": column(ORDER + "ordering_physician"),
    "ReasonForTheRequestedProcedure": column(ORDER + "reason"),
    "PlacerOrderNumberImagingServiceRequest": column(ORDER + "placer_number"),
    "FillerOrderNumberImagingServiceRequest": column(ORDER + "filler_number"),
    "AdmissionID": column(ORDER + "admission_id"),
    "RequestedProcedureID": column(PROCEDURE + "requested_procedure_id"),
    "RequestedProcedureDescription": column(PROCEDURE + "description"),
    "RequestedProcedureCodeSequence": _codes(PROCEDURE + "code_"),
    "StudyInstanceUID": column(PROCEDURE + "study_instance_uid"),
    "RequestedProcedurePriority": column(ORDER + "priority"),
    "ReferencedStudySequence": _empty_sequence,
    "ReferencedPatientSequence": _empty_sequence,
}
RETURN_KEYS = frozenset(TOP_LEVEL_VALUES) | {"ScheduledProcedureStepSequence"}
STEP_RETURN_KEYS = frozenset(STEP_VALUES)


class ResponsePlan:
    """The requested keys of one identifier, each with its value's source."""

    def __init__(self, requested: Dataset, *, character_set: str = UTF8):
        self.character_set = character_set
        self.entries = _plan(requested, TOP_LEVEL_VALUES)

    def build(self, row: Row, ctx: Context) -> Dataset:
        response = _build(self.entries, row, ctx)
        declare(response, self.character_set)
        return response


class Entry(NamedTuple):
    tag: int
    vr: str
    source: Getter | None  # None: we hold no value, answered zero-length
    item: list[Entry] | None = None  # the SPS item's own plan
    item_keys: list[tuple[int, str]] | None = None  # (tag, VR) asked inside a code sequence item


def _plan(requested: Dataset, sources: dict[str, Getter]) -> list[Entry]:
    entries = []
    for element in requested:
        if element.tag == SPECIFIC_CHARACTER_SET:
            continue
        if element.keyword == "ScheduledProcedureStepSequence":
            asked = element.value[0] if element.value else _all_keys(STEP_VALUES)
            entries.append(Entry(element.tag, "SQ", None, item=_plan(asked, STEP_VALUES)))
        else:
            entries.append(Entry(element.tag, element.VR, sources.get(element.keyword), item_keys=_item_keys(element)))
    return entries


def _item_keys(element: DataElement) -> list[tuple[int, str]] | None:
    """The keys asked inside a code sequence item; None for the whole item."""
    if element.VR != "SQ" or not element.value:
        return None
    return [(e.tag, e.VR) for e in element.value[0]]


def _all_keys(sources: dict[str, Getter]) -> Dataset:
    ds = Dataset()
    for keyword in sources:
        tag = tag_for_keyword(keyword)
        if tag is None:  # every source is named by a dictionary keyword
            raise KeyError(keyword)
        ds.add_new(tag, dictionary_VR(tag), None)
    return ds


def _build(entries: list[Entry], row: Row, ctx: Context) -> Dataset:
    ds = Dataset()
    for entry in entries:
        ds.add(DataElement(entry.tag, entry.vr, _value(entry, row, ctx), validation_mode=config.IGNORE))
    return ds


def entry_value(entry: Entry, row: Row, ctx: Context) -> Any:
    """The value of one planned key for a row (the SPS item excepted)."""
    return _value(entry, row, ctx)


def _value(entry: Entry, row: Row, ctx: Context) -> Any:
    if entry.item is not None:  # one SPS item per response (PS3.4 K.6.1.2.2)
        return Sequence([_build(entry.item, row, ctx)])
    if entry.source is None:
        return Sequence() if entry.vr == "SQ" else None
    value = entry.source(row, ctx)
    if entry.item_keys:
        items = cast("Iterable[Dataset]", value)  # only code sequences have item keys
        return Sequence([_only(item, entry.item_keys) for item in items])
    return value


def _only(item: Dataset, keys: list[tuple[int, str]]) -> Dataset:
    out = Dataset()
    for tag, vr in keys:
        out.add(item[tag] if tag in item else DataElement(tag, vr, None))
    return out


def full_dataset(row: Row, *, calling_ae: str = "") -> Dataset:
    """Everything we know about a step, as one worklist item (for export)."""
    return ResponsePlan(full_dataset_keys()).build(row, Context(calling_ae))


def full_dataset_keys() -> Dataset:
    """An identifier asking every key we return."""
    everything = _all_keys(TOP_LEVEL_VALUES)
    everything.ScheduledProcedureStepSequence = Sequence()
    return everything
