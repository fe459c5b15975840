"""Worklist steps for tests, placed through the order service."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

from ris.models import ScheduledProcedureStep
from ris.records import OrderData, PatientData, ProcedureData, StepData
from ris.services.orders import order_place
from ris.services.steps import step_set_status, step_start_outside_modality
from tests.factories import TEST_ACTOR

_numbers = itertools.count(1)


def at(day: str, time: str = "0900", zone: str = "UTC") -> dt.datetime:
    """20261126, 1430 in `zone` as an aware datetime."""
    return dt.datetime.strptime(day + time, "%Y%m%d%H%M").replace(tzinfo=ZoneInfo(zone))


def schedule(
    *,
    patient_id: str = "",
    name: str = "DOE^JOHN",
    ideographic: str | None = None,
    phonetic: str | None = None,
    accession: str = "",
    referring: str = "",
    rp_id: str = "",
    study_uid: str = "",
    status: str = "",
    modality: str = "CT",
    station: str = "CT01",
    station_name: str = "",
    location: str = "",
    start: dt.datetime | None = None,
    sps_id: str = "",
    performing: str = "",
    issuer: str = "",
    code: tuple[str, str, str] = ("", "", ""),
) -> ScheduledProcedureStep:
    """Place one order with one procedure and one step; move it to `status`."""
    n = next(_numbers)
    step = StepData(
        sps_id=sps_id,
        modality=modality,
        station_ae_title=station,
        station_name=station_name,
        location=location,
        start=start or at("20261126"),
        performing_physician=performing,
    )
    procedure = ProcedureData(
        requested_procedure_id=rp_id,
        study_instance_uid=study_uid,
        steps=[step],
        code_value=code[0],
        code_scheme=code[1],
        code_meaning=code[2],
    )
    order = order_place(
        actor=TEST_ACTOR,
        patient=PatientData(
            patient_id=patient_id or f"PAT{n}",
            issuer=issuer,
            name=name,
            name_ideographic=ideographic,
            name_phonetic=phonetic,
        ),
        order=OrderData(
            placer_number=f"PL{n}", accession_number=accession, referring_physician=referring, procedures=[procedure]
        ),
    )
    row = ScheduledProcedureStep.objects.get(requested_procedure__order=order)
    for move in _path_to(status):
        if move == "STARTED":  # only a modality, or a person with a reason, starts an exam
            row = step_start_outside_modality(actor=TEST_ACTOR, step=row, reason="test")
        else:
            row = step_set_status(actor=TEST_ACTOR, step=row, status=move)
    return row


def _path_to(status: str) -> list[str]:
    return {
        "": [],
        "SCHEDULED": [],
        "ARRIVED": ["ARRIVED"],
        "READY": ["READY"],
        "STARTED": ["STARTED"],
        "COMPLETED": ["STARTED", "COMPLETED"],
        "DISCONTINUED": ["DISCONTINUED"],
        "CANCELED": ["CANCELED"],
    }[status]
