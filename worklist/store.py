"""The Storage SCP (PS3.4 Annex B) for radiation dose SRs: a C-STORE's data
set is decoded in its context's transfer syntax, kept byte for byte as a
DICOM file, and read (worklist/dose_store.py)."""

from __future__ import annotations

import logging

from pydicom.dataset import Dataset

from ris.models import AuditEvent
from ris.records import Actor
from worklist.association import Message, Peer
from worklist.dose_store import (
    CANNOT_UNDERSTAND,
    DATA_SET_DOES_NOT_MATCH,
    OUT_OF_RESOURCES,
    SOP_CLASS_NOT_SUPPORTED,
    part10_of,
    store_dose_object,
)
from worklist.rdsr import DOSE_SOP_CLASSES

log = logging.getLogger(__name__)


def handle_c_store(peer: Peer, message: Message) -> tuple[Dataset, None]:
    """The C-STORE-RSP: its status, with Error Comment on failure (PS3.7 9.1.1)."""
    command = message.command
    sop_class = str(command.get("AffectedSOPClassUID", ""))
    sop_instance = str(command.get("AffectedSOPInstanceUID", ""))
    status, reason = _store(peer, message, sop_class, sop_instance)
    answer = Dataset()
    answer.Status = status
    answer.AffectedSOPInstanceUID = sop_instance
    if reason:
        log.warning("C-STORE from %s refused (%04X): %s", peer.ae_title, status, reason)
        answer.ErrorComment = reason[:64]
    return answer, None


def _store(peer: Peer, message: Message, sop_class: str, sop_instance: str) -> tuple[int, str]:
    if sop_class not in DOSE_SOP_CLASSES:
        return SOP_CLASS_NOT_SUPPORTED, "only radiation dose SRs are stored here"
    if message.oversized:
        return OUT_OF_RESOURCES, "data set too large"
    try:
        ds = message.dataset()
        ds_class, ds_instance = str(ds.get("SOPClassUID", "")), str(ds.get("SOPInstanceUID", ""))
    except Exception:
        return CANNOT_UNDERSTAND, "data set could not be decoded"
    if (ds_class, ds_instance) != (sop_class, sop_instance):
        return DATA_SET_DOES_NOT_MATCH, "SOP class or instance differs from the command's"  # PS3.4 B.2.3
    syntax = str(message.context.transfer_syntax[0])
    part10 = part10_of(
        message.dataset_bytes or b"", sop_class=sop_class, sop_instance=sop_instance, transfer_syntax=syntax
    )
    stored = store_dose_object(ds, part10, _actor(peer))
    return stored.status, stored.reason


def _actor(peer: Peer) -> Actor:
    return Actor(door=AuditEvent.Door.DICOM, name=peer.ae_title, address=peer.address)
