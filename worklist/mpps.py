"""The MPPS SCP (PS3.4 F.7): N-CREATE and N-SET of Modality Performed Procedure Step.

Each handler decodes the dataset into a record, calls one service, and
answers. Every refusal becomes a DIMSE status here, in `failure_status`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import DatabaseError, close_old_connections, connection
from pydicom.dataset import Dataset
from pynetdicom.events import Event

from ris import exceptions as domain
from ris.models import AuditEvent, PerformedProcedureStep
from ris.records import Actor
from ris.services.mpps import mpps_create, mpps_update
from ris.uids import new_uid
from worklist import metrics
from worklist.mpps_decode import (
    FIELD_TAGS,
    InvalidAttributeValue,
    MissingAttribute,
    MissingAttributeValue,
    decode_change,
    decode_create,
    tag_text,
    tags_of,
)

log = logging.getLogger(__name__)

# PS3.7 C.4.1-C.4.3 / PS3.4 F.7.2 statuses
SUCCESS = 0x0000
INVALID_ATTRIBUTE_VALUE = 0x0106
PROCESSING_FAILURE = 0x0110
DUPLICATE_INSTANCE = 0x0111
NO_SUCH_INSTANCE = 0x0112
MISSING_ATTRIBUTE = 0x0120
MISSING_ATTRIBUTE_VALUE = 0x0121
# PS3.4 F.7.2.2 / PS3.7 C.5.x: Error ID when the MPPS is no longer IN PROGRESS
ERROR_ID_NOT_IN_PROGRESS = 0xA710

STATUS_TAG = tags_of(["PerformedProcedureStepStatus"])

# exception type -> (status, attribute tags or None); first match wins
_STATUSES = [
    (MissingAttribute, MISSING_ATTRIBUTE),
    (MissingAttributeValue, MISSING_ATTRIBUTE_VALUE),
    (InvalidAttributeValue, INVALID_ATTRIBUTE_VALUE),
    (domain.InvalidStatus, INVALID_ATTRIBUTE_VALUE),
    (domain.FieldsNotModifiable, INVALID_ATTRIBUTE_VALUE),
    (domain.FieldsMissing, MISSING_ATTRIBUTE_VALUE),
    (domain.DuplicatePerformedStep, DUPLICATE_INSTANCE),
    (domain.UnknownPerformedStep, NO_SUCH_INSTANCE),
    (domain.PerformedStepFinal, PROCESSING_FAILURE),
    (domain.IllegalTransition, PROCESSING_FAILURE),
    (domain.DomainError, PROCESSING_FAILURE),
]


def handle_n_create(event: Event) -> tuple[Dataset, Dataset | None]:
    """EVT_N_CREATE: a new MPPS, IN PROGRESS (PS3.4 F.7.2.1)."""
    ds = event.attribute_list
    # pynetdicom types Event.request as any DIMSE request; here it is the N-CREATE
    given: str | None = event.request.AffectedSOPInstanceUID  # type: ignore[union-attr]
    uid = given or new_uid()  # PS3.7 10.1.5.1.4: the SCP assigns one when the SCU gave none
    peer = event.assoc.requestor.ae_title
    actor = association_actor(event.assoc)
    answer = _serve(lambda: mpps_create(data=decode_create(ds, uid, peer), actor=actor), "N-CREATE", peer, uid)
    if answer.Status != SUCCESS:
        return answer, None
    if not given:
        ds.AffectedSOPInstanceUID = uid  # moved into the response by pynetdicom
    return answer, ds


def handle_n_set(event: Event) -> tuple[Dataset, Dataset | None]:
    """EVT_N_SET: a change of an MPPS still IN PROGRESS (PS3.4 F.7.2.2)."""
    ds = event.modification_list
    # the N-SET request, whose Requested SOP Instance UID is mandatory (PS3.7 10.1.3.1)
    uid: str = event.request.RequestedSOPInstanceUID  # type: ignore[union-attr, assignment]
    peer = event.assoc.requestor.ae_title
    actor = association_actor(event.assoc)
    answer = _serve(
        lambda: mpps_update(sop_instance_uid=uid, change=decode_change(ds), actor=actor), "N-SET", peer, uid
    )
    return answer, (ds if answer.Status == SUCCESS else None)


def association_actor(assoc: Any) -> Actor:
    """The peer of an association as the services' actor: its calling AE title and address."""
    requestor = assoc.requestor
    return Actor(door=AuditEvent.Door.DICOM, name=str(requestor.ae_title).strip(), address=str(requestor.address))


def _serve(call: Callable[[], PerformedProcedureStep], operation: str, peer: str, uid: str) -> Dataset:
    close_old_connections()
    try:
        pps = call()
        log.info("%s of MPPS %s from %s: %s", operation, uid, peer, pps.status)
        metrics.MPPS_RECEIVED.labels(pps.status).inc()
        return _status(SUCCESS)
    except Exception as exc:
        answer = failure_status(exc)
        log.warning("%s of MPPS %s from %s refused 0x%04X: %s", operation, uid, peer, answer.Status, exc)
        metrics.MPPS_RECEIVED.labels(f"0x{answer.Status:04X}").inc()
        return answer
    finally:
        connection.close()


def failure_status(exc: Exception) -> Dataset:
    """The one place a refusal becomes a DIMSE status, comment and attribute list."""
    if isinstance(exc, DatabaseError):
        return _status(PROCESSING_FAILURE, "database unavailable")
    for kind, status in _STATUSES:
        if isinstance(exc, kind):
            tags = _tags(exc)
            return _status(status, _comment(exc, tags), tags, _error_id(exc))
    log.exception("MPPS handler failed", exc_info=exc)
    return _status(PROCESSING_FAILURE, f"internal error: {type(exc).__name__}")


def _tags(exc: Exception) -> list[int]:
    if hasattr(exc, "tags"):
        tags: list[int] = exc.tags  # AttributeProblem's
        return tags
    if isinstance(exc, domain.InvalidStatus):
        return STATUS_TAG
    fields = getattr(exc, "fields", [])
    return tags_of([keyword for name in fields for keyword in FIELD_TAGS.get(name, [])])


def _comment(exc: Exception, tags: list[int]) -> str:
    """The reason, with the attributes' tags when the message does not name them."""
    text = str(exc)
    return text if not tags or tag_text(tags) in text else f"{tag_text(tags)} {text}"


def _error_id(exc: Exception) -> int | None:
    return ERROR_ID_NOT_IN_PROGRESS if isinstance(exc, domain.PerformedStepFinal) else None


def _status(status: int, comment: str = "", tags: list[int] | None = None, error_id: int | None = None) -> Dataset:
    answer = Dataset()
    answer.Status = status
    if comment:
        answer.ErrorComment = comment[:64]  # LO, PS3.7 C.4.1
    if tags:
        answer.AttributeIdentifierList = tags
    if error_id is not None:
        answer.ErrorID = error_id
    return answer
