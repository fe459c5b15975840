"""The technologists' status board: today's exams per room, refreshed by htmx polling."""

from itertools import groupby

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from ris import selectors
from ris.actors import request_actor
from ris.exceptions import DomainError
from ris.models import ScheduledProcedureStep
from ris.services.steps import step_set_status
from ris.states import STEP_MACHINE
from web.access import audit_page, requires
from web.errors import refusal_for
from web.forms import StepStatusForm, form_data


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
    step = get_object_or_404(ScheduledProcedureStep.objects.select_related("requested_procedure__order"), pk=pk)
    try:
        status = form_data(StepStatusForm(request.POST))["status"]
        step_set_status(step=step, status=status, actor=request_actor(request))
    except DomainError as exc:
        refusal = refusal_for(exc)
        context = {**board_context(request), "error": refusal.detail}
        return render(request, "web/_board_rows.html", context, status=refusal.status)
    return render(request, "web/_board_rows.html", board_context(request))


def board_context(request) -> dict:
    day = timezone.localdate()
    steps = sorted(selectors.board_steps(day), key=lambda s: (not s.location, s.location, s.start))
    for step in steps:
        # shown by the template only: the moves the state machine allows from here
        step.next_statuses = sorted(STEP_MACHINE.transitions.get(step.status, ()))  # type: ignore[attr-defined]
    rooms = [(room or "not booked in a room", list(rows)) for room, rows in groupby(steps, key=lambda s: s.location)]
    return {"day": day, "rooms": rooms, "can_change": request.user.has_perm("ris.change_step_status")}
