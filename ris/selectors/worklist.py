"""The worklist as plain rows: one query, the columns a worklist answer needs.

Values, not model instances: a modality's C-FIND returns tens of rows and
building four model objects per row cost more than the query itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import Q, QuerySet

from ris.models import ScheduledProcedureStep
from ris.states import VettingStatus

PROCEDURE = "requested_procedure__"
ORDER = f"{PROCEDURE}order__"
PATIENT = f"{ORDER}patient__"

STEP_COLUMNS = (
    "pk",
    "sps_id",
    "modality",
    "station_ae_title",
    "station_name",
    "location",
    "start",
    "performing_physician",
    "description",
    "protocol_code_value",
    "protocol_code_scheme",
    "protocol_code_meaning",
    "status",
)
PROCEDURE_COLUMNS = tuple(
    PROCEDURE + c
    for c in (
        "requested_procedure_id",
        "description",
        "code_value",
        "code_scheme",
        "code_meaning",
        "study_instance_uid",
    )
)
ORDER_COLUMNS = tuple(
    ORDER + c
    for c in (
        "accession_number",
        "referring_physician",
        "ordering_physician",
        "reason",
        "placer_number",
        "filler_number",
        "admission_id",
        "priority",
    )
)
PATIENT_COLUMNS = tuple(
    PATIENT + c
    for c in (
        "patient_id",
        "issuer",
        "name",
        "name_ideographic",
        "name_phonetic",
        "birth_date",
        "sex",
    )
)
COLUMNS = STEP_COLUMNS + PROCEDURE_COLUMNS + ORDER_COLUMNS + PATIENT_COLUMNS


def offered_to_modalities() -> Q:
    """Steps a modality may be given, whichever door asks (DIMSE or DICOMweb):
    never those of an order waiting for vetting or returned for information."""
    return ~Q(**{f"{ORDER}vetting_status__in": VettingStatus.UNVETTED})


def worklist_steps(condition: Q) -> QuerySet[ScheduledProcedureStep]:
    """Matching steps in start order; read their COLUMNS in one round trip
    (the DICOM door prepares the statement: infra.db.prepared_rows)."""
    return ScheduledProcedureStep.objects.filter(condition).order_by("start", "pk")


def worklist_rows(condition: Q) -> Iterator[dict[str, Any]]:
    """Matching steps in start order, each a dict keyed by COLUMNS.

    One round trip: not `.iterator()`, which on PostgreSQL opens a server-side
    cursor (DECLARE, FETCH, CLOSE: three more round trips for tens of rows)."""
    return iter(worklist_steps(condition).values(*COLUMNS))
