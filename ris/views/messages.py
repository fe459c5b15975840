"""The message log. Inbound HL7 now; outbound messages join the same page when
the outbox exists (a second table fed by its own selector)."""

from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render

from hl7.er7 import Delimiters, Segment, split_segments
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
    segments = split_segments(bytes(message.raw).decode("latin-1"))
    context = {"message": message, "segments": segments, "parsed": parsed_fields(segments)}
    return render(request, "ris/message_detail.html", context)


def parsed_fields(segments: list[str]) -> list[tuple[str, str]]:
    """(HL7 position such as PID-5, raw value) for every non-empty field, to read a message by eye."""
    if not segments or not segments[0].startswith("MSH") or len(segments[0]) < 8:
        return []
    delimiters = Delimiters.from_msh(segments[0])
    rows = []
    for text in segments:
        segment = Segment(text, delimiters)
        last = text.count(delimiters.field) + 1
        rows += [(f"{segment.name}-{n}", segment.raw(n)) for n in range(1, last + 1) if segment.raw(n)]
    return rows
