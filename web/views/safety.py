"""The two gates before an exam: the radiologist's vetting queue (accept with
a protocol, reject with a reason, return for information) and the safety
screening form of an order's exams."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ris.actors import request_actor
from ris.exceptions import DomainError, InvalidInput
from ris.models import ImagingOrder, ProtocolCode, SafetyAlert
from ris.selectors.vetting import orders_to_vet, protocols_for
from ris.services.audit import audit_view
from ris.services.safety import safety_alert_acknowledge, safety_record
from ris.services.safety_rules import current_screening, flags_for_orders, safety_flags, screening_history
from ris.services.vetting import order_vet_accept, order_vet_reject, order_vet_return
from web.access import audit_page, requires
from web.safety_forms import ScreeningForm


@requires("vet_orders")
def vetting_queue(request: HttpRequest) -> HttpResponse:
    """Orders waiting for vetting, oldest first, each procedure with its protocols."""
    orders = list(orders_to_vet()[:200])
    flags = flags_for_orders({order.pk for order in orders})
    for order in orders:  # shown by the template only
        order.safety_flags = flags[order.pk]  # type: ignore[attr-defined]
        order.procedure_rows = [(p, protocols_for(p)) for p in order.procedures.all()]  # type: ignore[attr-defined]
    audit_page(request, (order.patient for order in orders), "vetting queue")
    return render(request, "web/vetting_queue.html", {"orders": orders})


@require_POST
@requires("vet_orders")
def vetting_decide(request: HttpRequest, pk: int) -> HttpResponse:
    order = get_object_or_404(ImagingOrder, pk=pk)
    action = request.POST.get("action", "")
    reason = request.POST.get("reason", "")
    actor = request_actor(request)
    try:
        if action == "accept":
            order_vet_accept(order=order, actor=actor, protocols=_protocols(request, order))
            done = _("accepted")
        elif action == "reject":
            order_vet_reject(order=order, reason=reason, actor=actor)
            done = _("rejected; the EHR is told")
        elif action == "return":
            order_vet_return(order=order, reason=reason, actor=actor)
            done = _("returned for more information")
        else:
            raise InvalidInput("choose accept, reject or return", field="action")
    except DomainError as refusal:
        messages.error(
            request,
            _("Order %(accession)s not vetted: %(reason)s") % {"accession": order.accession_number, "reason": refusal},
        )
        return redirect("vetting_queue")
    messages.success(request, _("Order %(accession)s %(done)s.") % {"accession": order.accession_number, "done": done})
    return redirect("vetting_queue")


def _protocols(request: HttpRequest, order: ImagingOrder) -> dict[int, ProtocolCode | None]:
    chosen: dict[int, ProtocolCode | None] = {}
    for procedure in order.procedures.all():
        value = request.POST.get(f"protocol-{procedure.pk}", "")
        if value:
            protocol = ProtocolCode.objects.select_related("procedure").filter(pk=value).first()
            if protocol is None:
                raise InvalidInput("unknown protocol", field="protocol")
            chosen[procedure.pk] = protocol
    return chosen


@requires("view_patients")
def screening(request: HttpRequest, pk: int) -> HttpResponse:
    """An order's safety screening: the current values, the flags they raise,
    the history; recording new values needs `record_screening`."""
    order = get_object_or_404(ImagingOrder.objects.select_related("patient"), pk=pk)
    may_record = request.user.has_perm("ris.record_screening")
    form = ScreeningForm(request.POST or None, initial=ScreeningForm.initial_from(current_screening(order)))
    if request.method == "POST":
        if not may_record:
            raise PermissionDenied("Your role does not allow this (record_screening).")
        if form.is_valid():
            try:
                recorded = safety_record(order=order, values=form.values(), actor=request_actor(request))
            except DomainError as refusal:
                form.add_error(None, str(refusal))
            else:
                messages.success(request, _("%(count)s screening value(s) recorded.") % {"count": len(recorded)})
                return redirect("screening", pk=order.pk)
    else:
        audit_view(actor=request_actor(request), patient=order.patient, obj=order)
    context = {
        "order": order,
        "form": form,
        "may_record": may_record,
        "flags": safety_flags(order),
        "history": screening_history(order),
        "alerts": SafetyAlert.objects.filter(order=order, acknowledged_at__isnull=True),
    }
    return render(request, "web/screening.html", context, status=400 if form.errors else 200)


@require_POST
@requires("record_screening")
def safety_alert_ack(request: HttpRequest, pk: int) -> HttpResponse:
    alert = get_object_or_404(SafetyAlert.objects.select_related("order__patient"), pk=pk)
    safety_alert_acknowledge(alert=alert, actor=request_actor(request))
    return redirect("screening", pk=alert.order_id)
