"""The inbound message log's pages. Access is checked where they are routed
(web/urls.py: capability `view_messages`), which hands each the actor of the
request; a message shown whole is recorded in the audit trail, a list is not.

A stored message is shown by hl7/inspect.py, as the admin shows it: decoded
in the character set its MSH-18 names, so its names read as they were sent.
"""

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from hl7 import inspect, selectors
from hl7.models import InboundMessage
from ris.records import Actor
from ris.services.audit import audit_view


def message_log(request: HttpRequest, *, actor: Actor) -> HttpResponse:
    filters = {k: request.GET.get(k, "") for k in ("status", "message_type", "sender", "text")}
    page = Paginator(selectors.inbound_messages(**filters), 50).get_page(request.GET.get("page"))
    context = {"page": page, "filters": filters, "statuses": InboundMessage.Status.choices}
    return render(request, "hl7/message_log.html", context)


def message_detail(request: HttpRequest, pk: int, *, actor: Actor) -> HttpResponse:
    message = get_object_or_404(InboundMessage.objects.select_related("order__patient"), pk=pk)
    patient = message.order.patient if message.order is not None else None
    audit_view(actor=actor, patient=patient, obj=message, detail=f"{message.message_type} {message.control_id}")
    raw = bytes(message.raw)
    context = {"message": message, "segments": inspect.message_text(raw).split("\n"), "parsed": inspect.field_rows(raw)}
    return render(request, "hl7/message_detail.html", context)
