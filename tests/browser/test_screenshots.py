"""The README's screenshots, from a small busy department. Refresh them with:

RIS_SCREENSHOTS=docs/images python -m pytest tests/browser/test_screenshots.py

The calendar shows tomorrow (a booking in the past is refused); the board
shows today's exams from now on in the emergency room, open 24 hours.
"""

import datetime as dt
import os

import pytest
from django.utils import timezone

from ris.models import BlockedTime, ImagingOrder, OpeningHours, ReportVersion
from ris.records import PerformedStepData, ScheduledStepRef
from ris.services.appointments import appointment_book
from ris.services.mpps import mpps_create
from ris.services.reports import report_save_draft, report_sign
from ris.services.steps import step_check_in, step_ready
from tests import factories as f
from tests.browser.conftest import log_in, screenshot
from tests.factories import TEST_ACTOR

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not os.environ.get("RIS_SCREENSHOTS"), reason="set RIS_SCREENSHOTS=docs/images to refresh"),
]

PATIENTS = ["MUSTER^ERIKA", "DOE^JOHN", "ROSSI^MARIO", "DUPONT^MARIE", "SMITH^ANNA", "NOVAK^JAN", "BAKER^TOM"]


def busy_day(day):
    rooms = {
        code: f.room(code, modality, opens=dt.time(7), closes=dt.time(19))
        for code, modality in [("CT1", "CT"), ("CT2", "CT"), ("MR1", "MR")]
    }
    OpeningHours.objects.filter(room=rooms["MR1"]).update(opens=dt.time(8), closes=dt.time(16))
    f.procedure("CTHEAD", "CT", 20, "CT Head")
    f.procedure("MRKNEE", "MR", 30, "MR Knee")
    BlockedTime.objects.create(room=rooms["CT2"], start=f.local(day, 12), end=f.local(day, 13), reason="Daily QA")
    plan = [("CT1", 8, 0, "CTHEAD", "CT"), ("CT1", 8, 30, "CTHEAD", "CT"), ("CT2", 9, 0, "CTHEAD", "CT")]
    plan += [("MR1", 8, 0, "MRKNEE", "MR"), ("MR1", 9, 0, "MRKNEE", "MR")]
    for i, (code, hour, minute, procedure, modality) in enumerate(plan):
        step = f.step(patient_id=f"MRN{i}", name=PATIENTS[i], code=procedure, modality=modality, accession=f"A{i}")
        appointment_book(actor=TEST_ACTOR, step=step, room=rooms[code], start=f.local(day, hour, minute))
    for i in (5, 6):
        f.step(patient_id=f"MRN{i}", name=PATIENTS[i], accession=f"A{i}", priority="STAT" if i == 5 else "ROUTINE")
    flagged = f.step(patient_id="MRN7", name="WEBER^LUKAS", accession="A7")
    flagged.scheduling_note = "The order now asks for 21:00; the booking in CT1 could not follow: Room CT1 is not open."
    flagged.save(update_fields=["scheduling_note"])


def emergency_today():
    """Three exams in the 24-hour emergency CT from now: one started by its MPPS, one arrived, one ready."""
    room = f.room("ER1", "CT", opens=dt.time(0), closes=dt.time(0), capacity=3, ae_title="ER1_CT")
    now = timezone.now().replace(second=0, microsecond=0)
    steps = []
    for i, (name, priority) in enumerate([("STONE^EMMA", "STAT"), ("KIM^MIN", "HIGH"), ("LOPEZ^ANA", "ROUTINE")]):
        step = f.step(patient_id=f"ER{i}", name=name, accession=f"E{i}", priority=priority)
        order = step.requested_procedure.order
        order.reason = ["Suspected stroke", "Head trauma", "Follow-up"][i]
        order.save(update_fields=["reason"])
        appointment_book(actor=TEST_ACTOR, step=step, room=room, start=now + dt.timedelta(minutes=20 * i))
        steps.append(step)
    procedure = steps[0].requested_procedure
    ref = ScheduledStepRef(study_instance_uid=procedure.study_instance_uid, sps_id=steps[0].sps_id)
    mpps_create(
        actor=TEST_ACTOR,
        data=PerformedStepData(
            sop_instance_uid="1.2.826.0.1.3680043.10.1",
            status="IN PROGRESS",
            pps_id="PPS1",
            station_ae_title="ER1_CT",
            start=now,
            modality="CT",
            scheduled_steps=[ref],
        ),
    )
    step_check_in(actor=TEST_ACTOR, step=steps[1])
    step_ready(actor=TEST_ACTOR, step=steps[2])
    return steps


def performed(step, start: dt.datetime, uid: str) -> None:
    procedure = step.requested_procedure
    ref = ScheduledStepRef(study_instance_uid=procedure.study_instance_uid, sps_id=step.sps_id)
    data = PerformedStepData(
        sop_instance_uid=uid,
        status="IN PROGRESS",
        pps_id=uid[-4:],
        station_ae_title="CT1_AE",
        start=start,
        modality="CT",
        scheduled_steps=[ref],
    )
    mpps_create(actor=TEST_ACTOR, data=data)


def earlier_today():
    """Two exams of this morning: one read (preliminary, then final), one STAT still unread (overdue)."""
    now = timezone.now()
    read = f.step(patient_id="H0", name="HOFFMANN^PETER", accession="H0")
    late = f.step(patient_id="H1", name="OKAFOR^GRACE", accession="H1", priority="STAT")
    for step, ordered in ((read, 5), (late, 4)):
        ImagingOrder.objects.filter(pk=step.requested_procedure.order_id).update(
            created_at=now - dt.timedelta(hours=ordered)
        )
    performed(read, now - dt.timedelta(hours=4, minutes=10), "1.2.826.0.1.3680043.10.2")
    performed(late, now - dt.timedelta(hours=3, minutes=30), "1.2.826.0.1.3680043.10.3")
    reader = f.radiologist()
    draft = report_save_draft(
        actor=TEST_ACTOR, procedure=read.requested_procedure, author=reader, findings="No bleed.", impression="Normal."
    )
    report_sign(actor=TEST_ACTOR, report=draft.report, signer=reader, status="PRELIMINARY")
    report_sign(actor=TEST_ACTOR, report=draft.report, signer=reader, status="FINAL")
    versions = ReportVersion.objects.filter(report=draft.report).exclude(status="DRAFT").order_by("number")
    for version, hours in zip(versions, (3, 1), strict=False):
        ReportVersion.objects.filter(pk=version.pk).update(signed_at=now - dt.timedelta(hours=hours))


def test_screenshots_of_the_calendar_the_status_board_and_turnaround(page):
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    busy_day(tomorrow)
    steps = emergency_today()
    earlier_today()
    f.user_with_role("administrator", "admin")
    log_in(page, "admin", f.PASSWORD)
    page.goto(f"/calendar/?day={tomorrow}")
    page.locator(".ec-event", has_text="A4").wait_for()
    screenshot(page, "calendar.png")
    page.goto("/board/")
    page.locator(f"#step-{steps[0].pk}").wait_for()
    screenshot(page, "status-board.png")
    page.goto("/turnaround/")
    page.locator("#turnaround").wait_for()
    screenshot(page, "turnaround.png")
