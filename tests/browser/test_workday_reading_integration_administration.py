"""A working day per role in headless Chromium: the radiologist reads, signs,
corrects, reads the old version and prints; the integration engineer sees
the dead-letter banner, reprocesses an inbound message and resends an
outbound one; the administrator adds a user with a role and a room with its
week. Every page they see fits 768 px without scrolling sideways.

With RIS_SCREENSHOTS=docs/images the README's screenshots of these pages are
refreshed, at 1,920 and at 768 px.
"""

import datetime as dt

import pytest
from django.utils import timezone

from hl7.intake import receive
from hl7.models import HL7Sender, InboundMessage
from ris.models import (
    Destination,
    OpeningHours,
    OutboundMessage,
    PerformedProcedureStep,
    Report,
    Room,
    ScheduledProcedureStep,
    StaffProfile,
)
from ris.states import PerformedStepStatus, ReportStatus, StepStatus
from tests import factories as f
from tests.browser.conftest import log_in, screenshot
from tests.hl7_builders import orm_new_order

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

NARROW, WIDE = {"width": 768, "height": 1024}, {"width": 1920, "height": 1080}


def fits(page) -> None:
    """The page at 768 px: nothing scrolls sideways."""
    page.set_viewport_size(NARROW)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, (page.url, overflow)


def both_widths(page, name: str) -> None:
    """Check the narrow width, take both screenshots, go back to wide."""
    fits(page)
    screenshot(page, f"{name}-768.png")
    page.set_viewport_size(WIDE)
    screenshot(page, f"{name}.png")


def performed_exam(accession: str, name: str, *, priority: str = "ROUTINE", ended_minutes_ago: int = 30):
    now = timezone.now()
    order = f.placed_order(
        accession=accession,
        placer=f"PL{accession}",
        patient_id=f"P{accession}",
        name=name,
        priority=priority,
        start=now - dt.timedelta(hours=5),
    )
    steps = ScheduledProcedureStep.objects.filter(requested_procedure__order=order)
    mpps = PerformedProcedureStep.objects.create(
        sop_instance_uid=f"1.2.826.0.1.77.{accession}",
        pps_id=accession,
        station_ae_title="CT01",
        modality="CT",
        status=PerformedStepStatus.COMPLETED,
        start=now - dt.timedelta(minutes=ended_minutes_ago + 15),
        end=now - dt.timedelta(minutes=ended_minutes_ago),
    )
    mpps.steps.set(steps)
    steps.update(status=StepStatus.COMPLETED)
    return order.procedures.get()


def test_the_radiologist_reads_signs_corrects_reads_the_old_version_and_prints(page):
    first = performed_exam("RD1", "MUSTER^ERIKA", priority="STAT", ended_minutes_ago=95)
    performed_exam("RD2", "ROSSI^MARIO", ended_minutes_ago=40)
    performed_exam("RD3", "YAMADA^TARO=山田^太郎", ended_minutes_ago=10)
    reader = f.radiologist()
    reader.set_password(f.PASSWORD)
    reader.save()
    StaffProfile.objects.create(user=reader, title="Dr.", credentials="MD, FRCR")
    page.set_viewport_size(WIDE)
    page.on("dialog", lambda dialog: dialog.accept())

    log_in(page, "drhouse", f.PASSWORD)
    page.wait_for_url("**/reporting/")  # a radiologist's home is the reading list
    assert page.get_by_role("link", name="Reading list").get_attribute("aria-current") == "page"
    assert page.locator("#waiting tr.overdue").count() == 1  # the STAT exam, waiting over an hour
    both_widths(page, "reading-list")

    page.get_by_role("link", name="MUSTER, ERIKA").click()
    page.wait_for_url(f"**/reporting/procedures/{first.pk}/")
    page.get_by_label("Findings").fill("No acute intracranial haemorrhage.")
    page.get_by_label("Impression").fill("Normal CT head.")
    both_widths(page, "report-editor")
    page.get_by_role("button", name="Sign final").click()
    page.wait_for_url("**/reporting/")
    page.get_by_text("Signed final and sent.").wait_for()

    page.goto(f"/reporting/procedures/{first.pk}/")
    page.get_by_label("Findings").fill("Small chronic lacunar infarct, left basal ganglia.")
    page.get_by_role("button", name="Sign correction").click()
    page.wait_for_url("**/reporting/")
    report = Report.objects.get(procedure=first)
    assert report.status == ReportStatus.CORRECTED

    page.goto(f"/reporting/procedures/{first.pk}/")
    assert page.get_by_text("Dr. Greg House, MD, FRCR").count() >= 1
    page.get_by_role("link", name="Version history").click()
    page.locator("#v1").get_by_text("No acute intracranial haemorrhage.").wait_for()
    page.locator("#v2").get_by_text("Small chronic lacunar infarct").wait_for()
    both_widths(page, "report-versions")

    pdf = page.request.get(f"/reporting/procedures/{first.pk}/report.pdf")
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF")

    page.get_by_role("link", name="Reading list").click()
    page.get_by_label("Language").select_option("de")  # sent on change
    page.get_by_role("heading", name="Untersuchungen, die auf den Befund warten").wait_for()
    both_widths(page, "reading-list-de")
    page.get_by_label("Sprache").select_option("en")
    page.get_by_role("heading", name="Exams waiting to be read").wait_for()


def test_the_integration_engineer_sees_dead_letters_reprocesses_and_resends(page):
    HL7Sender.objects.create(application="EHR")
    receive(orm_new_order("LATE1").replace("|EHR|", "|LAB|", 1).encode(), "test")
    rejected = InboundMessage.objects.get(control_id="LATE1")
    assert rejected.status == "REJECTED"
    ehr = Destination.objects.create(name="EHR", kind=Destination.Kind.HL7_MLLP, host="127.0.0.1", port=9)
    for i in range(13):
        OutboundMessage.objects.create(
            destination=ehr,
            event="order_status",
            status=OutboundMessage.Status.DEAD,
            control_id=f"OS{i:03}",
            payload=f"MSH|^~\\&|RIS|RAD|EHR|HOSP|20261201||ORM^O01|OS{i:03}|P|2.5.1\rPID|1||PAT1^^^HOSP||MÜLLER^HANS",
            built_at=timezone.now(),
            attempts=10,
            last_error="[Errno 111] Connection refused",
        )
    engineer = f.user_with_role("integration engineer", "integrator")
    page.set_viewport_size(WIDE)
    page.on("dialog", lambda dialog: dialog.accept())

    log_in(page, "integrator", f.PASSWORD)
    page.wait_for_url("**/console/")
    page.get_by_role("alert").get_by_text("13 outbound messages were given up.").wait_for()
    both_widths(page, "console")
    assert engineer.is_staff is False

    page.get_by_role("link", name="HL7 senders").click()
    page.get_by_role("link", name="Add").click()
    page.get_by_label("Sending application (MSH-3)").fill("LAB")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Saved sender LAB").wait_for()

    page.get_by_role("link", name="Inbound", exact=True).click()
    page.get_by_label("Status").select_option("REJECTED")
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("link", name=timezone.localtime(rejected.received_at).strftime("%Y-%m-%d %H:%M:%S")).click()
    page.get_by_role("button", name="Reprocess").click()
    page.get_by_text("Reprocessed: answered AA").wait_for()
    both_widths(page, "console-inbound")
    rejected.refresh_from_db()
    assert rejected.status == "APPLIED"

    page.get_by_role("link", name="Look at the dead letters").click()
    page.locator("tbody tr").first.get_by_role("link").first.click()
    page.locator("#payload").get_by_text("MÜLLER^HANS").wait_for()
    page.get_by_role("button", name="Send again").click()
    page.get_by_text("queued again").wait_for()
    both_widths(page, "console-outbound")
    assert OutboundMessage.objects.filter(status=OutboundMessage.Status.PENDING).count() == 1
    page.get_by_role("alert").get_by_text("12 outbound messages were given up.").wait_for()


def test_the_administrator_adds_a_user_with_a_role_and_a_room_with_its_week(page):
    f.user_with_role("administrator", "chief")
    page.set_viewport_size(WIDE)
    log_in(page, "chief", f.PASSWORD)

    page.get_by_role("link", name="Users & roles").click()
    page.get_by_role("link", name="Add a user").click()
    page.get_by_label("User name").fill("dr.meier")
    page.get_by_label("Given name").fill("Anna")
    page.get_by_label("Family name").fill("Meier")
    page.get_by_label("Title").fill("Dr.")
    page.get_by_label("Credentials").fill("FÄ Radiologie")
    page.get_by_label("radiologist").check()
    page.get_by_label("Initial password").fill("a long enough secret")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("User dr.meier saved.").wait_for()
    both_widths(page, "administration-users")

    page.get_by_role("link", name="Rooms & catalogue").click()
    page.get_by_role("link", name="Add a room").click()
    page.get_by_label("Code").fill("ER1")
    page.get_by_label("Name").fill("Emergency CT")
    page.get_by_label("Modality").fill("CT")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/manage/rooms/*/hours/")
    for day in ("Monday", "Tuesday", "Wednesday", "Thursday"):
        page.get_by_label(f"{day} open", exact=True).check()
        page.get_by_label(f"{day} opens", exact=True).fill("07:00")
        page.get_by_label(f"{day} closes", exact=True).fill("19:00")
    page.get_by_label("Friday open", exact=True).check()
    page.get_by_label("Friday opens", exact=True).fill("20:00")
    page.get_by_label("Friday closes", exact=True).fill("06:00")  # overnight into Saturday
    page.get_by_label("Sunday open", exact=True).check()
    page.get_by_label("Sunday 24 h", exact=True).check()
    both_widths(page, "room-week")
    page.get_by_role("button", name="Save the week").click()
    page.get_by_text("Opening hours of ER1 saved.").wait_for()
    both_widths(page, "rooms")

    room = Room.objects.get(code="ER1")
    assert OpeningHours.objects.filter(room=room).count() == 6  # Mon-Thu, Fri night into Saturday, Sun
    from django.contrib.auth.models import User

    assert User.objects.get(username="dr.meier").groups.get().name == "radiologist"


@pytest.mark.parametrize("path", ["/patients/", "/audit/", "/board/", "/orders/", "/calendar/"])
def test_at_768_px_the_menu_of_every_role_fits_without_scrolling_sideways(page, path):
    f.user_with_role("administrator", "everything")  # the longest menu
    log_in(page, "everything", f.PASSWORD)
    page.set_viewport_size(NARROW)
    page.goto(path)
    page.locator("nav").first.wait_for()
    fits(page)
