"""Two workdays in a real browser.

The scheduler's: books an order with the form (the next free slot offered),
moves it by dragging, is refused a conflicting booking with its reason, sees
another scheduler's booking appear without reloading, cancels an exam with a
reason, and the modality's worklist (dcmtk findscu) no longer has it.

The technologist's: checks a patient in (the exam stays on the worklist),
keeps the keyboard focus while the board refreshes, is told why a change was
refused, and sees the exam start when the modality sends a real MPPS N-CREATE
(pynetdicom), after which the worklist no longer offers it.
"""

import datetime as dt

import pytest
from django.utils import timezone

from ris.models import Appointment, ScheduledProcedureStep
from ris.services.appointments import appointment_book
from ris.services.steps import step_start_outside_modality
from tests import factories as f
from tests import mpps_scu
from tests.browser.conftest import log_in, screenshot
from tests.browser.test_scheduler import drag_event, slot_point
from tests.factories import TEST_ACTOR
from tests.peers import findscu

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def worklist_accessions(port: int, station: str) -> list[str]:
    """What the modality's worklist offers it now: a real C-FIND with dcmtk."""
    responses, proc = findscu(
        port,
        [f"ScheduledProcedureStepSequence[0].ScheduledStationAETitle={station}", "AccessionNumber", "PatientName"],
    )
    assert proc.returncode == 0, proc.stderr
    return sorted(r.AccessionNumber for r in responses)


def wait_until(page, check, tries: int = 100) -> None:
    """Poll the database while the browser's request finishes."""
    for _ in range(tries):
        if check():
            return
        page.wait_for_timeout(100)
    assert check()


def test_the_schedulers_day(page, dicom):
    day = timezone.localdate() + dt.timedelta(days=1)
    ct1 = f.room("CT1", ae_title="CT1_SCANNER", opens=dt.time(6), closes=dt.time(21))
    ct2 = f.room("CT2", ae_title="CT2_SCANNER", opens=dt.time(6), closes=dt.time(21))
    first = f.step(patient_id="MRN101", name="DAY^ANNA", accession="ACC101")
    f.step(patient_id="MRN102", name="DAY^BERT", accession="ACC102")
    f.user_with_role("scheduler", "sam")
    log_in(page, "sam", f.PASSWORD)

    # Book with the keyboard: the step's page offers the next free slot; choose 10:00 in CT1.
    page.goto(f"/calendar/?day={day}")
    page.wait_for_function("window.risCalendar !== undefined")
    assert "Next free: CT" in page.locator('.unbooked-step[data-accession="ACC101"]').inner_text()
    page.locator('.unbooked-step[data-accession="ACC101"]').focus()
    page.keyboard.press("Enter")
    page.locator("#suggestion").wait_for()
    page.get_by_label("Room").select_option(str(ct1.pk))
    page.get_by_label("Start").fill(f"{day}T10:00")
    page.get_by_role("button", name="Book", exact=True).click()
    page.get_by_role("status").filter(has_text="booked").wait_for()

    # Move it by dragging to CT2 at 12:00.
    page.goto(f"/calendar/?day={day}")
    event = page.locator(".ec-event", has_text="ACC101")
    event.wait_for()
    drag_event(page, event, slot_point(page, ct2, "12:00"))
    wait_until(page, lambda: Appointment.objects.get(step=first).room_id == ct2.pk)
    assert timezone.localtime(Appointment.objects.get(step=first).start).time() == dt.time(12)

    # A conflicting booking is refused with its reason.
    page.locator('.unbooked-step[data-accession="ACC102"]').focus()
    page.keyboard.press("Enter")
    page.get_by_label("Room").select_option(str(ct2.pk))
    page.get_by_label("Start").fill(f"{day}T12:00")
    page.get_by_role("button", name="Book", exact=True).click()
    refusal = page.locator(".alert-danger[role=alert]")
    refusal.wait_for()
    assert "CT2 already has 1 exam" in refusal.inner_text()

    # Another scheduler books meanwhile: the open calendar shows it without a reload.
    page.goto(f"/calendar/?day={day}")
    page.locator(".ec-event", has_text="ACC101").wait_for()
    other = f.step(patient_id="MRN103", name="DAY^CARL", accession="ACC103")
    appointment_book(actor=TEST_ACTOR, step=other, room=ct1, start=f.local(day, 15))
    page.locator(".ec-event", has_text="ACC103").wait_for(timeout=30_000)
    screenshot(page, "calendar-day.png")

    # Cancel ACC101 with a reason, from its booking.
    assert worklist_accessions(dicom, "CT2_SCANNER") == ["ACC101"]
    page.locator(".ec-event", has_text="ACC101").click()
    page.get_by_label("Reason").last.fill("patient declined the exam")
    page.get_by_role("button", name="Cancel exam").click()
    page.get_by_role("status").filter(has_text="cancelled").wait_for()
    first.refresh_from_db()
    assert (first.status, first.status_reason) == ("CANCELED", "patient declined the exam")
    assert page.locator(".ec-event", has_text="ACC101").count() == 0
    assert worklist_accessions(dicom, "CT2_SCANNER") == []


COUNT_SWAPS = "window.risSwaps = 0; document.body.addEventListener('htmx:afterSwap', () => window.risSwaps++);"


def test_the_technologists_day(page, dicom):
    now = timezone.now().replace(second=0, microsecond=0)
    ct1 = f.room("CT1", ae_title="CT1_SCANNER", opens=dt.time(0), closes=dt.time(0), capacity=2)
    f.procedure("CTHEAD")
    tina = f.step(patient_id="MRN201", name="TECH^TINA", accession="ACC201", priority="STAT")
    theo = f.step(patient_id="MRN202", name="TECH^THEO", accession="ACC202")
    appointment_book(actor=TEST_ACTOR, step=tina, room=ct1, start=now)  # walk-ins, booked now
    appointment_book(actor=TEST_ACTOR, step=theo, room=ct1, start=now)
    f.user_with_role("technologist", "tom")
    log_in(page, "tom", f.PASSWORD)
    page.goto("/board/")
    card = page.locator(f"#step-{tina.pk}")
    assert "STAT" in card.inner_text() and "Preparation: Remove metal objects." in card.inner_text()

    # Check Tina in: she stays on the scanner's worklist.
    card.get_by_role("button", name="Check in").click()
    page.locator(f"#step-{tina.pk} .step-status", has_text="ARRIVED").wait_for()
    assert worklist_accessions(dicom, "CT1_SCANNER") == ["ACC201", "ACC202"]

    # The keyboard focus survives the board's refreshes.
    page.evaluate(COUNT_SWAPS)
    page.locator(f"#ready-{theo.pk}").focus()
    page.wait_for_function("window.risSwaps >= 2")
    assert page.evaluate("document.activeElement.id") == f"ready-{theo.pk}"

    # A change the state machine refuses says why: Theo was started elsewhere meanwhile.
    select = page.locator(f"#status-{theo.pk}")
    select.focus()  # the board does not refresh under an open list
    step_start_outside_modality(actor=TEST_ACTOR, step=theo, reason="portable unit, no MPPS")
    select.select_option("ARRIVED")
    page.locator(f"#set-{theo.pk}").click()
    refusal = page.locator("#board-refusal")
    refusal.wait_for()
    assert "cannot go from STARTED to ARRIVED" in refusal.inner_text()

    # The scanner starts Tina's exam with a real MPPS N-CREATE; the board shows it, the worklist drops it.
    procedure = tina.requested_procedure
    item = mpps_scu.scheduled_item(
        procedure.study_instance_uid, accession="ACC201", rp_id=procedure.requested_procedure_id, sps_id=tina.sps_id
    )
    with mpps_scu.MppsScu(dicom, calling_ae="CT1_SCANNER") as modality:
        reply, _ = modality.create(mpps_scu.in_progress([item], patient_id="MRN201", station="CT1_SCANNER"))
    assert reply.Status == 0x0000
    page.locator(f"#step-{tina.pk} .step-status", has_text="STARTED").wait_for()
    assert ScheduledProcedureStep.objects.get(pk=tina.pk).status == "STARTED"
    assert worklist_accessions(dicom, "CT1_SCANNER") == []
    screenshot(page, "status-board-day.png")
