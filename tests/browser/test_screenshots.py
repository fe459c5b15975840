"""The README's screenshots, from a small busy day. Refresh them with:

RIS_SCREENSHOTS=docs/images python -m pytest tests/browser/test_screenshots.py
"""

import datetime as dt
import os

import pytest
from django.utils import timezone

from ris.models import BlockedTime
from ris.services.appointments import appointment_book
from ris.services.steps import step_set_status
from tests import factories as f
from tests.browser.conftest import log_in, screenshot
from tests.factories import TEST_ACTOR

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not os.environ.get("RIS_SCREENSHOTS"), reason="set RIS_SCREENSHOTS=docs/images to refresh"),
]

PATIENTS = ["MUSTER^ERIKA", "DOE^JOHN", "ROSSI^MARIO", "DUPONT^MARIE", "SMITH^ANNA", "NOVAK^JAN", "BAKER^TOM"]


def busy_day(today):
    rooms = {
        code: f.room(code, modality, opens=dt.time(7), closes=dt.time(19))
        for code, modality in [("CT1", "CT"), ("CT2", "CT"), ("MR1", "MR")]
    }
    f.procedure("MRKNEE", "MR", 30, "MR Knee")
    BlockedTime.objects.create(room=rooms["CT2"], start=f.local(today, 12), end=f.local(today, 13), reason="Daily QA")
    plan = [
        ("CT1", 8, 0, "CTHEAD", "CT"),
        ("CT1", 8, 30, "CTHEAD", "CT"),
        ("CT2", 9, 0, "CTHEAD", "CT"),
        ("MR1", 8, 0, "MRKNEE", "MR"),
        ("MR1", 9, 0, "MRKNEE", "MR"),
    ]
    steps = []
    for i, (code, hour, minute, procedure, modality) in enumerate(plan):
        step = f.step(patient_id=f"MRN{i}", name=PATIENTS[i], code=procedure, modality=modality, accession=f"A{i}")
        appointment_book(actor=TEST_ACTOR, step=step, room=rooms[code], start=f.local(today, hour, minute))
        steps.append(step)
    for i in (5, 6):
        f.step(patient_id=f"MRN{i}", name=PATIENTS[i], accession=f"A{i}", priority="STAT" if i == 5 else "ROUTINE")
    return steps


def test_screenshots_of_the_calendar_and_the_status_board(page):
    today = timezone.localdate()
    steps = busy_day(today)
    for step, status in zip(steps, ["STARTED", "ARRIVED", "READY"], strict=False):
        step_set_status(actor=TEST_ACTOR, step=step, status=status)
    f.user_with_role("administrator", "admin")
    log_in(page, "admin", f.PASSWORD)
    page.goto("/calendar/")
    page.locator(".ec-event", has_text="A4").wait_for()
    screenshot(page, "calendar.png")
    page.goto("/board/")
    page.locator(f"#step-{steps[0].pk}").wait_for()
    screenshot(page, "status-board.png")
