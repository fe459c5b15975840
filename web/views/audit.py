import csv

from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import render

from ris import selectors
from web.access import requires
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
    response = StreamingHttpResponse(_csv_lines(events.iterator()), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="audit.csv"'
    return response


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
