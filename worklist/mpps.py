"""The MPPS SCP (PS3.4 F.7): N-CREATE and N-SET of Modality Performed Procedure Step.

Each handler decodes the dataset into a record, calls one service, and
answers. Every refusal becomes a DIMSE status here, in `failure_status`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection
from pydicom.dataset import Dataset
from pynetdicom.events import Event

from ris import exceptions as domain
from ris.models import AuditEvent, PerformedProcedureStep, QuarantinedMpps
from ris.records import Actor
from ris.services.mpps import mpps_create, mpps_is_quarantined, mpps_quarantine, mpps_update
from ris.uids import new_uid
from worklist import metrics
from worklist.mpps_decode import (
    FIELD_TAGS,
    InvalidAttributeValue,
    MissingAttribute,
    MissingAttributeValue,
    decode_change,
    decode_create,
    stored_json,
    tag_text,
    tags_of,
)
from worklist.registry import mpps_policy

log = logging.getLogger(__name__)

# PS3.7 C.4.1-C.4.3 / PS3.4 F.7.2 statuses
SUCCESS = 0x0000
INVALID_ATTRIBUTE_VALUE = 0x0106
PROCESSING_FAILURE = 0x0110
DUPLICATE_INSTANCE = 0x0111
NO_SUCH_INSTANCE = 0x0112
MISSING_ATTRIBUTE = 0x0120
MISSING_ATTRIBUTE_VALUE = 0x0121
# PS3.7 C.5.x: "Refused: Not authorized", the DIMSE-service-user may not
# invoke the operation (here: on this instance); used in N-SET-RSP and N-CREATE-RSP
NOT_AUTHORISED = 0x0124
RESOURCE_LIMITATION = 0x0213
# PS3.4 F.7.2.2 / PS3.7 C.5.x: Error ID when the MPPS is no longer IN PROGRESS
ERROR_ID_NOT_IN_PROGRESS = 0xA710

STATUS_TAG = tags_of(["PerformedProcedureStepStatus"])
CREATE, SET = QuarantinedMpps.Operation.CREATE, QuarantinedMpps.Operation.SET


# What an accepted operation leaves: the MPPS, or its row in the quarantine
Outcome = PerformedProcedureStep | QuarantinedMpps


class SenderNotRegistered(Exception):
    """The operation was quarantined and the sender is to be told no."""


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
    (domain.PerformedStepNotYours, NOT_AUTHORISED),
    (SenderNotRegistered, NOT_AUTHORISED),
    (domain.PerformedStepFinal, PROCESSING_FAILURE),
    (domain.IllegalTransition, PROCESSING_FAILURE),
    (domain.DomainError, PROCESSING_FAILURE),
]


def handle_n_create(event: Event) -> tuple[Dataset, Dataset | None]:
    """EVT_N_CREATE: a new MPPS, IN PROGRESS (PS3.4 F.7.2.1); quarantined
    instead when the sender is not in the modality registry."""
    # pynetdicom types Event.request as any DIMSE request; here it is the N-CREATE
    given: str | None = event.request.AffectedSOPInstanceUID  # type: ignore[union-attr]
    uid = given or new_uid()  # PS3.7 10.1.5.1.4: the SCP assigns one when the SCU gave none
    peer = event.assoc.requestor.ae_title
    too_large = _refuse_large(event, "AttributeList", "N-CREATE", peer, uid)
    if too_large is not None:
        return too_large, None
    ds = event.attribute_list
    actor = association_actor(event.assoc)
    answer = _serve(lambda: _create(uid, ds, actor, peer), "N-CREATE", peer, uid)
    if answer.Status != SUCCESS:
        return answer, None
    if not given:
        ds.AffectedSOPInstanceUID = uid  # moved into the response by pynetdicom
    return answer, ds


def handle_n_set(event: Event) -> tuple[Dataset, Dataset | None]:
    """EVT_N_SET: a change of an MPPS still IN PROGRESS (PS3.4 F.7.2.2), by
    the AE that created it or one the registry allows (else 0x0124)."""
    # the N-SET request, whose Requested SOP Instance UID is mandatory (PS3.7 10.1.3.1)
    uid: str = event.request.RequestedSOPInstanceUID  # type: ignore[union-attr, assignment]
    peer = event.assoc.requestor.ae_title
    too_large = _refuse_large(event, "ModificationList", "N-SET", peer, uid)
    if too_large is not None:
        return too_large, None
    ds = event.modification_list
    actor = association_actor(event.assoc)
    answer = _serve(lambda: _update(uid, ds, actor, peer), "N-SET", peer, uid)
    return answer, (ds if answer.Status == SUCCESS else None)


def _create(uid: str, ds: Dataset, actor: Actor, peer: str) -> Outcome:
    data = decode_create(ds, uid, peer)  # a malformed N-CREATE gets its status, quarantined or not
    if mpps_policy(ae_title=peer).quarantined:
        return _quarantine(CREATE, uid, ds, actor)
    return mpps_create(data=data, actor=actor)


def _update(uid: str, ds: Dataset, actor: Actor, peer: str) -> Outcome:
    policy = mpps_policy(ae_title=peer)
    try:
        return mpps_update(sop_instance_uid=uid, change=decode_change(ds), actor=actor, sender=policy.sender)
    except domain.UnknownPerformedStep:
        if not mpps_is_quarantined(sop_instance_uid=uid):
            raise
    # the N-CREATE of this instance was quarantined: so is each change of it
    return _quarantine(SET, uid, ds, actor)


def _quarantine(operation: str, uid: str, ds: Dataset, actor: Actor) -> QuarantinedMpps:
    """Keep the operation aside; answer as configured (RIS_MPPS_QUARANTINE_ANSWER)."""
    refuse = settings.RIS_MPPS_QUARANTINE_ANSWER == "refuse"
    row = mpps_quarantine(
        operation=operation,
        sop_instance_uid=uid,
        dataset=stored_json(ds),
        reason=f"calling AE {actor.name} is not in the modality registry",
        answered=NOT_AUTHORISED if refuse else SUCCESS,
        actor=actor,
    )
    if refuse:
        raise SenderNotRegistered(row.reason)
    return row


def _refuse_large(event: Event, parameter: str, operation: str, peer: str, uid: str) -> Dataset | None:
    """0x0213 Resource limitation (PS3.7 C.5.x) for a data set over
    RIS_MPPS_MAX_DATASET_BYTES, measured as received, before it is decoded."""
    received = getattr(event.request, parameter, None)
    size = received.getbuffer().nbytes if received is not None else 0
    limit = settings.RIS_MPPS_MAX_DATASET_BYTES
    if size <= limit:
        return None
    log.warning("%s of MPPS %s from %s refused: data set of %d bytes over %d", operation, uid, peer, size, limit)
    metrics.MPPS_RECEIVED.labels(f"0x{RESOURCE_LIMITATION:04X}").inc()
    return _status(RESOURCE_LIMITATION, f"data set of {size} bytes is over the limit of {limit}")


def association_actor(assoc: Any) -> Actor:
    """The peer of an association as the services' actor: its calling AE title and address."""
    requestor = assoc.requestor
    return Actor(door=AuditEvent.Door.DICOM, name=str(requestor.ae_title).strip(), address=str(requestor.address))


def _serve(
    call: Callable[[], PerformedProcedureStep | QuarantinedMpps], operation: str, peer: str, uid: str
) -> Dataset:
    close_old_connections()
    try:
        pps = call()
        outcome = pps.status if isinstance(pps, PerformedProcedureStep) else "QUARANTINED"
        log.info("%s of MPPS %s from %s: %s", operation, uid, peer, outcome)
        metrics.MPPS_RECEIVED.labels(outcome).inc()
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
