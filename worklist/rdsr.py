"""Radiation Dose SR to a plain record (PS3.16 TID 10001, 10011, 10021).

pydicom decodes the object; its SR content tree is walked by concept codes
(DCM unless noted). highdicom reads the measurement templates (TID 1500) but
none of the dose templates, so this module names the codes itself, one
table per template, and converts units to those of ris/dose_records.py.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

from django.utils import timezone
from pydicom.dataset import Dataset
from pydicom.valuerep import DA, DT, TM

from ris.dose_records import DoseReportData, IrradiationEventData
from ris.models import DoseReport

# PS3.4 Annex B.5 Standard SOP Classes taken by the C-STORE SCP and STOW-RS
XRAY_RDSR = "1.2.840.10008.5.1.4.1.1.88.67"
ENHANCED_XRAY_RDSR = "1.2.840.10008.5.1.4.1.1.88.76"
RADIOPHARMACEUTICAL_RDSR = "1.2.840.10008.5.1.4.1.1.88.68"
DOSE_SOP_CLASSES = (XRAY_RDSR, ENHANCED_XRAY_RDSR, RADIOPHARMACEUTICAL_RDSR)

# Root container concepts (TID 10001, TID 10021)
XRAY_DOSE_REPORT = "113701"
RADIOPHARMACEUTICAL_DOSE_REPORT = "113500"
# TID 10011 CT Radiation Dose
CT_ACCUMULATED = "113811"
CT_TOTAL_EVENTS = "113812"
CT_DLP_TOTAL = "113813"
CT_ACQUISITION = "113819"
CT_ACQUISITION_PARAMETERS = "113822"
CT_DOSE = "113829"
MEAN_CTDIVOL = "113830"
PHANTOM_TYPE = "113835"
DLP = "113838"
SCANNING_LENGTH = "113825"
EXPOSURE_TIME = "113824"
# TID 10002 / 10004 accumulated projection X-ray dose, TID 10003 irradiation event
DAP_TOTAL = "113722"
RP_DOSE_TOTAL = "113725"
TOTAL_FLUORO_TIME = "113730"
PROJECTION_EVENT = "113706"
DAP = "122130"
RP_DOSE = "113738"
# common to the events
EVENT_UID = "113769"
DATETIME_STARTED = "111526"
ACQUISITION_PROTOCOL = "125203"
TARGET_REGION = "123014"
# TID 10022 radiopharmaceutical administration
RADIOPHARMACEUTICAL_AGENT = "349358000"  # SCT
ADMINISTERED_ACTIVITY = "113507"

# UCUM unit -> factor to this module's unit of that quantity
_FACTORS = {
    "mGy": 1.0,  # CTDIvol
    "mGy.cm": 1.0,
    "Gy.m2": 1.0,
    "dGy.cm2": 1e-5,
    "cGy.cm2": 1e-6,
    "mGy.cm2": 1e-7,
    "uGy.m2": 1e-6,
    "Gy": 1.0,
    "s": 1.0,
    "min": 60.0,
    "ms": 1e-3,
    "mm": 1.0,
    "cm": 10.0,
    "MBq": 1.0,
    "kBq": 1e-3,
    "GBq": 1e3,
    "mCi": 37.0,
}
_RP_FACTORS = {"Gy": 1.0, "mGy": 1e-3, "dGy": 0.1, "cGy": 0.01}  # reference point dose is in Gy


# PS3.5 9.1: digits and dots, no leading zero in a component, at most 64 characters
_UID = re.compile(r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*")
_UID_LENGTH = 64
# PS3.5 6.2: SH 16, LO 64, PN 64 per component group (three groups and two "=")
_LIMITS = {"AccessionNumber": 16, "PatientID": 64, "PatientName": 3 * 64 + 2}


class NotADoseReport(ValueError):
    """The object is not a dose SR we read; the message says why."""


def read_dose_report(ds: Dataset) -> DoseReportData:
    """The dose record of one RDSR; NotADoseReport when it is none."""
    sop_class = str(ds.get("SOPClassUID", ""))
    if sop_class not in DOSE_SOP_CLASSES:
        raise NotADoseReport(f"SOP class {sop_class or '(none)'} is not a radiation dose SR")
    for keyword in ("SOPInstanceUID", "StudyInstanceUID"):
        if not ds.get(keyword):
            raise NotADoseReport(f"{keyword} is missing")
        if len(str(ds.get(keyword))) > _UID_LENGTH or not _UID.fullmatch(str(ds.get(keyword))):
            raise NotADoseReport(f"{keyword} is not a UID (PS3.5 9.1)")
    for keyword, limit in _LIMITS.items():
        if len(str(ds.get(keyword, "") or "")) > limit:
            raise NotADoseReport(f"{keyword} is longer than its VR allows ({limit})")
    root = _concept(ds)
    if root not in (XRAY_DOSE_REPORT, RADIOPHARMACEUTICAL_DOSE_REPORT):
        raise NotADoseReport(f"document title {root or '(none)'} is not a dose report")
    record = DoseReportData(
        sop_instance_uid=str(ds.SOPInstanceUID),
        sop_class_uid=sop_class,
        kind=_kind(ds, sop_class),
        study_instance_uid=str(ds.StudyInstanceUID),
        accession_number=str(ds.get("AccessionNumber", "") or ""),
        patient_id=str(ds.get("PatientID", "") or ""),
        patient_name=str(ds.get("PatientName", "") or ""),
        performed_at=_date_time(
            ds.get("ContentDate") or ds.get("StudyDate"), ds.get("ContentTime") or ds.get("StudyTime")
        ),
        manufacturer=str(ds.get("Manufacturer", "") or "")[:64],
        station_name=str(ds.get("StationName", "") or "")[:16],
    )
    reader = {
        DoseReport.Kind.CT: _read_ct,
        DoseReport.Kind.PROJECTION: _read_projection,
        DoseReport.Kind.RADIOPHARMACEUTICAL: _read_radiopharmaceutical,
    }[DoseReport.Kind(record.kind)]
    reader(ds, record)
    if record.event_count is None:
        record.event_count = len(record.events)
    return record


def _kind(ds: Dataset, sop_class: str) -> str:
    if sop_class == RADIOPHARMACEUTICAL_RDSR:
        return DoseReport.Kind.RADIOPHARMACEUTICAL
    if _first(ds, CT_ACQUISITION) is not None or _first(ds, CT_ACCUMULATED) is not None:
        return DoseReport.Kind.CT  # TID 10011 is carried by the X-Ray RDSR IOD
    return DoseReport.Kind.PROJECTION


def _read_ct(ds: Dataset, record: DoseReportData) -> None:
    accumulated = _first(ds, CT_ACCUMULATED)
    if accumulated is not None:
        record.total_dlp = _number(accumulated, CT_DLP_TOTAL)
        count = _number(accumulated, CT_TOTAL_EVENTS)
        record.event_count = int(count) if count is not None else None
    for acquisition in _all(ds, CT_ACQUISITION):
        event = _event(acquisition)
        parameters = _first(acquisition, CT_ACQUISITION_PARAMETERS) or acquisition
        event.scanning_length = _number(parameters, SCANNING_LENGTH)
        event.exposure_time = _number(parameters, EXPOSURE_TIME)
        dose = _first(acquisition, CT_DOSE) or acquisition
        event.ctdivol = _number(dose, MEAN_CTDIVOL)
        event.dlp = _number(dose, DLP)
        event.phantom = _code_meaning(dose, PHANTOM_TYPE)[:64]
        record.events.append(event)
    if record.total_dlp is None and record.events:
        record.total_dlp = sum(e.dlp or 0.0 for e in record.events)


def _read_projection(ds: Dataset, record: DoseReportData) -> None:
    for item in _walk(ds):  # the totals sit in TID 10002's container, or in one per plane
        code = _concept(item)
        if code == DAP_TOTAL:
            record.total_dap = (record.total_dap or 0.0) + (_value(item) or 0.0)
        elif code == RP_DOSE_TOTAL:
            record.reference_point_dose = (record.reference_point_dose or 0.0) + (_value(item, _RP_FACTORS) or 0.0)
        elif code == TOTAL_FLUORO_TIME:
            record.fluoro_time = (record.fluoro_time or 0.0) + (_value(item) or 0.0)
    for container in _all(ds, PROJECTION_EVENT):
        event = _event(container)
        event.dap = _number(container, DAP)
        rp = _first(container, RP_DOSE)
        event.reference_point_dose = _value(rp, _RP_FACTORS) if rp is not None else None
        event.exposure_time = _number(container, EXPOSURE_TIME)
        record.events.append(event)


def _read_radiopharmaceutical(ds: Dataset, record: DoseReportData) -> None:
    record.radiopharmaceutical = _code_meaning(ds, RADIOPHARMACEUTICAL_AGENT)[:64]
    record.administered_activity = _number(ds, ADMINISTERED_ACTIVITY)


def _event(container: Dataset) -> IrradiationEventData:
    uid = _first(container, EVENT_UID)
    started = _first(container, DATETIME_STARTED)
    return IrradiationEventData(
        event_uid=str(uid.get("UID", ""))[:64] if uid is not None else "",
        started_at=_datetime(started.get("DateTime")) if started is not None else None,
        protocol=_text(container, ACQUISITION_PROTOCOL)[:64],
        target_region=_code_meaning(container, TARGET_REGION)[:64],
    )


# The content tree (PS3.3 C.17.3)
def _concept(item: Dataset) -> str:
    names = item.get("ConceptNameCodeSequence") or []
    return str(names[0].get("CodeValue", "")) if names else ""


def _walk(item: Dataset) -> Iterator[Dataset]:
    """Every content item below `item`, depth first."""
    for child in item.get("ContentSequence") or []:
        yield child
        yield from _walk(child)


def _first(item: Dataset, code: str) -> Dataset | None:
    return next((child for child in _walk(item) if _concept(child) == code), None)


def _all(item: Dataset, code: str) -> list[Dataset]:
    return [child for child in _walk(item) if _concept(child) == code]


def _number(item: Dataset, code: str) -> float | None:
    found = _first(item, code)
    return _value(found) if found is not None else None


def _value(item: Dataset, factors: dict[str, float] | None = None) -> float | None:
    """A NUM item's value in our unit; None when absent or in a unit we do not know."""
    measured = item.get("MeasuredValueSequence") or []
    if not measured or measured[0].get("NumericValue") in (None, ""):
        return None
    units = measured[0].get("MeasurementUnitsCodeSequence") or []
    unit = str(units[0].get("CodeValue", "")) if units else ""
    factor = (factors or _FACTORS).get(unit)
    return float(measured[0].NumericValue) * factor if factor is not None else None


def _text(item: Dataset, code: str) -> str:
    found = _first(item, code)
    return str(found.get("TextValue", "") or "") if found is not None else ""


def _code_meaning(item: Dataset, code: str) -> str:
    found = _first(item, code)
    concepts = (found.get("ConceptCodeSequence") or []) if found is not None else []
    return str(concepts[0].get("CodeMeaning", "") or "") if concepts else ""


def _date_time(date: object, time: object) -> dt.datetime | None:
    """DA and TM, which carry no zone: the site's (STYLE: time is never naive)."""
    if not date:
        return None
    try:
        day = DA(str(date))
        clock = TM(str(time)) if time else dt.time()
    except ValueError:
        return None
    return timezone.make_aware(dt.datetime.combine(day, clock.replace(tzinfo=None)))


def _datetime(value: object) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = DT(str(value))
    except ValueError:
        return None
    moment = dt.datetime(*parsed.timetuple()[:6], parsed.microsecond, tzinfo=parsed.tzinfo)
    return moment if moment.tzinfo else timezone.make_aware(moment)
