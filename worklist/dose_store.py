"""Dose reports in, by either door (the C-STORE SCP, worklist/store.py, and
STOW-RS, worklist/stow.py): one check and one service, and the one map
from a refusal to its DICOM status (PS3.4 B.2.3; STOW-RS reports the same
codes as Failure Reason, PS3.18 10.5.3.3)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from io import BytesIO

from django.db import DatabaseError, connection
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filewriter import write_file_meta_info
from pydicom.uid import UID

from infra.db import release_connection
from ris.exceptions import DoseReportConflict, InvalidInput
from ris.records import Actor
from ris.services.dose import dose_report_store
from worklist.rdsr import DOSE_SOP_CLASSES, NotADoseReport, read_dose_report

log = logging.getLogger(__name__)

SUCCESS = 0x0000
PROCESSING_FAILURE = 0x0110  # PS3.7 C.4.1
SOP_CLASS_NOT_SUPPORTED = 0x0122  # PS3.7 C.5.x
OUT_OF_RESOURCES = 0xA700  # PS3.4 B.2.3
DATA_SET_DOES_NOT_MATCH = 0xA900
CANNOT_UNDERSTAND = 0xC000


@dataclass(frozen=True)
class Stored:
    """What became of one instance: its status and, on failure, why."""

    status: int
    reason: str = ""
    report_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == SUCCESS


def store_dose_object(ds: Dataset, part10: bytes, actor: Actor) -> Stored:
    """Read and keep one dose SR; never raises."""
    sop_class = str(ds.get("SOPClassUID", ""))
    if sop_class not in DOSE_SOP_CLASSES:
        return Stored(SOP_CLASS_NOT_SUPPORTED, f"SOP class {sop_class or '(none)'} is not stored here")
    try:
        record = read_dose_report(ds)
    except NotADoseReport as exc:
        return Stored(DATA_SET_DOES_NOT_MATCH, str(exc))
    except Exception as exc:  # a tree pydicom cannot decode, among others
        log.warning("dose report from %s not readable: %s", actor.label, type(exc).__name__)
        return Stored(CANNOT_UNDERSTAND, "the dose report could not be read")
    try:
        report = dose_report_store(record=record, content=part10, actor=actor)
    except (DoseReportConflict, InvalidInput) as exc:
        return Stored(PROCESSING_FAILURE, str(exc))
    except DatabaseError as exc:
        log.error("dose report from %s not stored, database unavailable: %s", actor.label, exc)
        connection.close()
        return Stored(OUT_OF_RESOURCES, "database unavailable")
    except OSError as exc:
        log.error("dose report from %s not stored, file not written: %s", actor.label, exc)
        return Stored(OUT_OF_RESOURCES, "storage unavailable")
    finally:
        release_connection()
    log.info("dose report %s stored from %s (%s)", report.pk, actor.label, report.kind)
    return Stored(SUCCESS, report_id=report.pk)


def part10_of(dataset_bytes: bytes, *, sop_class: str, sop_instance: str, transfer_syntax: str) -> bytes:
    """A received data set, byte for byte, as a DICOM file (PS3.10 7.1)."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(sop_class)
    meta.MediaStorageSOPInstanceUID = UID(sop_instance)
    meta.TransferSyntaxUID = UID(transfer_syntax)
    out = BytesIO()
    out.write(b"\x00" * 128 + b"DICM")
    write_file_meta_info(out, meta, enforce_standard=True)  # type: ignore[arg-type]
    out.write(dataset_bytes)
    return out.getvalue()
