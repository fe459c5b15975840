"""Reporting pages: the reading worklist, the report editor, every signed
version of a report, and a version printed as PDF.

Each POST decodes a form, calls one report service and redirects; a refusal
(web/errors.py) is shown on the page with the text kept as typed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from ris.actors import request_actor
from ris.exceptions import DomainError, InvalidInput, ReadingLocked
from ris.models import OutboundMessage, Report, ReportVersion, RequestedProcedure
from ris.selectors.dose import dose_sentence
from ris.selectors.reading import live_readers, open_critical_result, prior_exams, report_templates_for
from ris.selectors.reports import (
    is_overdue,
    performed_steps,
    reading_worklist,
    recently_signed,
    report_deliveries,
    report_versions,
)
from ris.selectors.turnaround import report_target
from ris.services import reports as services
from ris.services.audit import audit_view
from ris.services.outbox import outbox_resend
from ris.services.reading_locks import reading_lock_take
from ris.states import ReportStatus
from web.access import audit_page, requires
from web.errors import refusal_for
from web.forms import WorklistFilter, form_data
from web.reading_forms import AddendumSigningForm, SigningForm
from web.report_pdf import report_pdf

Action = Callable[[HttpRequest, RequestedProcedure], HttpResponse]


@requires("write_reports")
def worklist(request: HttpRequest) -> HttpResponse:
    filters = WorklistFilter(request.GET or None)
    rows: list[Any] = list(reading_worklist(**filters.criteria()))
    signed = list(recently_signed())
    now = timezone.now()
    readers = live_readers([row.pk for row in rows])
    for row in rows:
        row.overdue = is_overdue(row.order.priority, row.performed_at, now=now)
        row.target_hours = report_target(row.order.priority).total_seconds() / 3600
        row.reading = readers.get(row.pk)
    audit_page(request, [row.order.patient for row in rows] + [r.order.patient for r in signed], "reading list")
    return render(request, "web/reporting/worklist.html", {"filters": filters, "rows": rows, "signed": signed})


@requires("write_reports")
@require_http_methods(["GET", "POST"])
def editor(request: HttpRequest, procedure_id: int) -> HttpResponse:
    procedure = get_object_or_404(RequestedProcedure.objects.select_related("order__patient"), pk=procedure_id)
    if request.method == "GET":
        audit_view(actor=request_actor(request), patient=procedure.order.patient, obj=procedure)
        return _page(request, procedure, lock=_take_lock(request, procedure))
    name = request.POST.get("action", "")
    try:
        action = _action(name)
        if name in LOCKED_ACTIONS:  # writing needs the exam's reading lock
            reading_lock_take(procedure=procedure, reader=request.user, actor=request_actor(request))
        return action(request, procedure)
    except DomainError as refusal:
        return _refused(request, procedure, refusal, name)


def _take_lock(request: HttpRequest, procedure: RequestedProcedure) -> ReadingLocked | None:
    """Opening an exam takes its reading lock; the refusal when another holds it."""
    try:
        reading_lock_take(procedure=procedure, reader=request.user, actor=request_actor(request))
    except ReadingLocked as held:
        return held
    return None


def dose_draft(procedure: RequestedProcedure) -> dict[str, str]:
    """A new report starts with the exam's dose where the site wants it (RIS_DOSE_IN_REPORT)."""
    section = settings.RIS_DOSE_IN_REPORT
    sentence = dose_sentence(procedure) if section else ""
    return {section: sentence} if sentence else {}


def _action(name: str) -> Action:
    if name not in ACTIONS:
        raise InvalidInput(_("Unknown action."), field="action")
    return ACTIONS[name]


def _report(procedure: RequestedProcedure) -> Report | None:
    return Report.objects.filter(procedure=procedure).first()


def _page(
    request: HttpRequest,
    procedure: RequestedProcedure,
    *,
    status: int = 200,
    lock: ReadingLocked | None = None,
    **forms: Any,
) -> HttpResponse:
    report = _report(procedure)
    shown = (report.draft() or report.latest_signed()) if report else None
    initial = {"findings": shown.findings, "impression": shown.impression} if shown else dose_draft(procedure)
    # Signing a preliminary again or final keeps its flag chosen; a correction
    # or an addendum is new content, flagged only when chosen again.
    latest = report.latest_signed() if report and not report.is_final else None
    flag = {"critical_category": latest.critical_category} if latest else {}
    context = {
        "procedure": procedure,
        "order": procedure.order,
        "patient": procedure.order.patient,
        "steps": procedure.steps.order_by("start"),
        "performed": performed_steps(procedure),
        "report": report,
        "shown": shown,
        "versions": report_versions(report).reverse() if report else [],
        "text_form": SigningForm(initial={**initial, **flag}),
        "addendum_form": AddendumSigningForm(),
        "deliveries": report_deliveries(procedure.order),
        "locked": lock,
        "priors": prior_exams(procedure),
        "templates": report_templates_for(procedure),
        "critical": open_critical_result(report.pk if report else None),
        **forms,
    }
    return render(request, "web/reporting/editor.html", context, status=status)


@requires("write_reports")
@require_GET
def versions(request: HttpRequest, procedure_id: int, number: int | None = None) -> HttpResponse:
    """Every signed version of the report, or one of them, text in full."""
    report = get_object_or_404(Report.objects.select_related("order__patient", "procedure"), procedure_id=procedure_id)
    shown = list(report_versions(report))
    if number is not None:
        shown = [v for v in shown if v.number == number]
        if not shown:
            raise Http404(number)
    what = f"version {number}" if number is not None else "all versions"
    audit_view(actor=request_actor(request), patient=report.order.patient, obj=report, detail=f"report {what}")
    context = {"report": report, "procedure": report.procedure, "order": report.order, "versions": shown}
    return render(request, "web/reporting/versions.html", context)


@requires("write_reports")
@require_GET
def version_pdf(request: HttpRequest, procedure_id: int, number: int | None = None) -> HttpResponse:
    """A signed version (the latest when none is named) as a printable PDF."""
    report = get_object_or_404(Report.objects.select_related("order__patient", "procedure"), procedure_id=procedure_id)
    chosen = report_versions(report)
    version: ReportVersion | None = chosen.filter(number=number).first() if number else chosen.last()
    if version is None:
        raise Http404(_("This report has no signed version."))
    audit_view(
        actor=request_actor(request),
        patient=report.order.patient,
        obj=report,
        detail=f"report v{version.number} printed",
    )
    response = HttpResponse(report_pdf(version), content_type="application/pdf")
    filename = f"report-{report.order.accession_number}-v{version.number}.pdf"
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


def _submit(status: str) -> Action:
    def act(request: HttpRequest, procedure: RequestedProcedure) -> HttpResponse:
        text = form_data(SigningForm(request.POST))
        services.report_submit(
            procedure=procedure, user=request.user, status=status, actor=request_actor(request), **text
        )
        return _done(request, procedure, str(SUBMITTED[status]))

    return act


def _correct(request: HttpRequest, procedure: RequestedProcedure) -> HttpResponse:
    text = form_data(SigningForm(request.POST))
    services.report_correct(
        report=get_object_or_404(Report, procedure=procedure),
        signer=request.user,
        actor=request_actor(request),
        **text,
    )
    return _done(request, procedure, _("Correction signed and sent."))


def _addendum(request: HttpRequest, procedure: RequestedProcedure) -> HttpResponse:
    data = form_data(AddendumSigningForm(request.POST))
    services.report_addendum(
        report=get_object_or_404(Report, procedure=procedure),
        signer=request.user,
        text=data["text"],
        critical_category=data["critical_category"],
        actor=request_actor(request),
    )
    return _done(request, procedure, _("Addendum signed and sent."))


def _resend(request: HttpRequest, procedure: RequestedProcedure) -> HttpResponse:
    message = get_object_or_404(OutboundMessage, pk=request.POST.get("message"), order=procedure.order)
    outbox_resend(message=message, actor=request_actor(request))
    messages.success(
        request,
        _("Message %(id)s to %(destination)s queued again.")
        % {"id": message.control_id, "destination": message.destination},
    )
    return redirect("reporting:editor", procedure.pk)


def _take_over(request: HttpRequest, procedure: RequestedProcedure) -> HttpResponse:
    reading_lock_take(procedure=procedure, reader=request.user, actor=request_actor(request), take_over=True)
    messages.success(request, _("You are reading this exam now."))
    return redirect("reporting:editor", procedure.pk)


def _refused(request: HttpRequest, procedure: RequestedProcedure, exc: DomainError, action: str) -> HttpResponse:
    """The editor again, saying why, with what was typed in the form that was sent."""
    refusal = refusal_for(exc)
    lock = exc if isinstance(exc, ReadingLocked) else None
    if lock is None:  # a lock refusal is the page's own banner
        messages.error(request, refusal.detail)
    return _page(request, procedure, status=refusal.status, lock=lock, **_typed(request, action))


def _typed(request: HttpRequest, action: str) -> dict[str, Form]:
    if action == "addendum":
        return {"addendum_form": AddendumSigningForm(request.POST)}
    if action in TEXT_ACTIONS:
        return {"text_form": SigningForm(request.POST)}
    return {}


def _done(request: HttpRequest, procedure: RequestedProcedure, text: Any) -> HttpResponse:
    messages.success(request, f"{procedure.order.accession_number}: {text}")
    signed = text != str(SUBMITTED[ReportStatus.DRAFT])
    return redirect("reporting:worklist") if signed else redirect("reporting:editor", procedure.pk)


SUBMITTED: dict[str, Any] = {
    ReportStatus.DRAFT: gettext_lazy("Draft saved."),
    ReportStatus.PRELIMINARY: gettext_lazy("Signed preliminary and sent."),
    ReportStatus.FINAL: gettext_lazy("Signed final and sent."),
}
ACTIONS: dict[str, Action] = {
    "save": _submit(ReportStatus.DRAFT),
    "preliminary": _submit(ReportStatus.PRELIMINARY),
    "final": _submit(ReportStatus.FINAL),
    "correct": _correct,
    "addendum": _addendum,
    "resend": _resend,
    "take_over": _take_over,
}
TEXT_ACTIONS = {"save", "preliminary", "final", "correct"}
LOCKED_ACTIONS = TEXT_ACTIONS | {"addendum"}
