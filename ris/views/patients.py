from django.shortcuts import get_object_or_404, render

from ris import selectors
from ris.forms import PatientSearchForm
from ris.models import Patient
from ris.views.access import audit_page, requires


@requires("view_patients")
def patient_search(request):
    form = PatientSearchForm(request.GET or None)
    found = selectors.patient_search(**form.cleaned_data) if form.is_valid() and any(form.cleaned_data.values()) else []
    return render(request, "ris/patient_search.html", {"form": form, "patients": found})


@requires("view_patients")
def patient_page(request, pk: int):
    patient = get_object_or_404(Patient, pk=pk)
    audit_page(request, action="VIEW", patient=patient, obj=patient)
    context = {
        "patient": patient,
        "orders": selectors.patient_orders(patient),
        "messages_in": selectors.patient_messages(patient)[:50],
    }
    return render(request, "ris/patient.html", context)
