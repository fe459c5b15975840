"""The Instance Availability Notification SCP (PS3.4 Annex R; IHE RAD-49).

An archive (Image Manager) tells the RIS which instances of a study it
holds with an N-CREATE of the IAN SOP Class. The handler decodes the
dataset into a record, calls one service (ris/services/images.py) and
answers: 0x0000 when it was recorded, matched or queued for reconciliation
(an unknown or coerced Study Instance UID is the RIS's to repair, not the
archive's); 0x0120 / 0x0121 / 0x0106 for a dataset that lacks what PS3.3
C.4.23 requires; 0x0111 for an instance received before; 0x0110 otherwise.
"""

from __future__ import annotations

import logging

from django.db import close_old_connections, connection
from pydicom.dataset import Dataset
from pydicom.tag import Tag

from ris.models import AvailableInstance
from ris.records import AvailabilityData, InstanceData
from ris.services.images import instances_available
from ris.uids import new_uid
from worklist.association import Message, Peer
from worklist.mpps import association_actor, failure_status
from worklist.mpps_decode import (
    InvalidAttributeValue,
    MissingAttribute,
    MissingAttributeValue,
    stored_json,
    tags_of,
)

log = logging.getLogger(__name__)
INSTANCE_AVAILABILITY_NOTIFICATION = "1.2.840.10008.5.1.4.33"
SUCCESS = 0x0000
_AVAILABILITY = set(AvailableInstance.Availability.values)


def handle_ian_n_create(peer: Peer, message: Message) -> tuple[Dataset, Dataset | None]:
    """N-CREATE of an IAN: recorded, and answered with its status."""
    uid = str(message.command.get("AffectedSOPInstanceUID") or "") or new_uid()  # PS3.7 10.1.5.1.4
    close_old_connections()
    try:
        data = decode_ian(message.dataset(), uid, peer.ae_title)
        row = instances_available(data=data, actor=association_actor(_Requestor(peer)))
        log.info("IAN %s from %s: %s", uid, peer.ae_title, row.match)
        answer = Dataset()
        answer.Status = SUCCESS
        return answer, None
    except Exception as exc:
        answer = failure_status(exc)
        log.warning("IAN %s from %s refused 0x%04X: %s", uid, peer.ae_title, answer.Status, exc)
        return answer, None
    finally:
        connection.close()


class _Requestor:
    """The association's requestor as association_actor reads it."""

    def __init__(self, peer: Peer):
        self.requestor = peer


def decode_ian(ds: Dataset, uid: str, sender: str) -> AvailabilityData:
    """PS3.3 C.4.23.1 Instance Availability Notification Module into a record."""
    study = _required(ds, "StudyInstanceUID")
    if "ReferencedPerformedProcedureStepSequence" not in ds:  # type 2: present, may be empty
        raise MissingAttribute(
            "missing Referenced Performed Procedure Step Sequence",
            tags_of(["ReferencedPerformedProcedureStepSequence"]),
        )
    performed = tuple(
        str(item.get("ReferencedSOPInstanceUID", "")) for item in ds.ReferencedPerformedProcedureStepSequence
    )
    series = _required(ds, "ReferencedSeriesSequence")
    instances = tuple(instance for item in series for instance in _series(item))
    return AvailabilityData(
        sop_instance_uid=uid,
        study_instance_uid=str(study),
        performed_step_uids=tuple(p for p in performed if p),
        instances=instances,
        sender=sender,
        dataset=stored_json(ds),
    )


def _series(item: Dataset) -> list[InstanceData]:
    series_uid = str(_required(item, "SeriesInstanceUID"))
    return [_instance(series_uid, sop) for sop in _required(item, "ReferencedSOPSequence")]


def _instance(series_uid: str, sop: Dataset) -> InstanceData:
    availability = str(_required(sop, "InstanceAvailability")).strip().upper()
    if availability not in _AVAILABILITY:
        raise InvalidAttributeValue(
            f"Instance Availability {availability[:16]!r} is not defined", tags_of(["InstanceAvailability"])
        )
    retrieve = sop.get("RetrieveAETitle", "")
    titles = "\\".join(str(t) for t in retrieve) if not isinstance(retrieve, str) else retrieve
    return InstanceData(
        series_instance_uid=series_uid,
        sop_class_uid=str(_required(sop, "ReferencedSOPClassUID")),
        sop_instance_uid=str(_required(sop, "ReferencedSOPInstanceUID")),
        availability=availability,
        retrieve_ae_title=titles[:64],
    )


def _required(ds: Dataset, keyword: str):  # type: ignore[no-untyped-def]
    """A type 1 attribute: 0x0120 when absent, 0x0121 when empty (PS3.7 C.4.2)."""
    if keyword not in ds:
        raise MissingAttribute(f"missing {keyword}", tags_of([keyword]))
    value = ds[Tag(keyword)].value
    if value is None or value == "" or (hasattr(value, "__len__") and len(value) == 0):
        raise MissingAttributeValue(f"{keyword} has no value", tags_of([keyword]))
    return value
