"""Plain typed records the doors hand to the services.

They carry values already decoded from a wire format (HL7, DICOM, forms) and
know nothing of it. `None` means "not given: keep what is stored"; the
CLEAR marker (HL7 `""`) means "erase the stored value".
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

CLEAR = "\x00CLEAR"


@dataclass(frozen=True)
class PatientData:
    patient_id: str
    issuer: str = ""
    name: str | None = None  # DICOM PN alphabetic group
    name_ideographic: str | None = None
    name_phonetic: str | None = None
    birth_date: dt.date | str | None = None  # a date, CLEAR or None
    sex: str | None = None


@dataclass(frozen=True)
class StepData:
    sps_id: str = ""
    modality: str = ""
    station_ae_title: str = ""
    station_name: str = ""
    location: str = ""
    start: dt.datetime | None = None
    expected_duration_minutes: int | None = None
    performing_physician: str = ""
    description: str = ""
    protocol_code_value: str = ""
    protocol_code_scheme: str = ""
    protocol_code_meaning: str = ""


@dataclass(frozen=True)
class ProcedureData:
    requested_procedure_id: str = ""
    code_value: str = ""
    code_scheme: str = ""
    code_meaning: str = ""
    description: str = ""
    study_instance_uid: str = ""
    steps: list[StepData] = field(default_factory=list)


@dataclass(frozen=True)
class OrderData:
    placer_system: str = ""
    placer_number: str = ""
    filler_number: str = ""
    accession_number: str = ""
    ordering_physician: str = ""
    referring_physician: str = ""
    reason: str = ""
    priority: str = "ROUTINE"
    admission_id: str = ""
    procedures: list[ProcedureData] = field(default_factory=list)
