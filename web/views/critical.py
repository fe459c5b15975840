"""Critical results: the list of those still owed to a referrer (open, and
overdue first of all) for radiologists and the department lead, and the
communication record that acknowledges one (docs/critical-results.md)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from ris.actors import request_actor
from ris.exceptions import DomainError
from ris.models import CriticalResult
from ris.selectors.reading import open_critical_results, recently_communicated
from ris.services.audit import audit_view
from ris.services.critical_results import critical_result_record
from web.access import audit_page, requires
from web.errors import refusal_for
from web.forms import form_data
from web.reading_forms import CommunicationForm


@requires("write_reports")
@require_GET
def critical_list(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    pending = list(open_critical_results())
    done = list(recently_communicated())
    for result in pending:
        result.overdue = result.due_at <= now  # type: ignore[attr-defined]
    audit_page(request, [r.report.order.patient for r in pending + done], "critical results")
    context = {"pending": pending, "done": done, "overdue": sum(1 for r in pending if r.due_at <= now)}
    return render(request, "web/reporting/critical_list.html", context)


@requires("write_reports")
@require_http_methods(["GET", "POST"])
def critical_record(request: HttpRequest, pk: int) -> HttpResponse:
    result = get_object_or_404(
        CriticalResult.objects.select_related("report__order__patient", "report__procedure", "version"), pk=pk
    )
    form = CommunicationForm(request.POST or None)
    status = 200
    if request.method == "POST":
        try:
            data = form_data(form)
            critical_result_record(result=result, recorded_by=request.user, actor=request_actor(request), **data)
        except DomainError as refusal:
            answer = refusal_for(refusal)
            messages.error(request, answer.detail)
            status = answer.status
        else:
            messages.success(request, _("Communication recorded: the critical result is acknowledged."))
            return redirect("reporting:critical")
    else:
        audit_view(actor=request_actor(request), patient=result.report.order.patient, obj=result)
    context = {"result": result, "form": form, "order": result.report.order, "patient": result.report.order.patient}
    return render(request, "web/reporting/critical_record.html", context, status=status)
