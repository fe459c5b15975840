"""The reporting page in headless Chromium, driven by the keyboard only."""

import shutil
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.db import connections
from django.test.testcases import LiveServerThread

from ris.models import Report, ScheduledProcedureStep
from ris.states import ReportStatus, StepStatus
from tests.browser.conftest import wait_until
from tests.factories import placed_order, radiologist

playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(not CHROMIUM, reason="needs Chromium (Debian: chromium)")]


def read_db(query):
    """Run an ORM read in its own thread: Playwright keeps an event loop in
    this one (Django refuses sync ORM calls there)."""

    def run():
        try:
            return query()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(run).result()


@pytest.fixture
def web(transactional_db):
    """The site on a free port for this test only."""
    server = LiveServerThread("127.0.0.1", StaticFilesHandler)
    server.daemon = True
    server.start()
    server.is_ready.wait()
    if server.error:
        raise server.error
    yield f"http://127.0.0.1:{server.port}"
    server.terminate()


@pytest.fixture
def procedure(transactional_db):
    order = placed_order(accession="KB1")
    ScheduledProcedureStep.objects.filter(requested_procedure__order=order).update(status=StepStatus.COMPLETED)
    return order.procedures.get()


@pytest.fixture
def browser_page(web, procedure, client, browser):
    """A page of the session's browser (tests/browser/conftest.py): a second
    sync Playwright in the same process would find the first one's event loop."""
    client.force_login(radiologist())
    context = browser.new_context(base_url=web)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": web}])
    page = context.new_page()
    page.set_default_timeout(10000)
    yield page
    context.close()


def test_j_and_enter_open_an_exam_ctrl_s_saves_and_ctrl_enter_signs_final(procedure, browser_page):
    page = browser_page
    page.goto("/reporting/")
    page.locator("body").press("j")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/reporting/procedures/{procedure.pk}/")
    # The findings box has the focus once the page has loaded; a person types after that.
    wait_until(page, "document.activeElement && document.activeElement.id === 'id_findings'")
    page.keyboard.type("Lungs clear.")
    page.keyboard.press("Control+s")
    page.wait_for_selector("text=Draft saved.")
    assert read_db(lambda: Report.objects.get().draft().findings) == "Lungs clear."

    page.on("dialog", lambda dialog: dialog.accept())
    page.locator("#id_impression").focus()
    page.keyboard.type("Normal chest.")
    page.keyboard.press("Control+Enter")
    page.wait_for_url("**/reporting/")
    report = read_db(lambda: Report.objects.get())
    assert report.status == ReportStatus.FINAL
    assert read_db(lambda: report.latest_signed().impression) == "Normal chest."
