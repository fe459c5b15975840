"""The inbound message log's pages. Access is checked where they are routed
(web/urls.py: capability `view_messages`).

A stored message is shown by hl7/inspect.py, as the admin shows it: decoded
in the character set its MSH-18 names, so its names read as they were sent.
"""

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from hl7 import inspect, selectors
from hl7.models import InboundMessage


def message_log(request: HttpRequest) -> HttpResponse:
    filters = {k: request.GET.get(k, "") for k in ("status", "message_type", "sender", "text")}
    page = Paginator(selectors.inbound_messages(**filters), 50).get_page(request.GET.get("page"))
    context = {"page": page, "filters": filters, "statuses": InboundMessage.Status.choices}
    return render(request, "hl7/message_log.html", context)


def message_detail(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(InboundMessage, pk=pk)
    raw = bytes(message.raw)
    context = {"message": message, "segments": inspect.message_text(raw).split("\n"), "parsed": inspect.field_rows(raw)}
    return render(request, "hl7/message_detail.html", context)
