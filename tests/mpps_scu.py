"""pynetdicom as an independent MPPS SCU, and the datasets a modality sends."""

from __future__ import annotations

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import generate_uid
from pynetdicom import AE
from pynetdicom.sop_class import ModalityPerformedProcedureStep


def scheduled_item(study_uid: str, accession: str = "", rp_id: str = "", sps_id: str = "") -> Dataset:
    item = Dataset()
    item.StudyInstanceUID = study_uid
    item.ReferencedStudySequence = Sequence()
    item.AccessionNumber = accession
    item.RequestedProcedureID = rp_id
    item.RequestedProcedureDescription = ""
    item.ScheduledProcedureStepID = sps_id
    item.ScheduledProcedureStepDescription = ""
    item.ScheduledProtocolCodeSequence = Sequence()
    return item


def in_progress(
    items: list[Dataset],
    *,
    patient_id: str = "PAT1001",
    modality: str = "CT",
    station: str = "CT01",
    pps_id: str = "PPS1",
) -> Dataset:
    """An N-CREATE attribute list with every PS3.4 Table F.7.2-1 type 1 and 2 attribute."""
    ds = Dataset()
    ds.ScheduledStepAttributesSequence = Sequence(items)
    ds.PatientName = "MUELLER^HANS"
    ds.PatientID = patient_id
    ds.PatientBirthDate = "19700215"
    ds.PatientSex = "M"
    ds.ReferencedPatientSequence = Sequence()
    ds.PerformedProcedureStepID = pps_id
    ds.PerformedStationAETitle = station
    ds.PerformedStationName = "CT ROOM 1"
    ds.PerformedLocation = "ROOM 1"
    ds.PerformedProcedureStepStartDate = "20261126"
    ds.PerformedProcedureStepStartTime = "143100"
    ds.PerformedProcedureStepStatus = "IN PROGRESS"
    ds.PerformedProcedureStepDescription = "CT Head"
    ds.PerformedProcedureTypeDescription = ""
    ds.ProcedureCodeSequence = Sequence()
    ds.PerformedProcedureStepEndDate = ""
    ds.PerformedProcedureStepEndTime = ""
    ds.Modality = modality
    ds.StudyID = ""
    ds.PerformedProtocolCodeSequence = Sequence()
    ds.PerformedSeriesSequence = Sequence()
    return ds


def series_item(images: int = 2) -> Dataset:
    item = Dataset()
    item.SeriesInstanceUID = generate_uid()
    item.SeriesDescription = "Axial"
    item.ProtocolName = "HEAD"
    item.OperatorsName = "TECH^TOM"
    item.PerformingPhysicianName = ""
    item.RetrieveAETitle = ""
    item.ReferencedImageSequence = Sequence([_image() for _ in range(images)])
    item.ReferencedNonImageCompositeSOPInstanceSequence = Sequence()
    return item


def _image() -> Dataset:
    image = Dataset()
    image.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    image.ReferencedSOPInstanceUID = generate_uid()
    return image


def final(status: str = "COMPLETED", *, series: int = 1, reason: str = "", **extra) -> Dataset:
    """An N-SET modification list that ends the step."""
    ds = Dataset()
    ds.PerformedProcedureStepStatus = status
    ds.PerformedProcedureStepEndDate = "20261126"
    ds.PerformedProcedureStepEndTime = "144500"
    ds.PerformedSeriesSequence = Sequence([series_item() for _ in range(series)])
    if reason:
        code = Dataset()
        code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = reason, "DCM", "reason " + reason
        ds.PerformedProcedureStepDiscontinuationReasonCodeSequence = Sequence([code])
    for keyword, value in extra.items():
        setattr(ds, keyword, value)
    return ds


class MppsScu:
    """One association to the RIS with the MPPS SOP class."""

    def __init__(self, port: int, calling_ae: str = "CT01"):
        ae = AE(ae_title=calling_ae)
        ae.add_requested_context(ModalityPerformedProcedureStep)
        ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 20
        self.assoc = ae.associate("127.0.0.1", port, ae_title="RIS")
        assert self.assoc.is_established

    def create(self, ds: Dataset, uid: str | None = None) -> tuple[Dataset, Dataset | None]:
        return self.assoc.send_n_create(ds, ModalityPerformedProcedureStep, uid or generate_uid())

    def set(self, uid: str, ds: Dataset) -> tuple[Dataset, Dataset | None]:
        return self.assoc.send_n_set(ds, ModalityPerformedProcedureStep, uid)

    def close(self) -> None:
        self.assoc.release()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
