"""Reports: write a draft, sign it, correct or add to it after final.

Each service is one transaction. Signing, correcting and adding an addendum
write a new signed version and, in the same transaction, its audit event and
the outbound rows that will carry it to the EHR (ris/services/outbox.py); the
worker builds and sends them after the commit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from ris.exceptions import IllegalTransition, InvalidInput
from ris.models import AuditEvent, ReadingLock, Report, ReportVersion, RequestedProcedure
from ris.records import Actor
from ris.services.audit import audit_record
from ris.services.critical_results import critical_category_check, critical_result_flag
from ris.services.outbox import outbox_enqueue
from ris.states import REPORT_MACHINE, ReportStatus

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

    Person = User | AnonymousUser | None  # as a request carries it; signing needs a logged-in one

SIGNABLE = (ReportStatus.PRELIMINARY, ReportStatus.FINAL)


@transaction.atomic
def report_save_draft(
    *, procedure: RequestedProcedure, author: Person, findings: str, impression: str, actor: Actor
) -> ReportVersion:
    """Create or update the working draft of the procedure's report."""
    report = _report_for(procedure)
    if report.is_final:
        raise IllegalTransition("report is final: correct it or add an addendum")
    draft = report.draft()
    action = AuditEvent.Action.CHANGE if draft else AuditEvent.Action.CREATE
    draft = draft or ReportVersion(report=report, number=_next_number(report))
    draft.findings, draft.impression, draft.author = findings, impression, _person(author)
    draft.save()
    _audit(actor, action, report, draft, "draft saved")
    return draft


def _audit(actor: Actor, action: str, report: Report, version: ReportVersion, what: str) -> None:
    detail = f"report {report.uid} version {version.number} {what}"
    audit_record(actor=actor, action=action, patient=report.order.patient, obj=report, detail=detail)


@transaction.atomic
def report_sign(
    *, report: Report, signer: Person, status: str, actor: Actor, critical_category: str = ""
) -> ReportVersion:
    """Sign the draft (or the preliminary text again) as preliminary or final,
    flagged with a critical result category or not."""
    report = _locked(report)
    if status not in SIGNABLE:
        raise InvalidInput(f"a report is signed preliminary or final, not {status}", field="status")
    REPORT_MACHINE.check(report.status, status)
    version = report.draft() or _copy_of_latest(report)
    _require_text(version.findings, version.impression)
    return _sign(actor, report, version, signer, status, critical_category)


@transaction.atomic
def report_submit(
    *,
    procedure: RequestedProcedure,
    user: Person,
    findings: str,
    impression: str,
    actor: Actor,
    status: str = ReportStatus.DRAFT,
    critical_category: str = "",
) -> ReportVersion:
    """Save the text as the draft and, unless `status` is DRAFT, sign it: the
    reporting page's one call for "save", "sign preliminary" and "sign final"."""
    draft = report_save_draft(procedure=procedure, author=user, findings=findings, impression=impression, actor=actor)
    if status == ReportStatus.DRAFT:
        return draft
    return report_sign(
        report=draft.report, signer=user, status=status, actor=actor, critical_category=critical_category
    )


@transaction.atomic
def report_correct(
    *, report: Report, signer: Person, findings: str, impression: str, actor: Actor, critical_category: str = ""
) -> ReportVersion:
    """Replace the text of a final report by a corrected, signed version."""
    report = _locked(report)
    REPORT_MACHINE.check(report.status, ReportStatus.CORRECTED)
    _require_text(findings, impression)
    version = _copy_of_latest(report)
    version.findings, version.impression, version.author = findings, impression, _person(signer)
    return _sign(actor, report, version, signer, ReportStatus.CORRECTED, critical_category)


@transaction.atomic
def report_addendum(
    *, report: Report, signer: Person, text: str, actor: Actor, critical_category: str = ""
) -> ReportVersion:
    """Add a signed addendum to a final report; the earlier text stays as it was."""
    report = _locked(report)
    REPORT_MACHINE.check(report.status, ReportStatus.ADDENDUM)
    if not text.strip():
        raise InvalidInput("an addendum needs text", field="text")
    version = _copy_of_latest(report)
    version.addenda = "\n\n".join(part for part in (version.addenda, text.strip()) if part)
    version.author = _person(signer)
    return _sign(actor, report, version, signer, ReportStatus.ADDENDUM, critical_category)


def _report_for(procedure: RequestedProcedure) -> Report:
    report = Report.objects.select_for_update().filter(procedure=procedure).first()
    if report is not None:
        return report
    try:
        with transaction.atomic():
            return Report.objects.create(procedure=procedure, order=procedure.order)
    except IntegrityError:  # created concurrently: take the winner's row
        return Report.objects.select_for_update().get(procedure=procedure)


def _locked(report: Report) -> Report:
    return Report.objects.select_for_update().select_related("order").get(pk=report.pk)


def _next_number(report: Report) -> int:
    return (report.versions.aggregate(n=Max("number"))["n"] or 0) + 1


def _copy_of_latest(report: Report) -> ReportVersion:
    latest = report.latest_signed()
    if latest is None:
        raise InvalidInput("there is no draft to sign", field="findings")
    return ReportVersion(
        report=report,
        number=_next_number(report),
        findings=latest.findings,
        impression=latest.impression,
        addenda=latest.addenda,
        author=latest.author,
    )


def _require_text(findings: str, impression: str) -> None:
    if not (findings.strip() or impression.strip()):
        raise InvalidInput("a report needs findings or an impression", field="findings")


def _person(user: Person) -> User | None:
    """The logged-in person, or None."""
    return user if user is not None and user.is_authenticated else None


def _sign(
    actor: Actor, report: Report, version: ReportVersion, signer: Person, status: str, critical_category: str
) -> ReportVersion:
    person = _person(signer)
    if person is None:
        raise InvalidInput("a report is signed by a person", field="signer")
    version.critical_category = critical_category_check(critical_category)
    version.status, version.signer, version.signed_at = status, person, timezone.now()
    version.save()
    report.status = status
    report.save(update_fields=["status", "updated_at"])
    outbox_enqueue(event="report", context={"report_version_id": version.pk}, order=report.order)
    flagged = f", flagged {critical_category}" if critical_category else ""
    _audit(actor, AuditEvent.Action.CHANGE, report, version, f"signed {status}{flagged}")
    if critical_category:
        critical_result_flag(version=version, actor=actor)
    # Signing ends the reading: the exam's lock is free for the next reader.
    ReadingLock.objects.filter(procedure_id=report.procedure_id).delete()
    return version
