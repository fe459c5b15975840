import csv

from django.conf import settings
from django.core.paginator import Paginator
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render

from infra.atna import audit_messages_xml
from ris import selectors
from ris.actors import request_actor
from ris.models import AuditEvent
from ris.services.audit import audit_record
from web.access import requires
from web.audit_export import audit_entries, source_id
from web.forms import AuditFilter

CSV_COLUMNS = ["at", "actor", "door", "action", "patient_id", "object_type", "object_id", "detail", "address"]


@requires("view_audit")
def audit_log(request):
    form = AuditFilter(request.GET or None)
    events = selectors.audit_search(**(form.cleaned_data if form.is_valid() else {}))
    page = Paginator(events, 100).get_page(request.GET.get("page"))
    return render(request, "web/audit_log.html", {"form": form, "page": page, "query": request.GET.urlencode()})


@requires("view_audit")
def audit_export(request):
    """The same search as the page, as CSV, streamed."""
    form = AuditFilter(request.GET or None)
    events = selectors.audit_search(**(form.cleaned_data if form.is_valid() else {}))
    _audit_export(request, "CSV")
    response = StreamingHttpResponse(_csv_lines(events.iterator()), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="audit.csv"'
    return response


@requires("view_audit")
def audit_export_atna(request):
    """The same search as DICOM audit messages (PS3.15 A.5) in one XML file,
    for an audit record repository that imports files (at most 50,000 events)."""
    form = AuditFilter(request.GET or None)
    events = selectors.audit_search(**(form.cleaned_data if form.is_valid() else {}))[:50_000]
    _audit_export(request, "ATNA XML")
    body = audit_messages_xml(
        audit_entries(events.iterator()), source_id=source_id(), site_id=settings.RIS_HL7_FACILITY
    )
    response = HttpResponse(body, content_type="application/xml; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="audit.xml"'
    return response


def _audit_export(request, kind: str) -> None:
    """An export of the trail is itself recorded (it names patients)."""
    audit_record(
        actor=request_actor(request),
        action=AuditEvent.Action.EXPORT,
        object_type="audit",
        detail=f"audit {kind} export",
    )


class _Echo:
    def write(self, value):
        return value


def _csv_lines(events):
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    for e in events:
        row = [
            e.at.isoformat(),
            e.actor,
            e.door,
            e.action,
            e.patient.patient_id if e.patient else "",
            e.object_type,
            e.object_id,
            e.detail,
            e.address,
        ]
        yield writer.writerow([spreadsheet_safe(value) for value in row])


def spreadsheet_safe(value: str) -> str:
    """Keep a spreadsheet from running a cell as a formula (CSV injection)."""
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
