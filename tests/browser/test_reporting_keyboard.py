"""The reporting page in headless Chromium, driven by the keyboard only."""
import os
import shutil

import pytest

from ris.models import Report, ScheduledProcedureStep
from ris.states import ReportStatus, StepStatus
from tests.factories import placed_order, radiologist

playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(not CHROMIUM, reason="needs Chromium (Debian: chromium)")]
# Playwright's sync API runs an event loop in this thread; the ORM calls below are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def browser_page(live_server, client):
    client.force_login(radiologist())
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context(base_url=live_server.url)
        context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                              "url": live_server.url}])
        page = context.new_page()
        page.set_default_timeout(10000)
        yield page
        browser.close()


@pytest.fixture
def procedure(transactional_db):
    order = placed_order(accession="KB1")
    ScheduledProcedureStep.objects.filter(requested_procedure__order=order).update(status=StepStatus.COMPLETED)
    return order.procedures.get()


def test_j_and_enter_open_an_exam_ctrl_s_saves_and_ctrl_enter_signs_final(browser_page, procedure):
    page = browser_page
    page.goto("/reporting/")
    page.locator("body").press("j")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/reporting/procedures/{procedure.pk}/")
    page.keyboard.type("Lungs clear.")  # the findings box has the focus
    page.keyboard.press("Control+s")
    page.wait_for_selector("text=Draft saved.")
    assert Report.objects.get().draft().findings == "Lungs clear."

    page.on("dialog", lambda dialog: dialog.accept())
    page.locator("#id_impression").focus()
    page.keyboard.type("Normal chest.")
    page.keyboard.press("Control+Enter")
    page.wait_for_url("**/reporting/")
    report = Report.objects.get()
    assert report.status == ReportStatus.FINAL and report.latest_signed().impression == "Normal chest."
