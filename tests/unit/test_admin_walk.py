"""Walk the admin: every registered model's list, add and change page opens
for a superuser without a server error (a view-only record answers 403 on
add, never 500)."""

import datetime as dt

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from hl7.log import inbound_store
from ris.records import MessageHeader, PerformedStepData, ScheduledStepRef
from ris.services.appointments import appointment_book
from ris.services.mpps import mpps_create
from tests import factories as f

pytestmark = pytest.mark.django_db

MODELS = sorted(admin.site._registry, key=lambda model: model._meta.label)


@pytest.fixture
def a_bit_of_everything():
    """At least one row of each kind the admin lists."""
    report = f.signed_final_report()
    room = f.room("CT9", "CT", opens=dt.time(0), closes=dt.time(23, 59))
    step = f.step(patient_id="WALK1", accession="WALKACC")
    appointment_book(actor=f.TEST_ACTOR, step=step, room=room, start=timezone.now() + dt.timedelta(days=1))
    mpps_create(
        actor=f.TEST_ACTOR,
        data=PerformedStepData(
            sop_instance_uid="1.2.3.4.99",
            status="IN PROGRESS",
            pps_id="PPS99",
            station_ae_title="CT9_AE",
            start=timezone.now(),
            modality="CT",
            patient_id="WALK1",
            scheduled_steps=[ScheduledStepRef("1.2.3.778")],
        ),
    )
    inbound_store(raw=b"MSH|^~\\&|EHR|HOSP|RIS|RAD|||ORM^O01|WALK1|P|2.3.1\r", header=MessageHeader(control_id="WALK1"))
    f.api_token(f.user_with_role("scheduler"))
    return report


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model._meta.label)
def test_every_admin_page_of_a_model_opens_without_a_server_error(admin_client, a_bit_of_everything, model):
    info = (model._meta.app_label, model._meta.model_name)
    pages = [reverse("admin:{}_{}_changelist".format(*info)), reverse("admin:{}_{}_add".format(*info))]
    row = model._default_manager.first()
    if row is not None:
        pages.append(reverse("admin:{}_{}_change".format(*info), args=[row.pk]))
    for page in pages:
        status = admin_client.get(page).status_code
        assert status in (200, 302, 403), (page, status)


def test_an_administrator_revokes_tokens_in_the_admin(admin_client):
    from ris.models import ApiToken

    f.api_token(f.user_with_role("scheduler", "sam"))
    token = ApiToken.objects.get()
    page = admin_client.get("/admin/ris/apitoken/").content.decode()
    assert token.prefix in page and token.digest not in page
    admin_client.post("/admin/ris/apitoken/", {"action": "revoke", "_selected_action": [token.pk]})
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_reason == "revoked by admin"
