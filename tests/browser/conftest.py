"""Headless Debian Chromium driven by Playwright, against pytest-django's live_server."""

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
# Playwright's sync API runs an event loop in this thread; the ORM calls the
# tests make between browser steps are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1500, "height": 1100})
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def log_in(page, username: str, password: str) -> None:
    page.goto("/login/")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login/" not in url)


def screenshot(page, name: str) -> None:
    """Save a screenshot for the README when RIS_SCREENSHOTS names a folder."""
    folder = os.environ.get("RIS_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / name))


def wait_until(page, expression: str, timeout: float = 10.0) -> None:
    """Wait until a JavaScript expression is true in the page. Playwright's
    wait_for_function evaluates its predicate with eval inside the page, which
    the RIS's Content-Security-Policy refuses; page.evaluate does not."""
    import time

    deadline = time.monotonic() + timeout
    while not page.evaluate(f"() => Boolean({expression})"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"not true after {timeout} s: {expression}")
        page.wait_for_timeout(50)
