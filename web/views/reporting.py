"""Reporting pages: the reading worklist and the report editor.

Each POST decodes a form, calls one report service and redirects; a domain
refusal is shown on the page with the text kept as typed.
"""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from ris.exceptions import DomainError
from ris.models import OutboundMessage, Report, RequestedProcedure
from ris.selectors.reports import reading_worklist, recently_signed, report_deliveries
from ris.services import reports as services
from ris.services.audit import audit_view
from ris.services.outbox import outbox_resend
from ris.states import ReportStatus
from web.access import actor_from_request, requires
from web.reporting_forms import AddendumForm, ReportTextForm, WorklistFilter


@requires("write_reports")
def worklist(request):
    filters = WorklistFilter(request.GET or None)
    rows = reading_worklist(**filters.criteria())
    return render(
        request, "web/reporting/worklist.html", {"filters": filters, "rows": rows, "signed": recently_signed()}
    )


@requires("write_reports")
@require_http_methods(["GET", "POST"])
def editor(request, procedure_id: int):
    procedure = get_object_or_404(RequestedProcedure.objects.select_related("order__patient"), pk=procedure_id)
    if request.method == "GET":
        audit_view(actor=actor_from_request(request), patient=procedure.order.patient, obj=procedure)
        return _page(request, procedure)
    action = ACTIONS.get(request.POST.get("action", ""))
    if action is None:
        messages.error(request, "Unknown action.")
        return _page(request, procedure, status=400)
    return action(request, procedure)


def _report(procedure: RequestedProcedure) -> Report | None:
    return Report.objects.filter(procedure=procedure).first()


def _page(request, procedure, *, text_form=None, addendum_form=None, status=200):
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
        "text_form": text_form or ReportTextForm(initial=initial),
        "addendum_form": addendum_form or AddendumForm(),
        "deliveries": report_deliveries(procedure.order),
    }
    return render(request, "web/reporting/editor.html", context, status=status)


def _submit(status: str):
    def act(request, procedure):
        form = ReportTextForm(request.POST)
        form.is_valid()
        try:
            services.report_submit(
                procedure=procedure,
                user=request.user,
                status=status,
                actor=actor_from_request(request),
                **form.cleaned_data,
            )
        except DomainError as exc:
            return _refused(request, procedure, exc, text_form=form)
        return _done(request, procedure, SUBMITTED[status])

    return act


def _correct(request, procedure):
    form = ReportTextForm(request.POST)
    form.is_valid()
    try:
        services.report_correct(
            report=get_object_or_404(Report, procedure=procedure),
            signer=request.user,
            actor=actor_from_request(request),
            **form.cleaned_data,
        )
    except DomainError as exc:
        return _refused(request, procedure, exc, text_form=form)
    return _done(request, procedure, "Correction signed and sent.")


def _addendum(request, procedure):
    form = AddendumForm(request.POST)
    if not form.is_valid():
        return _page(request, procedure, addendum_form=form, status=400)
    try:
        services.report_addendum(
            report=get_object_or_404(Report, procedure=procedure),
            signer=request.user,
            text=form.cleaned_data["text"],
            actor=actor_from_request(request),
        )
    except DomainError as exc:
        return _refused(request, procedure, exc, addendum_form=form)
    return _done(request, procedure, "Addendum signed and sent.")


def _resend(request, procedure):
    message = get_object_or_404(OutboundMessage, pk=request.POST.get("message"), order=procedure.order)
    outbox_resend(message=message)
    messages.success(request, f"Message {message.control_id} to {message.destination} queued again.")
    return redirect("reporting:editor", procedure.pk)


def _refused(request, procedure, exc: DomainError, **forms):
    messages.error(request, str(exc))
    return _page(request, procedure, status=409, **forms)


def _done(request, procedure, text: str):
    messages.success(request, f"{procedure.order.accession_number}: {text}")
    signed = text != SUBMITTED[ReportStatus.DRAFT]
    return redirect("reporting:worklist") if signed else redirect("reporting:editor", procedure.pk)


SUBMITTED = {
    ReportStatus.DRAFT: "Draft saved.",
    ReportStatus.PRELIMINARY: "Signed preliminary and sent.",
    ReportStatus.FINAL: "Signed final and sent.",
}
ACTIONS = {
    "save": _submit(ReportStatus.DRAFT),
    "preliminary": _submit(ReportStatus.PRELIMINARY),
    "final": _submit(ReportStatus.FINAL),
    "correct": _correct,
    "addendum": _addendum,
    "resend": _resend,
}
