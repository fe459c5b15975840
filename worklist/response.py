"""A scheduled step as a worklist response: every requested key, no other.

`step_dataset` says everything we know about a step; `select` keeps what
the query asked for, with zero-length values for keys we have no value for.
"""
from __future__ import annotations

from django.conf import settings
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from ris.models import ScheduledProcedureStep

UTF8 = "ISO_IR 192"


def step_dataset(step: ScheduledProcedureStep) -> Dataset:
    procedure = step.requested_procedure
    order = procedure.order
    patient = order.patient
    ds = Dataset()
    # Patient (PS3.4 Table K.6-1, Patient Identification / Demographic)
    ds.PatientName = patient.dicom_name
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
    ds.ScheduledProcedureStepSequence = Sequence([_step_item(step)])
    return ds


def _step_item(step: ScheduledProcedureStep) -> Dataset:
    start = step.start.astimezone(_site_zone())
    item = Dataset()
    item.ScheduledStationAETitle = step.station_ae_title
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


def response_for(requested: Dataset, step: ScheduledProcedureStep) -> Dataset:
    response = select(requested, step_dataset(step))
    response.SpecificCharacterSet = UTF8 if _needs_unicode(response) else ""
    return response


def _needs_unicode(ds: Dataset) -> bool:
    for element in ds.iterall():
        if element.VR in ("PN", "LO", "SH", "LT", "ST", "UT", "UC") and element.value:
            if not str(element.value).isascii():
                return True
    return False


def _site_zone():
    from zoneinfo import ZoneInfo

    return ZoneInfo(settings.TIME_ZONE)
