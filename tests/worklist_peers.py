"""pynetdicom as a second, independent worklist client."""

from __future__ import annotations

from pydicom.dataset import Dataset
from pynetdicom import AE
from pynetdicom.sop_class import ModalityWorklistInformationFind


def mwl_identifier(top: dict | None = None, step: dict | None = None, charset: str | list | None = None) -> Dataset:
    """An MWL identifier: top-level keys and one SPS item (keyword -> value)."""
    ds = Dataset()
    if charset is not None:
        ds.SpecificCharacterSet = charset
    for keyword, value in (top or {}).items():
        setattr(ds, keyword, value)
    item = Dataset()
    for keyword, value in (step or {}).items():
        setattr(item, keyword, value)
    ds.ScheduledProcedureStepSequence = [item]
    return ds


def client_ae(calling_ae: str = "PYSCU") -> AE:
    ae = AE(ae_title=calling_ae)
    ae.add_requested_context(ModalityWorklistInformationFind)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 10
    return ae


def mwl_find(port: int, identifier: Dataset, *, calling_ae: str = "PYSCU") -> list[tuple[int, Dataset | None]]:
    """One association, one C-FIND: every (status, identifier) received."""
    assoc = client_ae(calling_ae).associate("127.0.0.1", port, ae_title="RIS")
    assert assoc.is_established, f"association from {calling_ae} not accepted"
    try:
        return [
            (status.Status, ds)
            for status, ds in assoc.send_c_find(identifier, ModalityWorklistInformationFind)
            if status
        ]
    finally:
        assoc.release()


def statuses(responses) -> list[int]:
    return [status for status, _ in responses]


def identifiers(responses) -> list[Dataset]:
    return [ds for status, ds in responses if status in (0xFF00, 0xFF01)]
