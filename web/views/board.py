"""The technologists' status board: today's exams per room, refreshed by htmx polling.

Every control keeps a stable id, so htmx puts the keyboard focus back on it
after each refresh; a refused change answers with its status and reason,
shown outside the refreshed rows until the next change. A check-in keeps the
exam on the modality's worklist; only the modality (MPPS) starts it, or a
person recording, with a reason, that it was started outside the modality.
"""

from itertools import groupby

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from ris import selectors
from ris.actors import request_actor
from ris.exceptions import DomainError
from ris.models import Procedure, ScheduledProcedureStep
from ris.selectors.turnaround import exam_late, overdue_reports
from ris.services.safety_rules import flags_for_orders
from ris.services.steps import step_set_status, step_start_outside_modality
from ris.states import STEP_MACHINE, StepStatus
from web.access import audit_page, requires
from web.errors import refusal_for
from web.forms import StepStatusForm, form_data
from web.scheduling_forms import ReasonForm

# Moves the status list offers; starting is the modality's, cancelling the scheduler's (with a reason).
NOT_BY_HAND = {StepStatus.STARTED, StepStatus.CANCELED}


@requires("view_status_board")
def board_page(request):
    context = board_context(request)
    _audit(request, context)
    return render(request, "web/board.html", context)


@requires("view_status_board")
def board_rows(request):
    """The part of the board htmx fetches every few seconds. Its periodic
    refresh is the page already recorded; fetched on its own, it is a read."""
    context = board_context(request)
    if not getattr(request, "htmx", False):
        _audit(request, context)
    return render(request, "web/_board_rows.html", context)


def _audit(request, context: dict) -> None:
    steps = (step for _room, rows in context["rooms"] for step in rows)
    audit_page(request, (step.requested_procedure.order.patient for step in steps), "status board")


@require_POST
@requires("change_step_status")
def board_step_status(request: HttpRequest, pk: int) -> HttpResponse:
    step = _step(pk)
    return _change(request, lambda actor: step_set_status(step=step, status=_status(request), actor=actor))


@require_POST
@requires("change_step_status")
def board_step_started(request: HttpRequest, pk: int) -> HttpResponse:
    """The exam was started where no MPPS will tell: it leaves the worklist, with the reason."""
    step = _step(pk)

    def start(actor):
        reason = form_data(ReasonForm(request.POST))["reason"]
        override = request.POST.get("safety_override", "")
        return step_start_outside_modality(step=step, reason=reason, actor=actor, safety_override=override)

    return _change(request, start)


def _step(pk: int) -> ScheduledProcedureStep:
    return get_object_or_404(ScheduledProcedureStep.objects.select_related("requested_procedure__order"), pk=pk)


def _status(request: HttpRequest) -> str:
    return form_data(StepStatusForm(request.POST))["status"]


def _change(request: HttpRequest, change) -> HttpResponse:
    try:
        change(request_actor(request))
    except DomainError as exc:
        refusal = refusal_for(exc)
        context = {**board_context(request), "error": refusal.detail}
        return render(request, "web/_board_rows.html", context, status=refusal.status)
    return render(request, "web/_board_rows.html", {**board_context(request), "changed": True})


def board_context(request) -> dict:
    day, now = timezone.localdate(), timezone.now()
    steps = sorted(selectors.board_steps(day), key=lambda s: (not s.location, s.location, s.start))
    preparation = _preparation(steps)
    unread = set(
        overdue_reports(now).filter(pk__in={s.requested_procedure_id for s in steps}).values_list("pk", flat=True)
    )
    flags = flags_for_orders({s.requested_procedure.order_id for s in steps})
    for step in steps:  # shown by the template only
        step.safety_flags = flags.get(step.requested_procedure.order_id, [])  # type: ignore[attr-defined]
        step.report_overdue = step.requested_procedure_id in unread  # type: ignore[attr-defined]
        step.next_statuses = sorted(STEP_MACHINE.transitions.get(step.status, set()) - NOT_BY_HAND)  # type: ignore[attr-defined]
        step.late = exam_late(step, now)  # type: ignore[attr-defined]
        step.preparation = preparation.get(step.requested_procedure.code_value, "")  # type: ignore[attr-defined]
    rooms = [(room or "not booked in a room", list(rows)) for room, rows in groupby(steps, key=lambda s: s.location)]
    return {
        "day": day,
        "rooms": rooms,
        "can_change": request.user.has_perm("ris.change_step_status"),
        "can_screen": request.user.has_perm("ris.record_screening"),
        "can_override": request.user.has_perm("ris.override_safety"),
    }


def _preparation(steps: list[ScheduledProcedureStep]) -> dict[str, str]:
    """The catalogue's preparation instructions by procedure code, in one query."""
    codes = {s.requested_procedure.code_value for s in steps if s.requested_procedure.code_value}
    rows = Procedure.objects.filter(code__in=codes).exclude(preparation_instructions="")
    return dict(rows.values_list("code", "preparation_instructions"))
