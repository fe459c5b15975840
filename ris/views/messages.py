"""The message log. Inbound HL7 now; outbound messages join the same page when
the outbox exists (a second table fed by its own selector)."""
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render

from ris import selectors
from ris.models import InboundMessage
from ris.views.access import requires


@requires("view_messages")
def message_log(request):
    filters = {k: request.GET.get(k, "") for k in ("status", "message_type", "sender", "text")}
    page = Paginator(selectors.inbound_messages(**filters), 50).get_page(request.GET.get("page"))
    context = {"page": page, "filters": filters, "statuses": InboundMessage.Status.choices}
    return render(request, "ris/message_log.html", context)


@requires("view_messages")
def message_detail(request, pk: int):
    message = get_object_or_404(InboundMessage, pk=pk)
    raw = bytes(message.raw).decode("latin-1")
    context = {"message": message, "segments": [s for s in raw.replace("\n", "\r").split("\r") if s]}
    return render(request, "ris/message_detail.html", context)
