"""MPPS-RS (PS3.18 ch. 15): create, update and retrieve a Modality Performed
Procedure Step over HTTP, through the same decoding (`worklist.mpps_decode`),
services (`ris.services.mpps`) and state machine as the DIMSE N-CREATE and
N-SET, so that a step started here is started for the DIMSE worklist too,
and the other way round.

A refusal is first the DIMSE status the SCP would answer
(`worklist.mpps.failure_status`, the one map from the domain), then HTTP by
`HTTP_STATUS` below, with the reason in a Warning header and the body.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError
from pydicom.dataset import Dataset

from ris.models import Patient, PerformedProcedureStep
from ris.records import Actor
from ris.services.mpps import mpps_create, mpps_update
from ris.uids import new_uid
from worklist import metrics, mpps
from worklist.dicomweb.json import InvalidDicomJson, datasets_from_body
from worklist.dicomweb.mwl import warning
from worklist.mpps_decode import decode_change, decode_create

# DIMSE status (PS3.4 F.7.2, PS3.7 C) -> HTTP status (PS3.18 15)
HTTP_STATUS = {
    mpps.INVALID_ATTRIBUTE_VALUE: 400,
    mpps.MISSING_ATTRIBUTE: 400,
    mpps.MISSING_ATTRIBUTE_VALUE: 400,
    mpps.DUPLICATE_INSTANCE: 409,
    mpps.NO_SUCH_INSTANCE: 404,
    mpps.NOT_AUTHORISED: 403,
    mpps.PROCESSING_FAILURE: 409,  # a final instance, a move the state machine refuses
    mpps.RESOURCE_LIMITATION: 413,
}
SOP_INSTANCE_UID = "00080018"
STATUS_TAG = "00400252"


@dataclass
class MppsAnswer:
    status: int
    body: dict[str, Any] | None = None
    warnings: tuple[str, ...] = ()
    uid: str = ""
    headers: dict[str, str] = field(default_factory=dict)


def mpps_rs_create(body: bytes, *, actor: Actor) -> MppsAnswer:
    """POST: a new instance, IN PROGRESS; its UID from (0008,0018) in the body, or assigned."""
    try:
        ds = _one_dataset(body)
        uid = str(ds.get("SOPInstanceUID", "") or "") or new_uid()
        if "SOPInstanceUID" in ds:
            del ds.SOPInstanceUID  # not an MPPS attribute: it names the instance
        # the sender of an MPPS-RS instance is the station it names (there is no calling AE)
        pps = mpps_create(data=decode_create(ds, uid, str(ds.get("PerformedStationAETitle", ""))), actor=actor)
    except Exception as exc:
        return _refused(exc)
    metrics.MPPS_RECEIVED.labels(pps.status).inc()
    return MppsAnswer(201, _json(pps), uid=pps.sop_instance_uid)


def mpps_rs_update(uid: str, body: bytes, *, actor: Actor) -> MppsAnswer:
    """POST or PUT to the instance: the N-SET's modification list, while IN PROGRESS."""
    try:
        ds = _one_dataset(body)
        pps = mpps_update(sop_instance_uid=uid, change=decode_change(ds), actor=actor)
    except Exception as exc:
        return _refused(exc)
    metrics.MPPS_RECEIVED.labels(pps.status).inc()
    return MppsAnswer(200, _json(pps), uid=uid)


def mpps_rs_retrieve(uid: str) -> PerformedProcedureStep | None:
    return PerformedProcedureStep.objects.filter(sop_instance_uid=uid).first()


def performed_patient(pps: PerformedProcedureStep) -> Patient | None:
    """The patient of the steps the instance performed (none when unscheduled)."""
    step = pps.steps.select_related("requested_procedure__order__patient").first()
    return step.requested_procedure.order.patient if step is not None else None


def mpps_json(pps: PerformedProcedureStep) -> dict[str, Any]:
    return _json(pps)


def _json(pps: PerformedProcedureStep) -> dict[str, Any]:
    """The instance as kept (DICOM JSON), with its UID and current status."""
    body = dict(pps.dataset)
    body[SOP_INSTANCE_UID] = {"vr": "UI", "Value": [pps.sop_instance_uid]}
    body[STATUS_TAG] = {"vr": "CS", "Value": [pps.status]}
    return dict(sorted(body.items()))


def _one_dataset(body: bytes) -> Dataset:
    datasets = datasets_from_body(body)
    if len(datasets) != 1:
        raise InvalidDicomJson("the body must hold exactly one dataset")
    return datasets[0]


def _refused(exc: Exception) -> MppsAnswer:
    if isinstance(exc, InvalidDicomJson):
        return MppsAnswer(400, {"detail": str(exc)}, (warning(str(exc)),))
    if isinstance(exc, DatabaseError):
        return MppsAnswer(503, {"detail": "database unavailable"})
    dimse = mpps.failure_status(exc)
    reason = str(exc) or str(dimse.get("ErrorComment", ""))
    metrics.MPPS_RECEIVED.labels(f"0x{dimse.Status:04X}").inc()
    body: dict[str, Any] = {"detail": reason, "dimseStatus": f"{dimse.Status:04X}"}
    if "AttributeIdentifierList" in dimse:
        tags = dimse.AttributeIdentifierList
        body["attributes"] = [f"{int(tag):08X}" for tag in ([tags] if isinstance(tags, int) else tags)]
    return MppsAnswer(HTTP_STATUS.get(dimse.Status, 409), body, (warning(reason),))
