"""Reporting pages: the reading worklist and the report editor.

Each POST decodes a form, calls one report service and redirects; a refusal
(web/errors.py) is shown on the page with the text kept as typed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from ris.actors import request_actor
from ris.exceptions import DomainError, InvalidInput
from ris.models import OutboundMessage, Report, RequestedProcedure
from ris.selectors.reports import reading_worklist, recently_signed, report_deliveries
from ris.services import reports as services
from ris.services.audit import audit_view
from ris.services.outbox import outbox_resend
from ris.states import ReportStatus
from web.access import audit_page, requires
from web.errors import refusal_for
from web.forms import AddendumForm, ReportTextForm, WorklistFilter, form_data

Action = Callable[[HttpRequest, RequestedProcedure], HttpResponse]


@requires("write_reports")
def worklist(request: HttpRequest) -> HttpResponse:
    filters = WorklistFilter(request.GET or None)
    rows, signed = list(reading_worklist(**filters.criteria())), list(recently_signed())
    audit_page(request, [row.order.patient for row in rows] + [r.order.patient for r in signed], "reading list")
    return render(request, "web/reporting/worklist.html", {"filters": filters, "rows": rows, "signed": signed})


@requires("write_reports")
@require_http_methods(["GET", "POST"])
def editor(request: HttpRequest, procedure_id: int) -> HttpResponse:
    procedure = get_object_or_404(RequestedProcedure.objects.select_related("order__patient"), pk=procedure_id)
    if request.method == "GET":
        audit_view(actor=request_actor(request), patient=procedure.order.patient, obj=procedure)
        return _page(request, procedure)
    name = request.POST.get("action", "")
    try:
        return _action(name)(request, procedure)
    except DomainError as refusal:
        return _refused(request, procedure, refusal, name)


def _action(name: str) -> Action:
    if name not in ACTIONS:
        raise InvalidInput("Unknown action.", field="action")
    return ACTIONS[name]


def _report(procedure: RequestedProcedure) -> Report | None:
    return Report.objects.filter(procedure=procedure).first()


def _page(request: HttpRequest, procedure: RequestedProcedure, *, status: int = 200, **forms: Any) -> HttpResponse:
    report = _report(procedure)
    shown = (report.draft() or report.latest_signed()) if report else None
    initial = {"findings": shown.findings, "impression": shown.impression} if shown else {}
    context = {
        "procedure": procedure,
        "order": procedure.order,
        "patient": procedure.order.patient,
        "steps": procedure.steps.order_by("start"),
        "report": report,
        "shown": shown,
        "versions": report.versions.exclude(status=ReportStatus.DRAFT).order_by("-number") if report else [],
        "text_form": ReportTextForm(initial=initial),
        "addendum_form": AddendumForm(),
        "deliveries": report_deliveries(procedure.order),
        **forms,
    }
    return render(request, "web/reporting/editor.html", context, status=status)


def _submit(status: str) -> Action:
    def act(request: HttpRequest, procedure: RequestedProcedure) -> HttpResponse:
        text = form_data(ReportTextForm(request.POST))
        services.report_submit(
            procedure=procedure, user=request.user, status=status, actor=request_actor(request), **text
        )
        return _done(request, procedure, SUBMITTED[status])

    return act


def _correct(request: HttpRequest, procedure: RequestedProcedure) -> HttpResponse:
    text = form_data(ReportTextForm(request.POST))
    services.report_correct(
        report=get_object_or_404(Report, procedure=procedure),
        signer=request.user,
        actor=request_actor(request),
        **text,
    )
    return _done(request, procedure, "Correction signed and sent.")


def _addendum(request: HttpRequest, procedure: RequestedProcedure) -> HttpResponse:
    text = form_data(AddendumForm(request.POST))["text"]
    services.report_addendum(
        report=get_object_or_404(Report, procedure=procedure),
        signer=request.user,
        text=text,
        actor=request_actor(request),
    )
    return _done(request, procedure, "Addendum signed and sent.")


def _resend(request: HttpRequest, procedure: RequestedProcedure) -> HttpResponse:
    message = get_object_or_404(OutboundMessage, pk=request.POST.get("message"), order=procedure.order)
    outbox_resend(message=message, actor=request_actor(request))
    messages.success(request, f"Message {message.control_id} to {message.destination} queued again.")
    return redirect("reporting:editor", procedure.pk)


def _refused(request: HttpRequest, procedure: RequestedProcedure, exc: DomainError, action: str) -> HttpResponse:
    """The editor again, saying why, with what was typed in the form that was sent."""
    refusal = refusal_for(exc)
    messages.error(request, refusal.detail)
    return _page(request, procedure, status=refusal.status, **_typed(request, action))


def _typed(request: HttpRequest, action: str) -> dict[str, Form]:
    if action == "addendum":
        return {"addendum_form": AddendumForm(request.POST)}
    if action in TEXT_ACTIONS:
        return {"text_form": ReportTextForm(request.POST)}
    return {}


def _done(request: HttpRequest, procedure: RequestedProcedure, text: str) -> HttpResponse:
    messages.success(request, f"{procedure.order.accession_number}: {text}")
    signed = text != SUBMITTED[ReportStatus.DRAFT]
    return redirect("reporting:worklist") if signed else redirect("reporting:editor", procedure.pk)


SUBMITTED: dict[str, str] = {
    ReportStatus.DRAFT: "Draft saved.",
    ReportStatus.PRELIMINARY: "Signed preliminary and sent.",
    ReportStatus.FINAL: "Signed final and sent.",
}
ACTIONS: dict[str, Action] = {
    "save": _submit(ReportStatus.DRAFT),
    "preliminary": _submit(ReportStatus.PRELIMINARY),
    "final": _submit(ReportStatus.FINAL),
    "correct": _correct,
    "addendum": _addendum,
    "resend": _resend,
}
TEXT_ACTIONS = {"save", "preliminary", "final", "correct"}
