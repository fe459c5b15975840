"""Plain typed records the doors hand to the services.

They carry values already decoded from a wire format (HL7, DICOM, forms) and
know nothing of it. `None` means "not given: keep what is stored"; the
CLEAR marker (HL7 `""`) means "erase the stored value". In an order change
(HL7 ORC-1 XO) an empty string is "not given" too, as HL7 sends it.
"""
from __future__ import annotations

import dataclasses
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
    priority: str = ""  # '' = not given (ROUTINE for a new order)
    admission_id: str = ""
    procedures: list[ProcedureData] = field(default_factory=list)


@dataclass(frozen=True)
class MessageHeader:
    """Who sent a message and what it is (HL7 MSH-3, -4, -10, -9, -12)."""

    sending_application: str = ""
    sending_facility: str = ""
    control_id: str = ""
    message_type: str = ""
    version: str = ""


@dataclass(frozen=True)
class OrderKey:
    """How a sender names an existing order: its placer number within its
    placer system, or the filler number the RIS gave it."""

    placer_system: str = ""
    placer_number: str = ""
    filler_number: str = ""


def plain(record):
    """A copy with every CLEAR read as empty: what a new record starts from."""
    if isinstance(record, list):
        return [plain(item) for item in record]
    if not dataclasses.is_dataclass(record):
        return "" if record == CLEAR else record
    values = {f.name: plain(getattr(record, f.name)) for f in dataclasses.fields(record)}
    return dataclasses.replace(record, **values)
