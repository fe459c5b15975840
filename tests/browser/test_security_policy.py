"""Every page, opened in Chromium under the RIS's Content-Security-Policy,
runs without a single CSP violation or console error: no inline script or
style element, no eval, only our own and the vendored assets."""

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from hl7.log import inbound_store
from ris.records import MessageHeader
from ris.services.appointments import appointment_book
from tests import factories as f
from tests.browser.conftest import log_in
from tests.factories import TEST_ACTOR

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

COLLECT_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


def _a_day_of_data():
    tomorrow = timezone.localdate() + dt.timedelta(days=1)  # a booking in the past is refused
    room = f.room("CT1", "CT", opens=dt.time(0), closes=dt.time(23, 59))
    step = f.step(patient_id="CSP1", name="CSP^PATIENT", accession="CSPACC1")
    appointment_book(actor=TEST_ACTOR, step=step, room=room, start=f.local(tomorrow, 10))
    order = step.requested_procedure.order
    message = inbound_store(
        raw=b"MSH|^~\\&|EHR|HOSP|RIS|RAD|||ORM^O01|CSPMSG1|P|2.3.1\r",
        header=MessageHeader(control_id="CSPMSG1", message_type="ORM^O01"),
    )
    message.order = order
    message.save(update_fields=["order"])
    return {"step": step, "order": order, "room": room, "message": message}


def _pages(data) -> list[str]:
    step, order, room = data["step"], data["order"], data["room"]
    procedure = step.requested_procedure
    pages = [
        "/orders/",
        "/orders/new/",
        f"/steps/{step.pk}/book/",
        "/calendar/",
        "/board/",
        "/patients/",
        "/patients/?name=CSP",
        f"/patients/{order.patient_id}/",
        "/messages/",
        f"/messages/{data['message'].pk}/",
        "/modalities/",
        "/audit/",
        "/manage/rooms/",
        "/manage/rooms/new/",
        f"/manage/rooms/{room.pk}/",
        "/reporting/",
        f"/reporting/procedures/{procedure.pk}/",
        "/account/tokens/",
        "/api/",
        "/api/orders/",
        "/admin/",
        "/admin/ris/imagingorder/",
        f"/admin/ris/imagingorder/{order.pk}/change/",
        "/admin/ris/room/add/",
        "/admin/auth/user/",
    ]
    return pages


def test_every_page_runs_under_the_content_security_policy(page):
    data = _a_day_of_data()
    boss = f.user_with_role("administrator", "csp_admin")
    User.objects.filter(pk=boss.pk).update(is_staff=True, is_superuser=True)
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.add_init_script(COLLECT_VIOLATIONS)
    log_in(page, "csp_admin", f.PASSWORD)
    found = {}
    for path in _pages(data):
        errors.clear()
        response = page.goto(path)
        assert response.status < 400, (path, response.status)
        assert "Content-Security-Policy" in response.headers or "content-security-policy" in response.headers
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(300)  # a poll or a calendar fetch after the load
        violations = page.evaluate("window.__violations")
        if violations or errors:
            found[path] = violations + errors
    assert not found, "\n".join(f"{path}: {sorted(set(problems))}" for path, problems in found.items())
