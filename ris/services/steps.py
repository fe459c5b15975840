"""Scheduled procedure steps: status changes through the state machine."""
from django.db import transaction

from ris.models import ScheduledProcedureStep
from ris.states import STEP_MACHINE


@transaction.atomic
def procedure_step_move(*, step_id: int, status: str) -> ScheduledProcedureStep:
    """Move a step to `status`; IllegalTransition when the machine forbids it."""
    step = ScheduledProcedureStep.objects.select_for_update().get(pk=step_id)
    STEP_MACHINE.check(step.status, status)
    step.status = status
    step.save(update_fields=["status"])
    return step
