"""Order queue (filters, saved filters), manual order entry, keyboard booking."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from ris import selectors
from ris.actors import request_actor
from ris.exceptions import DomainError, InvalidInput
from ris.models import SavedFilter, ScheduledProcedureStep
from ris.selectors.scheduling import next_free_slot
from ris.services.appointments import appointment_book, appointment_move, appointment_unbook
from ris.services.orders import order_place
from ris.services.steps import step_cancel, step_no_show
from ris.states import StepStatus
from web.access import requires
from web.forms import OrderEntryForm, OrderQueueFilter, SavedFilterForm, form_data
from web.scheduling_forms import ReasonForm, StepBookingForm

QUEUE_PAGE = 50


@requires("view_patients")
def order_queue(request):
    form = OrderQueueFilter(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    page = Paginator(selectors.order_queue(**filters), QUEUE_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "steps": page,
        "page": page,
        "saved": request.user.saved_filters.all(),
        "query": query.urlencode(),
    }
    return render(request, "web/order_queue.html", context)


@require_POST
@requires("view_patients")
def saved_filter_save(request):
    form = SavedFilterForm(request.POST)
    if form.is_valid():
        SavedFilter.objects.update_or_create(
            user=request.user, name=form.cleaned_data["name"], defaults={"query": form.cleaned_data["query"]}
        )
    return redirect(f"{reverse('order_queue')}?{form.data.get('query', '')}")


@require_POST
@requires("view_patients")
def saved_filter_delete(request, pk: int):
    get_object_or_404(SavedFilter, pk=pk, user=request.user).delete()
    return redirect("order_queue")


@requires("enter_orders")
def order_entry(request):
    form = OrderEntryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            order = order_place(patient=form.patient_data(), order=form.order_data(), actor=request_actor(request))
        except DomainError as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(request, f"Order {order.accession_number} placed.")
            return _after_entry(request, order)
    return render(request, "web/order_entry.html", {"form": form})


def _after_entry(request, order):
    """A walk-in is booked next, by those who may book."""
    if not request.user.has_perm("ris.book_appointments"):
        return redirect("order_queue")
    step = ScheduledProcedureStep.objects.filter(requested_procedure__order=order).order_by("pk").first()
    return redirect("step_book", pk=step.pk) if step is not None else redirect("order_queue")


@requires("book_appointments")
def step_book(request, pk: int):
    """One step's scheduling page: book it (the keyboard's way to do what the
    calendar's drag does), a walk-in now, reschedule, unbook, no-show or cancel."""
    step = get_object_or_404(selectors.steps_with_context(), pk=pk)
    booked = getattr(step, "appointment", None)
    form = StepBookingForm(request.POST or None, initial=_suggested(step, booked), walk_in="now" in request.POST)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        start = timezone.now().replace(second=0, microsecond=0) if "now" in request.POST else data["start"]
        try:
            if booked is not None:
                appointment_move(
                    appointment=booked,
                    room=data["room"],
                    start=start,
                    reason=data["reason"],
                    actor=request_actor(request),
                )
            else:
                appointment_book(
                    step=step,
                    room=data["room"],
                    start=start,
                    duration_minutes=data["duration_minutes"],
                    actor=request_actor(request),
                )
        except DomainError as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(request, _("Step %(sps)s booked.") % {"sps": step.sps_id})
            return redirect("order_queue")
    context = {"form": form, "step": step, "booked": booked, "reason_form": ReasonForm()}
    return render(request, "web/step_book.html", context, status=400 if form.errors else 200)


def _suggested(step, booked) -> dict:
    """The form's first values: the booking as it stands, else the next free slot."""
    if booked is not None:
        return {"room": booked.room, "start": timezone.localtime(booked.start).replace(tzinfo=None)}
    slot = next_free_slot(step) if step.status in StepStatus.OPEN else None
    return {"room": slot.room, "start": timezone.localtime(slot.start).replace(tzinfo=None)} if slot else {}


_LIFECYCLE = {
    "cancel": (
        gettext_lazy("cancelled"),
        lambda step, reason, actor: step_cancel(step=step, reason=reason, actor=actor),
    ),
    "no-show": (
        gettext_lazy("recorded as a no-show"),
        lambda step, reason, actor: step_no_show(step=step, reason=reason, actor=actor),
    ),
    "unbook": (
        gettext_lazy("unbooked"),
        lambda step, reason, actor: appointment_unbook(appointment=step.appointment, reason=reason, actor=actor),
    ),
}


@require_POST
@requires("book_appointments")
def step_lifecycle(request, pk: int, action: str):
    """Cancel, unbook or record a no-show, each with its reason."""
    step = get_object_or_404(selectors.steps_with_context(), pk=pk)
    done, change = _LIFECYCLE[action]
    try:
        if action == "unbook" and getattr(step, "appointment", None) is None:
            raise InvalidInput(f"SPS {step.sps_id} is not booked", field="step")
        change(step, form_data(ReasonForm(request.POST))["reason"], request_actor(request))
    except DomainError as refusal:
        messages.error(request, _("Not done: %(reason)s") % {"reason": refusal})
        return redirect("step_book", pk=pk)
    messages.success(request, _("Step %(sps)s %(done)s.") % {"sps": step.sps_id, "done": done})
    return redirect("calendar")
