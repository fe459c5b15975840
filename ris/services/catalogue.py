"""The procedure catalogue as a source of orders entered by hand (web form, API)."""

from typing import Any

from ris.models import Procedure
from ris.records import OrderData, ProcedureData, StepData

CATALOGUE_SCHEME = "RIS"  # coding scheme of our own catalogue codes in (0008,0102)


def order_data_for(procedure: Procedure, **order_fields: Any) -> OrderData:
    """An order of one catalogue procedure with one step of its modality and duration."""
    step = StepData(
        modality=procedure.modality,
        description=procedure.name[:64],
        expected_duration_minutes=procedure.default_duration_minutes,
    )
    requested = ProcedureData(
        code_value=procedure.code,
        code_scheme=CATALOGUE_SCHEME,
        code_meaning=procedure.name[:64],
        description=procedure.name[:64],
        steps=[step],
    )
    return OrderData(procedures=[requested], **order_fields)
