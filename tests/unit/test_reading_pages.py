"""The reading screen's aids through the pages: the reading lock, the
critical finding chosen when signing, the communication record, templates
and prior exams."""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from ris.models import AuditEvent, CriticalResult, Procedure, ReadingLock, Report, ReportTemplate
from ris.services.patients import patient_merge_records
from ris.services.reports import report_save_draft, report_sign
from ris.states import CriticalCategory, ReportStatus
from tests.factories import TEST_ACTOR, placed_order, radiologist, user_with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def procedure():
    return placed_order().procedures.get()


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def house():
    return _client(radiologist())


@pytest.fixture
def wilson():
    return _client(radiologist("drwilson", "James", "Wilson"))


def _editor(procedure) -> str:
    return f"/reporting/procedures/{procedure.pk}/"


def test_a_second_radiologist_sees_who_reads_the_exam_and_cannot_sign(procedure, house, wilson):
    assert house.get(_editor(procedure)).status_code == 200
    page = wilson.get(_editor(procedure))
    assert page.context["locked"].holder == "Greg House"
    assert "Being read by Greg House since" in page.content.decode() and 'id="write"' not in page.content.decode()
    refused = wilson.post(_editor(procedure), {"action": "final", "findings": "Mine.", "impression": ""})
    assert refused.status_code == 409 and not Report.objects.exists()
    assert ReadingLock.objects.get().holder.username == "drhouse"


def test_taking_over_is_an_explicit_audited_action(procedure, house, wilson):
    house.get(_editor(procedure))
    assert wilson.post(_editor(procedure), {"action": "take_over"}).status_code == 302
    assert ReadingLock.objects.get().holder.username == "drwilson"
    assert AuditEvent.objects.filter(detail__contains="reading lock taken over from Greg House").exists()
    assert house.get(_editor(procedure)).context["locked"].holder == "James Wilson"


def test_signing_final_with_a_category_flags_the_version_and_opens_a_result(procedure, house):
    house.get(_editor(procedure))
    form = {"action": "final", "findings": "Bleed.", "impression": "Acute bleed.", "critical_category": "CRITICAL"}
    assert house.post(_editor(procedure), form).status_code == 302
    version = Report.objects.get().latest_signed()
    assert version.critical_category == CriticalCategory.CRITICAL
    assert CriticalResult.objects.get().is_open and not ReadingLock.objects.exists()


def _critical(procedure):
    draft = report_save_draft(
        actor=TEST_ACTOR, procedure=procedure, author=radiologist(), findings="Bleed.", impression="Bleed."
    )
    report_sign(
        actor=TEST_ACTOR,
        report=draft.report,
        signer=radiologist(),
        status=ReportStatus.FINAL,
        critical_category=CriticalCategory.CRITICAL,
    )
    return CriticalResult.objects.get()


def test_the_list_shows_open_results_overdue_ones_marked(procedure, house):
    result = _critical(procedure)
    CriticalResult.objects.filter(pk=result.pk).update(due_at=timezone.now() - dt.timedelta(minutes=5))
    page = house.get("/reporting/critical/")
    assert [r.pk for r in page.context["pending"]] == [result.pk] and page.context["overdue"] == 1
    assert "critical-overdue" in page.content.decode()


def test_the_communication_record_acknowledges_only_when_complete(procedure, house):
    result = _critical(procedure)
    url = f"/reporting/critical/{result.pk}/"
    record = {
        "recipient_name": "Dr Cuddy",
        "recipient_role": "ward physician",
        "method": "PHONE",
        "communicated_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
    }
    refused = house.post(url, record)  # not read back
    assert refused.status_code == 400 and CriticalResult.objects.get().is_open
    assert house.post(url, {**record, "read_back": "on"}).status_code == 302
    result.refresh_from_db()
    assert not result.is_open and result.recorded_by.username == "drhouse"
    assert house.get("/reporting/critical/").context["pending"] == []


def test_the_editor_offers_the_procedures_templates_and_the_general_ones(procedure, house):
    ct_head = Procedure.objects.create(code="CTHEAD", name="CT head", modality="CT")
    mr = Procedure.objects.create(code="MRKNEE", name="MR knee", modality="MR")
    ReportTemplate.objects.create(name="CT head normal", procedure=ct_head, findings="No bleed.", impression="Normal.")
    ReportTemplate.objects.create(name="Knee", procedure=mr, findings="Menisci intact.")
    ReportTemplate.objects.create(name="Compared", kind="MACRO", findings="Compared with the prior exam.")
    page = house.get(_editor(procedure))
    assert [t.name for t in page.context["templates"]] == ["Compared", "CT head normal"]
    assert 'data-findings="No bleed."' in page.content.decode()


def test_administrators_manage_templates_with_the_catalogue(client):
    client.force_login(user_with_role("administrator", "admin1"))
    answer = client.post(
        "/manage/report-templates/new/",
        {"name": "Chest", "kind": "TEMPLATE", "findings": "Lungs clear.", "is_active": "on"},
    )
    assert answer.status_code == 302 and ReportTemplate.objects.get().name == "Chest"
    assert AuditEvent.objects.filter(object_type="reporttemplate", action=AuditEvent.Action.CREATE).exists()
    empty = client.post("/manage/report-templates/new/", {"name": "Empty", "kind": "MACRO"})
    assert empty.status_code == 200 and ReportTemplate.objects.count() == 1


def test_prior_exams_are_newest_first_and_follow_a_merge(house):
    old = placed_order(accession="OLD", placer="PLOLD", start=timezone.now() - dt.timedelta(days=400))
    other = placed_order(
        accession="OTHER", placer="PLOTHER", patient_id="PAT9", start=timezone.now() - dt.timedelta(days=30)
    )
    current = placed_order(accession="NOW", placer="PLNOW")
    patient_merge_records(actor=TEST_ACTOR, surviving=current.patient, merged=other.patient)
    page = house.get(_editor(current.procedures.get()))
    assert [p.order.accession_number for p in page.context["priors"]] == ["OTHER", "OLD"]
    assert old.patient == current.patient


def test_the_reading_list_says_who_reads_an_exam(house, wilson):
    from ris.models import ScheduledProcedureStep
    from ris.states import StepStatus

    order = placed_order(accession="RL1", placer="PLRL1")
    ScheduledProcedureStep.objects.filter(requested_procedure__order=order).update(status=StepStatus.COMPLETED)
    house.get(_editor(order.procedures.get()))
    page = wilson.get("/reporting/")
    assert page.context["rows"][0].reading.holder.username == "drhouse"
    assert "being read by Greg House since" in page.content.decode()
