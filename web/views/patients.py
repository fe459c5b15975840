"""Patients: search, the patient page (orders, exams, reports, messages),
explicit edits and merges, each through one service."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from hl7 import selectors as hl7_selectors
from ris import selectors
from ris.actors import request_actor
from ris.exceptions import DomainError
from ris.models import Patient, PatientMerge
from ris.services.audit import patient_view
from ris.services.patients import patient_edit, patient_merge_records, patient_unmerge
from web.access import audit_page, requires
from web.forms import PatientEditForm, PatientMergeForm, PatientSearchForm, PatientUnmergeForm


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
        "reports": selectors.patient_reports(patient),
        "merged": selectors.merged_patients(patient),
        "merges": selectors.patient_merges(patient),
        "messages_in": hl7_selectors.patient_messages(patient)[:50],
    }
    return render(request, "web/patient.html", context)


@requires("enter_orders")
def patient_edit_page(request, pk: int):
    """Correct a patient's demographics: explicit, validated, audited; an
    EHR-owned patient is flagged and needs a reason."""
    patient = get_object_or_404(Patient, pk=pk)
    form = PatientEditForm(request.POST or None, initial=PatientEditForm.initial_from(patient))
    if request.method == "POST" and form.is_valid():
        data = form.patient_data()
        try:
            patient_edit(patient=patient, data=data, reason=form.cleaned_data["reason"], actor=request_actor(request))
        except DomainError as refusal:
            form.add_error(getattr(refusal, "field", "") or None, str(refusal))
        else:
            messages.success(request, _("Patient details saved."))
            return redirect("patient", pk=patient.pk)
    return render(request, "web/patient_edit.html", {"patient": patient, "form": form})


@requires("enter_orders")
def patient_merge_page(request, pk: int):
    """Merge two records of one person: choose the other record and which one
    survives, confirm, and the merge runs as an HL7 A40 would."""
    patient = get_object_or_404(Patient, pk=pk, merged_into__isnull=True)
    form = PatientMergeForm(request.POST or request.GET or None, patient=patient)
    pair = form.pair() if form.is_bound and form.is_valid() else None
    if request.method == "POST" and pair and form.cleaned_data["confirm"]:
        surviving, merged = pair
        try:
            survivor = patient_merge_records(surviving=surviving, merged=merged, actor=request_actor(request))
        except DomainError as refusal:
            form.add_error(None, str(refusal))
        else:
            shown = {"merged": merged.patient_id, "survivor": survivor.patient_id}
            messages.success(request, _("%(merged)s merged into %(survivor)s.") % shown)
            return redirect("patient", pk=survivor.pk)
    return render(request, "web/patient_merge.html", {"patient": patient, "form": form, "pair": pair})


@requires("enter_orders")
def patient_unmerge_page(request, pk: int, merge_pk: int):
    """Undo a merge into this patient: the merged record is a patient of its
    own again, with the orders the merge moved; audited with the reason, and
    told to the destinations that take patient events."""
    merge = get_object_or_404(PatientMerge.objects.select_related("survivor", "merged"), pk=merge_pk, survivor_id=pk)
    form = PatientUnmergeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            restored = patient_unmerge(merge=merge, reason=form.cleaned_data["reason"], actor=request_actor(request))
        except DomainError as refusal:
            form.add_error(getattr(refusal, "field", "") or None, str(refusal))
        else:
            shown = {"restored": restored.patient_id, "survivor": merge.survivor.patient_id}
            messages.success(request, _("%(restored)s is separate from %(survivor)s again.") % shown)
            return redirect("patient", pk=restored.pk)
    orders = merge.survivor.orders.filter(pk__in=merge.order_ids)
    return render(request, "web/patient_unmerge.html", {"merge": merge, "form": form, "orders": orders})
