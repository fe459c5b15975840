"""pynetdicom as an archive's Instance Availability Notification SCU (PS3.4 Annex R)."""

from __future__ import annotations

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import generate_uid
from pynetdicom import AE

IAN_SOP_CLASS = "1.2.840.10008.5.1.4.33"
CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"


def notification(
    study_uid: str, *, images: int = 2, availability: str = "ONLINE", mpps_uids: tuple[str, ...] = ()
) -> Dataset:
    """A PS3.3 C.4.23 Instance Availability Notification dataset for one series."""
    ds = Dataset()
    ds.StudyInstanceUID = study_uid
    ds.ReferencedPerformedProcedureStepSequence = Sequence([_mpps_ref(uid) for uid in mpps_uids])
    series = Dataset()
    series.SeriesInstanceUID = generate_uid()
    series.ReferencedSOPSequence = Sequence([_sop(availability) for _ in range(images)])
    ds.ReferencedSeriesSequence = Sequence([series])
    return ds


def _mpps_ref(uid: str) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = "1.2.840.10008.3.1.2.3.3"
    item.ReferencedSOPInstanceUID = uid
    return item


def _sop(availability: str) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = CT_IMAGE
    item.ReferencedSOPInstanceUID = generate_uid()
    item.InstanceAvailability = availability
    item.RetrieveAETitle = "PACS"
    return item


def send_ian(port: int, ds: Dataset, *, calling: str = "PACS") -> int:
    """N-CREATE the notification; the status the RIS answered."""
    ae = AE(ae_title=calling)
    ae.add_requested_context(IAN_SOP_CLASS)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 10
    assoc = ae.associate("127.0.0.1", port, ae_title="RIS")
    assert assoc.is_established, "the RIS refused the association"
    try:
        status, _ = assoc.send_n_create(ds, IAN_SOP_CLASS, generate_uid())
    finally:
        assoc.release()
    assert status is not None, "no N-CREATE-RSP"
    return int(status.Status)
