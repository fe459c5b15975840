"""The inbound message log's pages. Access is checked where they are routed
(web/urls.py: capability `view_messages`)."""

from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render

from hl7 import selectors
from hl7.er7 import Delimiters, Segment, split_segments
from hl7.models import InboundMessage


def message_log(request):
    filters = {k: request.GET.get(k, "") for k in ("status", "message_type", "sender", "text")}
    page = Paginator(selectors.inbound_messages(**filters), 50).get_page(request.GET.get("page"))
    context = {"page": page, "filters": filters, "statuses": InboundMessage.Status.choices}
    return render(request, "hl7/message_log.html", context)


def message_detail(request, pk: int):
    message = get_object_or_404(InboundMessage, pk=pk)
    segments = split_segments(bytes(message.raw).decode("latin-1"))
    context = {"message": message, "segments": segments, "parsed": parsed_fields(segments)}
    return render(request, "hl7/message_detail.html", context)


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
