"""Behind RIS_TRUSTED_PROXIES proxies, the client's address (the one the
outermost trusted proxy appended to X-Forwarded-For) is what the throttle
counts and the audit trail records; a forged hop in front is not."""

import pytest

from ris.models import AuditEvent, LoginAttempt
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def one_proxy(settings):
    settings.RIS_TRUSTED_PROXIES = 1
    settings.MIDDLEWARE = ["web.middleware.ClientAddressFromProxy", *settings.MIDDLEWARE]


def test_the_address_a_trusted_proxy_appended_is_the_one_audited(client, one_proxy):
    order = f.placed_order()
    client.force_login(f.user_with_role("scheduler", "sam"))
    client.get(f"/patients/{order.patient_id}/", HTTP_X_FORWARDED_FOR="6.6.6.6, 10.1.2.3")
    assert AuditEvent.objects.filter(actor="sam").get().address == "10.1.2.3"


def test_failures_behind_a_proxy_are_counted_per_client(client, one_proxy, settings):
    f.user_with_role("scheduler", "sam")
    for _ in range(settings.RIS_LOGIN_MAX_FAILURES):
        client.post("/login/", {"username": "sam", "password": "no"}, HTTP_X_FORWARDED_FOR="10.0.0.1")
    assert set(LoginAttempt.objects.values_list("address", flat=True)) == {"10.0.0.1"}
    client.post("/login/", {"username": "sam", "password": f.PASSWORD}, HTTP_X_FORWARDED_FOR="10.0.0.2")
    assert "_auth_user_id" in client.session  # the same user from another machine is not locked


def test_without_trusted_proxies_the_header_is_ignored(client):
    order = f.placed_order()
    client.force_login(f.user_with_role("scheduler", "sam"))
    client.get(f"/patients/{order.patient_id}/", HTTP_X_FORWARDED_FOR="10.1.2.3")
    assert AuditEvent.objects.filter(actor="sam").get().address == "127.0.0.1"
