"""MPPS forwarded to downstream AEs (a PACS), through the outbox.

The builder keeps the operation and the dataset as received (DICOM JSON);
the sender replays it as an MPPS SCU. Delivery per destination is in order,
so an N-SET never overtakes its N-CREATE.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from pydicom.dataset import Dataset
from pynetdicom import AE
from pynetdicom.association import Association

# pynetdicom defines its SOP classes at import time, out of its UID tables
from pynetdicom.sop_class import ModalityPerformedProcedureStep  # type: ignore[attr-defined]

from ris.models import Destination, OutboundMessage
from ris.outbox import Built, SendResult

N_CREATE, N_SET = "N-CREATE", "N-SET"
SUCCESS, DUPLICATE_INSTANCE = 0x0000, 0x0111


def build_mpps_forward(destination: Destination, context: dict[str, Any]) -> Built:
    payload = json.dumps({key: context[key] for key in ("operation", "sop_instance_uid", "dataset")})
    return Built(payload=payload, control_id=context["sop_instance_uid"], content_type="application/dicom+json")


def send_mpps(destination: Destination, message: OutboundMessage) -> SendResult:
    request = json.loads(message.payload)
    assoc = _associate(destination)
    if not assoc.is_established:
        return SendResult(
            False,
            error=f"{destination.ae_title}@{destination.host}:{destination.port}: association rejected or not answered",
        )
    try:
        status = _send(assoc, request)
    finally:
        assoc.release()
    return _result(request["operation"], status)


def _associate(destination: Destination) -> Association:
    ae = AE(ae_title=settings.RIS_DICOM_AE_TITLE)
    ae.add_requested_context(ModalityPerformedProcedureStep)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = destination.timeout_seconds
    return ae.associate(destination.host, destination.port or 0, ae_title=destination.ae_title or "ANY-SCP")


def _send(assoc: Association, request: dict[str, Any]) -> Dataset | None:
    dataset = Dataset.from_json(request["dataset"])
    uid = request["sop_instance_uid"]
    if request["operation"] == N_CREATE:
        status: Dataset | None = assoc.send_n_create(dataset, ModalityPerformedProcedureStep, uid)[0]
    else:
        status = assoc.send_n_set(dataset, ModalityPerformedProcedureStep, uid)[0]
    return status


def _result(operation: str, status: Dataset | None) -> SendResult:
    code = status.get("Status") if status is not None else None
    if status is None or code is None:
        return SendResult(False, error=f"{operation}: no response")
    text = f"{operation} 0x{code:04X} {status.get('ErrorComment', '')}".strip()
    # A resent N-CREATE the peer already has (0x0111) was delivered before.
    if code == SUCCESS or (operation == N_CREATE and code == DUPLICATE_INSTANCE):
        return SendResult(True, response=text)
    return SendResult(False, response=text, error=text)
