"""Order queue (filters, saved filters), manual order entry, keyboard booking."""

from django import forms
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
from ris.exceptions import DomainError, DuplicatePatient, InvalidInput
from ris.models import Patient, SavedFilter, ScheduledProcedureStep
from ris.selectors.scheduling import next_free_slot
from ris.services.appointments import appointment_book, appointment_move, appointment_unbook
from ris.services.audit import audit_view
from ris.services.orders import order_place
from ris.services.safety_rules import safety_flags
from ris.services.steps import step_cancel, step_no_show
from ris.states import StepStatus
from web.access import audit_page, requires
from web.forms import NewPatientForm, OrderForm, OrderQueueFilter, PatientLookupForm, SavedFilterForm, form_data
from web.scheduling_forms import ReasonForm, StepBookingForm

QUEUE_PAGE = 50


@requires("view_patients")
def order_queue(request):
    form = OrderQueueFilter(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    page = Paginator(selectors.order_queue(**filters), QUEUE_PAGE).get_page(request.GET.get("page"))
    audit_page(request, (step.requested_procedure.order.patient for step in page), "order queue")
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
    """Identity first: the patient is looked up (MRN, or name and birth date)
    and chosen as they are, or registered as a new patient on purpose; an
    order entered here never changes an existing patient's demographics."""
    chosen = _chosen_patient(request)
    order_form = OrderForm(request.POST or None)
    context: dict = {"order_form": order_form, "chosen": chosen, "candidates": [], "patient_form": None}
    if chosen is not None:
        if request.method == "POST" and order_form.is_valid():
            order = _place(request, chosen, None, order_form)
            if order is not None:
                return _after_entry(request, order)
        return render(request, "web/order_entry.html", context)
    patient_form = NewPatientForm(request.POST or None, initial=_typed(request))
    context["patient_form"] = patient_form
    if request.method == "POST" and order_form.is_valid() and patient_form.is_valid():
        context["candidates"] = selectors.patient_candidates(**patient_form.lookup())
        if not context["candidates"] or patient_form.cleaned_data["confirm_new"]:
            order = _place(request, patient_form.patient_data(), patient_form, order_form)
            if order is not None:
                return _after_entry(request, order)
        else:
            patient_form.add_error(None, _("Is the patient one of these? Choose them, or confirm a new patient."))
    lookup = PatientLookupForm(request.GET or None, prefix="find")
    if not context["candidates"] and lookup.is_valid() and any(lookup.cleaned_data.values()):
        context["candidates"] = list(selectors.patient_search(**lookup.cleaned_data, with_merged=False)[:20])
    context["lookup"] = lookup
    if not context["candidates"]:  # nothing to tell apart: no confirmation asked
        patient_form.fields["confirm_new"].widget = forms.HiddenInput()
    return render(request, "web/order_entry.html", context)


def _chosen_patient(request) -> Patient | None:
    """The existing patient the person chose (a `patient` in the query or the
    post); a merged record's survivor."""
    pk = request.POST.get("patient") or request.GET.get("patient")
    if not pk or not str(pk).isdigit():
        return None
    patient, seen = get_object_or_404(Patient, pk=pk), set()
    while patient.merged_into is not None and patient.pk not in seen:  # a merged record stands for its survivor
        seen.add(patient.pk)
        patient = patient.merged_into
    return patient


def _typed(request) -> dict:
    """What the person looked up, carried into the new-patient fields."""
    words = request.GET.get("find-name", "").replace(",", " ").split()
    return {
        "patient_id": request.GET.get("find-mrn", ""),
        "family_name": words[0] if words else "",
        "given_name": " ".join(words[1:]),
        "birth_date": request.GET.get("find-birth_date", ""),
    }


def _place(request, patient, patient_form, order_form):
    """The order for a chosen Patient, or for a new patient registered with it."""
    try:
        order = order_place(
            patient=patient,
            order=order_form.order_data(),
            actor=request_actor(request),
            register=not isinstance(patient, Patient),
        )
    except DuplicatePatient as taken:
        patient_form.add_error(
            "patient_id", _("%(refusal)s: choose that patient, or correct the ID.") % {"refusal": taken}
        )
        return None
    except DomainError as refusal:
        order_form.add_error(None, str(refusal))
        return None
    shown = {"accession": order.accession_number, "patient": order.patient.person_name.display()}
    messages.success(request, _("Order %(accession)s placed for %(patient)s.") % shown)
    return order


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
    if request.method == "GET":
        audit_view(actor=request_actor(request), patient=step.requested_procedure.order.patient, obj=step)
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
                    safety_override=data["safety_override"],
                )
        except DomainError as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(request, _("Step %(sps)s booked.") % {"sps": step.sps_id})
            return redirect("order_queue")
    order = step.requested_procedure.order
    context = {
        "form": form,
        "step": step,
        "booked": booked,
        "reason_form": ReasonForm(),
        "order": order,
        "flags": safety_flags(order),
    }
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
