"""Critical results: a flagged signature opens a duty that only a complete
communication record closes; overdue ones escalate once per period."""

import datetime as dt

import pytest
from django.test import override_settings
from django.utils import timezone

from ris.exceptions import IllegalTransition, InvalidInput
from ris.models import AuditEvent, CriticalResult, Destination, OutboundMessage
from ris.services.critical_results import critical_result_record, critical_results_escalate
from ris.services.reports import report_addendum, report_save_draft, report_sign
from ris.states import CriticalCategory, ReportStatus
from tests.factories import TEST_ACTOR, placed_order, radiologist, signed_final_report

pytestmark = pytest.mark.django_db
LATER = dt.timedelta(hours=2)


@pytest.fixture
def ehr():
    return Destination.objects.create(name="EHR", kind=Destination.Kind.HL7_MLLP, host="127.0.0.1", port=1)


def _flagged(category=CriticalCategory.CRITICAL, accession="ACC6001"):
    procedure = placed_order(accession=accession, placer=f"PL{accession}").procedures.get()
    return signed_final_report(
        procedure=procedure, findings="Subdural bleed.", impression="Bleed.", critical_category=category
    )


def _record(result, **changes):
    values = {
        "result": result,
        "recorded_by": radiologist(),
        "recipient_name": "Dr Cuddy",
        "recipient_role": "ward physician",
        "method": CriticalResult.Method.PHONE,
        "communicated_at": timezone.now(),
        "read_back": True,
        "actor": TEST_ACTOR,
    }
    return critical_result_record(**{**values, **changes})


def test_a_critical_signature_opens_a_result_due_within_the_category_time():
    version = _flagged()
    result = CriticalResult.objects.get()
    assert version.critical_category == CriticalCategory.CRITICAL and result.is_open
    assert result.due_at == result.flagged_at + dt.timedelta(minutes=60)
    assert AuditEvent.objects.filter(object_type="criticalresult", detail__contains="CRITICAL flagged").exists()


@override_settings(RIS_CRITICAL_RESULT_MINUTES={"CRITICAL": 60, "URGENT": 24 * 60, "UNEXPECTED": 7 * 24 * 60})
def test_unexpected_findings_are_due_in_seven_days_and_an_unflagged_signature_owes_nothing():
    _flagged(CriticalCategory.UNEXPECTED)
    result = CriticalResult.objects.get()
    assert result.due_at - result.flagged_at == dt.timedelta(days=7)
    procedure = placed_order(accession="ACC7", placer="PL7").procedures.get()
    draft = report_save_draft(actor=TEST_ACTOR, procedure=procedure, author=radiologist(), findings="x", impression="")
    report_sign(actor=TEST_ACTOR, report=draft.report, signer=radiologist(), status=ReportStatus.FINAL)
    assert CriticalResult.objects.count() == 1


def test_an_unknown_category_is_refused():
    with pytest.raises(InvalidInput):
        _flagged("SEVERE")


def test_an_addendum_flagged_critical_joins_the_open_result_and_makes_it_due_sooner():
    version = _flagged(CriticalCategory.UNEXPECTED)
    addendum = report_addendum(
        actor=TEST_ACTOR,
        report=version.report,
        signer=radiologist(),
        text="Also a bleed.",
        critical_category=CriticalCategory.CRITICAL,
    )
    result = CriticalResult.objects.get()
    assert result.category == CriticalCategory.CRITICAL and result.version == addendum
    assert result.due_at == addendum.signed_at + dt.timedelta(minutes=60)
    joined = AuditEvent.objects.get(object_type="criticalresult", detail__contains="CRITICAL flagged on version 2")
    assert joined.action == AuditEvent.Action.CHANGE


def test_an_overdue_result_escalates_once_per_period_with_one_outbound_event(ehr):
    _flagged()
    result = CriticalResult.objects.get()
    assert critical_results_escalate(now=result.due_at - dt.timedelta(seconds=1)) == []
    assert critical_results_escalate(now=result.due_at + dt.timedelta(minutes=1)) == [result.pk]
    assert critical_results_escalate(now=result.due_at + dt.timedelta(minutes=2)) == []  # idempotent
    overdue = OutboundMessage.objects.filter(event="critical_overdue")
    assert overdue.count() == 1 and overdue.get().context["level"] == 1
    assert critical_results_escalate(now=result.due_at + dt.timedelta(minutes=61)) == [result.pk]
    assert overdue.count() == 2


def test_a_completed_record_stops_escalation_and_is_audited_with_its_actor(ehr):
    _flagged()
    result = _record(CriticalResult.objects.get())
    assert not result.is_open and result.recorded_by == radiologist()
    assert critical_results_escalate(now=timezone.now() + LATER) == []
    assert not OutboundMessage.objects.filter(event="critical_overdue").exists()
    event = AuditEvent.objects.filter(object_type="criticalresult", action=AuditEvent.Action.CHANGE).get()
    assert "Dr Cuddy (ward physician) by PHONE, read back" in event.detail


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"recipient_name": " "}, "recipient_name"),
        ({"recipient_role": ""}, "recipient_role"),
        ({"method": "PIGEON"}, "method"),
        ({"read_back": False}, "read_back"),
        ({"communicated_at": timezone.now() + dt.timedelta(hours=1)}, "communicated_at"),
    ],
)
def test_an_incomplete_record_is_refused_and_the_result_stays_open(change, field):
    _flagged()
    with pytest.raises(InvalidInput) as refused:
        _record(CriticalResult.objects.get(), **change)
    assert refused.value.field == field
    assert CriticalResult.objects.get().is_open


def test_a_record_is_completed_only_once():
    _flagged()
    result = _record(CriticalResult.objects.get())
    with pytest.raises(IllegalTransition):
        _record(result)


def test_a_final_after_a_communicated_preliminary_owes_nothing_new_but_a_flagged_addendum_does():
    procedure = placed_order().procedures.get()
    draft = report_save_draft(
        actor=TEST_ACTOR, procedure=procedure, author=radiologist(), findings="Bleed.", impression="Bleed."
    )
    critical = CriticalCategory.CRITICAL
    kwargs = {"actor": TEST_ACTOR, "report": draft.report, "signer": radiologist(), "critical_category": critical}
    report_sign(status=ReportStatus.PRELIMINARY, **kwargs)
    _record(CriticalResult.objects.get())
    report_sign(status=ReportStatus.FINAL, **kwargs)
    assert CriticalResult.objects.filter(completed_at__isnull=True).count() == 0
    assert AuditEvent.objects.filter(detail__contains="already communicated").exists()
    report_addendum(text="A second bleed.", **kwargs)
    assert CriticalResult.objects.filter(completed_at__isnull=True).count() == 1


def test_the_escalation_sweep_is_a_registered_task_on_the_beat_schedule():
    from django.conf import settings

    from config.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["critical-results-escalate"]
    assert entry["task"] == "ris.critical_results_escalate" and entry["schedule"] == settings.RIS_CRITICAL_SWEEP_SECONDS
    app.loader.import_default_modules()
    assert "ris.critical_results_escalate" in app.tasks
