"""The reconciliation workbench: one queue of what does not match, each item
linked, registered as an order, dismissed or undone through one service."""

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from ris.actors import request_actor
from ris.exceptions import DomainError, InvalidInput
from ris.models import Discrepancy
from ris.selectors.reconciliation import (
    order_by_accession,
    reconciliation_candidates,
    reconciliation_queue,
    reconciliation_recent,
)
from ris.services.reconciliation import (
    LINKABLE,
    REGISTRABLE,
    reconcile_dismiss,
    reconcile_link,
    reconcile_register_order,
    reconcile_undo,
)
from web.access import audit_page, requires
from web.forms import form_data


class ResolveForm(forms.Form):
    accession_number = forms.CharField(max_length=16, required=False, label=gettext_lazy("Accession number"))
    reason = forms.CharField(max_length=200, label=gettext_lazy("Reason"))


@requires("reconcile")
def workbench(request):
    queue = list(reconciliation_queue())
    rows = [
        {
            "item": item,
            "linkable": item.kind in LINKABLE,
            "registrable": item.kind in REGISTRABLE,
            "candidates": reconciliation_candidates(item) if item.kind in LINKABLE else [],
        }
        for item in queue
    ]
    recent = reconciliation_recent()
    audit_page(request, [i.patient for i in [*queue, *recent] if i.patient is not None], "reconciliation workbench")
    return render(request, "web/reconciliation.html", {"rows": rows, "recent": recent})


@require_POST
@requires("reconcile")
def resolve(request, pk: int, action: str):
    if action not in _ACTIONS:
        raise Http404("no such action")
    item = get_object_or_404(Discrepancy, pk=pk)
    try:
        data = form_data(ResolveForm(request.POST))
        done = _ACTIONS[action](item, data, request_actor(request))
    except DomainError as refusal:
        messages.error(request, _("Not done: %(reason)s") % {"reason": refusal})
    else:
        messages.success(request, done.resolution or _("Item %(pk)s reopened.") % {"pk": done.pk})
    return redirect("reconciliation")


def _link(item, data, actor):
    order = order_by_accession(data["accession_number"] or "")
    if order is None:
        raise InvalidInput(_("no order has accession number %(a)s") % {"a": data["accession_number"]})
    return reconcile_link(item=item, order=order, reason=data["reason"], actor=actor)


_ACTIONS = {
    "link": _link,
    "register": lambda item, data, actor: reconcile_register_order(item=item, reason=data["reason"], actor=actor),
    "dismiss": lambda item, data, actor: reconcile_dismiss(item=item, reason=data["reason"], actor=actor),
    "undo": lambda item, data, actor: reconcile_undo(item=item, reason=data["reason"], actor=actor),
}
