"""A scheduled step as a worklist response: every requested key, no other.

`step_dataset` says everything we know about a step; `select` keeps what
the query asked for, with zero-length values for keys we have no value for.
"""
from __future__ import annotations

from django.conf import settings
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from ris.models import ScheduledProcedureStep
from worklist.charsets import UTF8, declare

# The keys we return (PS3.4 Table K.6-1); any other requested key is answered
# zero-length and flagged FF01 (see worklist.query.unsupported_keys).
RETURN_KEYS = frozenset({
    "PatientName", "PatientID", "IssuerOfPatientID", "PatientBirthDate", "PatientSex",
    "AccessionNumber", "ReferringPhysicianName", "RequestingPhysician", "ReasonForTheRequestedProcedure",
    "PlacerOrderNumberImagingServiceRequest", "FillerOrderNumberImagingServiceRequest", "AdmissionID",
    "RequestedProcedureID", "RequestedProcedureDescription", "RequestedProcedureCodeSequence",
    "StudyInstanceUID", "RequestedProcedurePriority", "ReferencedStudySequence",
    "ReferencedPatientSequence", "ScheduledProcedureStepSequence",
})
STEP_RETURN_KEYS = frozenset({
    "ScheduledStationAETitle", "ScheduledProcedureStepStartDate", "ScheduledProcedureStepStartTime",
    "Modality", "ScheduledPerformingPhysicianName", "ScheduledProcedureStepDescription",
    "ScheduledProtocolCodeSequence", "ScheduledProcedureStepID", "ScheduledStationName",
    "ScheduledProcedureStepLocation", "ScheduledProcedureStepStatus",
})
# Type 1 return keys the RIS may hold empty, and what answers for them
# (PS3.4 Table K.6-1 requires a value). An unassigned step is offered as
# scheduled on the station that asks; a nameless patient as UNKNOWN.
UNKNOWN_NAME = "UNKNOWN"


def step_dataset(step: ScheduledProcedureStep, *, calling_ae: str = "") -> Dataset:
    procedure = step.requested_procedure
    order = procedure.order
    patient = order.patient
    ds = Dataset()
    # Patient (PS3.4 Table K.6-1, Patient Identification / Demographic)
    ds.PatientName = patient.dicom_name if patient.name else _with_groups(UNKNOWN_NAME, patient.dicom_name)
    ds.PatientID = patient.patient_id
    ds.IssuerOfPatientID = patient.issuer
    ds.PatientBirthDate = patient.birth_date.strftime("%Y%m%d") if patient.birth_date else ""
    ds.PatientSex = patient.sex
    # Imaging Service Request
    ds.AccessionNumber = order.accession_number or ""
    ds.ReferringPhysicianName = order.referring_physician
    ds.RequestingPhysician = order.ordering_physician
    ds.ReasonForTheRequestedProcedure = order.reason
    ds.PlacerOrderNumberImagingServiceRequest = order.placer_number
    ds.FillerOrderNumberImagingServiceRequest = order.filler_number
    ds.AdmissionID = order.admission_id
    # Requested Procedure
    ds.RequestedProcedureID = procedure.requested_procedure_id
    ds.RequestedProcedureDescription = procedure.description
    ds.RequestedProcedureCodeSequence = _codes(procedure.code_value, procedure.code_scheme, procedure.code_meaning)
    ds.StudyInstanceUID = procedure.study_instance_uid
    ds.RequestedProcedurePriority = order.priority
    ds.ReferencedStudySequence = Sequence()
    ds.ReferencedPatientSequence = Sequence()
    ds.ScheduledProcedureStepSequence = Sequence([_step_item(step, calling_ae)])
    return ds


def _with_groups(alphabetic: str, name: str) -> str:
    return alphabetic + name  # `name` is empty or starts with "=" here


def _step_item(step: ScheduledProcedureStep, calling_ae: str) -> Dataset:
    start = step.start.astimezone(_site_zone())
    item = Dataset()
    item.ScheduledStationAETitle = step.station_ae_title or calling_ae
    item.ScheduledProcedureStepStartDate = start.strftime("%Y%m%d")
    item.ScheduledProcedureStepStartTime = start.strftime("%H%M%S")
    item.Modality = step.modality
    item.ScheduledPerformingPhysicianName = step.performing_physician
    item.ScheduledProcedureStepDescription = step.description
    item.ScheduledProtocolCodeSequence = _codes(
        step.protocol_code_value, step.protocol_code_scheme, step.protocol_code_meaning
    )
    item.ScheduledProcedureStepID = step.sps_id
    item.ScheduledStationName = step.station_name
    item.ScheduledProcedureStepLocation = step.location
    item.ScheduledProcedureStepStatus = step.status
    return item


def _codes(value: str, scheme: str, meaning: str) -> Sequence:
    if not value:
        return Sequence()
    code = Dataset()
    code.CodeValue = value
    code.CodingSchemeDesignator = scheme or "L"  # L: local (PS3.16 8.2)
    code.CodeMeaning = meaning or value
    return Sequence([code])


def select(requested: Dataset, available: Dataset) -> Dataset:
    """Copy the requested keys from `available`, zero-length where it has none."""
    out = Dataset()
    for element in requested:
        if element.tag == 0x00080005:
            continue
        keyword = element.keyword
        if element.VR == "SQ":
            out.add_new(element.tag, "SQ", _select_sequence(element.value, available.get(keyword)))
        elif keyword and keyword in available:
            out.add(available[keyword])
        else:
            out.add_new(element.tag, element.VR, None)
    return out


def _select_sequence(requested_items, available_items) -> Sequence:
    if not available_items:
        return Sequence()
    if not requested_items:  # a zero-length sequence key asks for the whole sequence
        return Sequence(list(available_items))
    return Sequence([select(requested_items[0], item) for item in available_items])


def response_for(
    requested: Dataset, step: ScheduledProcedureStep, *, character_set: str = UTF8, calling_ae: str = ""
) -> Dataset:
    """Exactly the requested keys, in `character_set` (PS3.5 6.1)."""
    response = select(requested, step_dataset(step, calling_ae=calling_ae))
    declare(response, character_set)
    return response


def _site_zone():
    from zoneinfo import ZoneInfo

    return ZoneInfo(settings.TIME_ZONE)
