"""The reading screen's aids in headless Chromium: a critical finding signed
and its communication recorded, a template and a macro inserted into the
editor, and the reading lock another radiologist meets."""

import datetime as dt

import pytest
from django.utils import timezone

from ris.models import CriticalResult, Procedure, Report, ReportTemplate, ScheduledProcedureStep, StaffProfile
from ris.services.reading_locks import reading_lock_take
from ris.states import CriticalCategory, StepStatus
from tests import factories as f
from tests.browser.conftest import log_in, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _exam(accession="CR1"):
    order = f.placed_order(accession=accession, placer=f"PL{accession}", start=timezone.now() - dt.timedelta(hours=1))
    ScheduledProcedureStep.objects.filter(requested_procedure__order=order).update(status=StepStatus.COMPLETED)
    return order.procedures.get()


def _reader(username="drhouse", first="Greg", last="House"):
    user = f.radiologist(username, first, last)
    user.set_password(f.PASSWORD)
    user.save()
    StaffProfile.objects.create(user=user, title="Dr.")
    return user


def test_a_critical_finding_is_signed_then_acknowledged_by_its_communication_record(page):
    procedure = _exam()
    _reader()
    page.on("dialog", lambda dialog: dialog.accept())
    log_in(page, "drhouse", f.PASSWORD)
    page.goto(f"/reporting/procedures/{procedure.pk}/")
    page.locator("#id_findings").fill("Acute subdural haematoma.")
    page.locator("#id_impression").fill("Acute bleed.")
    page.get_by_label("Critical finding").select_option(CriticalCategory.CRITICAL)
    page.get_by_role("button", name="Sign final").click()
    page.wait_for_url("**/reporting/")

    page.get_by_role("link", name="Critical results").click()
    page.wait_for_url("**/reporting/critical/")
    assert page.locator("#critical-open tbody tr").count() == 1
    page.get_by_role("link", name="Record communication").click()
    page.get_by_label("Told whom (name)").fill("Dr Cuddy")
    page.get_by_label("Their role").fill("ward physician")
    page.get_by_label("How").select_option("PHONE")
    page.get_by_role("button", name="Record and acknowledge").click()
    page.wait_for_selector("text=a critical result is acknowledged only once it was read back")
    assert CriticalResult.objects.get().is_open
    page.get_by_label("The recipient read the finding back").check()
    page.get_by_role("button", name="Record and acknowledge").click()
    page.wait_for_selector("text=Communication recorded")
    assert page.locator("#critical-done tbody tr").count() == 1
    result = CriticalResult.objects.get()
    assert not result.is_open and result.recipient_name == "Dr Cuddy" and result.read_back


def test_a_template_fills_the_report_and_a_macro_goes_where_the_cursor_is(page):
    procedure = _exam()
    _reader()
    ct_head = Procedure.objects.create(code="CTHEAD", name="CT head", modality="CT")
    ReportTemplate.objects.create(
        name="CT head normal", procedure=ct_head, findings="No intracranial bleed.", impression="Normal CT head."
    )
    ReportTemplate.objects.create(name="Compared", kind=ReportTemplate.Kind.MACRO, findings=" Unchanged from prior.")
    log_in(page, "drhouse", f.PASSWORD)
    page.goto(f"/reporting/procedures/{procedure.pk}/")
    page.get_by_role("button", name="CT head normal").click()
    assert page.locator("#id_findings").input_value() == "No intracranial bleed."
    assert page.locator("#id_impression").input_value() == "Normal CT head."
    impression = page.locator("#id_impression")
    impression.click()
    page.evaluate(
        "() => { const f = document.getElementById('id_impression'); f.selectionStart = f.selectionEnd = 6; }"
    )
    page.get_by_role("button", name="+ Compared").click()
    assert impression.input_value() == "Normal Unchanged from prior. CT head."
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_selector("text=Draft saved.")
    draft = Report.objects.get().draft()
    assert draft.findings == "No intracranial bleed." and draft.impression == "Normal Unchanged from prior. CT head."


def test_a_second_radiologist_sees_who_reads_the_exam_and_takes_it_over_explicitly(page):
    procedure = _exam()
    house = _reader()
    _reader("drwilson", "James", "Wilson")
    reading_lock_take(procedure=procedure, reader=house, actor=f.actor_of(house))
    page.on("dialog", lambda dialog: dialog.accept())
    log_in(page, "drwilson", f.PASSWORD)
    page.goto(f"/reporting/procedures/{procedure.pk}/")
    banner = page.locator(".reading-locked")
    assert "Being read by Dr. Greg House since" in banner.inner_text()
    assert page.locator("#write").count() == 0
    page.get_by_role("button", name="Take over the reading").click()
    page.wait_for_selector("text=You are reading this exam now.")
    wait_until(page, "document.getElementById('write') !== null")
    assert page.locator(".reading-locked").count() == 0
