"""Manual status changes of a scheduled procedure step (check-in, ready, ...),
for modalities that send no MPPS. Every change goes through STEP_MACHINE."""
from django.db import transaction

from ris.models import ScheduledProcedureStep
from ris.states import STEP_MACHINE, StepStatus


@transaction.atomic
def step_status_set(*, step: ScheduledProcedureStep, status: str) -> ScheduledProcedureStep:
    """Move the step to `status`, or raise IllegalTransition."""
    step = ScheduledProcedureStep.objects.select_for_update().get(pk=step.pk)
    STEP_MACHINE.check(step.status, status)
    step.status = status
    step.save(update_fields=["status"])
    return step


def step_check_in(*, step: ScheduledProcedureStep) -> ScheduledProcedureStep:
    """The patient has arrived at the department."""
    return step_status_set(step=step, status=StepStatus.ARRIVED)


def step_mark_ready(*, step: ScheduledProcedureStep) -> ScheduledProcedureStep:
    """The patient is prepared and waiting at the modality."""
    return step_status_set(step=step, status=StepStatus.READY)
