"""Plain records of a radiation dose report, as a door reads it from an
RDSR (worklist/rdsr.py), handed to ris/services/dose.py. Units are fixed
here: mGy, mGy.cm, Gy.m2, Gy, s, mm, MBq; the reader converts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass
class IrradiationEventData:
    event_uid: str = ""
    started_at: dt.datetime | None = None
    protocol: str = ""
    target_region: str = ""
    ctdivol: float | None = None  # mGy
    dlp: float | None = None  # mGy.cm
    phantom: str = ""
    scanning_length: float | None = None  # mm
    dap: float | None = None  # Gy.m2
    reference_point_dose: float | None = None  # Gy
    exposure_time: float | None = None  # s


@dataclass
class DoseReportData:
    sop_instance_uid: str
    sop_class_uid: str
    kind: str  # DoseReport.Kind
    study_instance_uid: str
    accession_number: str = ""
    patient_id: str = ""
    patient_name: str = ""
    performed_at: dt.datetime | None = None
    manufacturer: str = ""
    station_name: str = ""
    total_dlp: float | None = None
    total_dap: float | None = None
    fluoro_time: float | None = None
    reference_point_dose: float | None = None
    event_count: int | None = None
    radiopharmaceutical: str = ""
    administered_activity: float | None = None
    events: list[IrradiationEventData] = field(default_factory=list)
