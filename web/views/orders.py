"""Order queue (filters, saved filters), manual order entry, keyboard booking."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from ris import selectors
from ris.actors import request_actor
from ris.exceptions import DomainError
from ris.models import SavedFilter, ScheduledProcedureStep
from ris.services.appointments import appointment_book
from ris.services.audit import audit_view
from ris.services.orders import order_place
from web.access import audit_page, requires
from web.forms import BookingForm, OrderEntryForm, OrderQueueFilter, SavedFilterForm


@requires("view_patients")
def order_queue(request):
    form = OrderQueueFilter(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    steps = list(selectors.order_queue(**filters)[:300])
    audit_page(request, (step.requested_procedure.order.patient for step in steps), "order queue")
    context = {
        "form": form,
        "steps": steps,
        "saved": request.user.saved_filters.all(),
        "query": request.GET.urlencode(),
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
    """Book one step with a form: the keyboard's way to do what the calendar's drag does."""
    step = get_object_or_404(selectors.steps_with_context(), pk=pk)
    if request.method == "GET":
        audit_view(actor=request_actor(request), patient=step.requested_procedure.order.patient, obj=step)
    form = BookingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            appointment_book(step=step, actor=request_actor(request), **form.cleaned_data)
        except DomainError as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(request, f"Step {step.sps_id} booked.")
            return redirect("order_queue")
    return render(request, "web/step_book.html", {"form": form, "step": step})
