from django.shortcuts import get_object_or_404, render

from hl7 import selectors as hl7_selectors
from ris import selectors
from ris.actors import request_actor
from ris.models import Patient
from ris.services.audit import patient_view
from web.access import audit_page, requires
from web.forms import PatientSearchForm


@requires("view_patients")
def patient_search(request):
    form = PatientSearchForm(request.GET or None)
    found = selectors.patient_search(**form.cleaned_data) if form.is_valid() and any(form.cleaned_data.values()) else []
    if form.is_bound:
        found = list(found)
        audit_page(request, found, "patient search")
    return render(request, "web/patient_search.html", {"form": form, "patients": found})


@requires("view_patients")
def patient_page(request, pk: int):
    patient = patient_view(actor=request_actor(request), patient=get_object_or_404(Patient, pk=pk))
    context = {
        "patient": patient,
        "orders": selectors.patient_orders(patient),
        "messages_in": hl7_selectors.patient_messages(patient)[:50],
    }
    return render(request, "web/patient.html", context)
