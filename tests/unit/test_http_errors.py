"""One HTTP error map (web/errors.py): the same refusal gets the same status
through the pages, the REST API and the FHIR read API."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from ris import exceptions as domain
from ris.models import ScheduledProcedureStep
from ris.states import StepStatus
from tests import factories as f
from tests.factories import placed_order, radiologist, user_with_role
from web.errors import REFUSALS, refusal_for

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("exc", "status", "reason"),
    [
        (domain.InvalidInput("bad", field="x"), 400, "invalid"),
        (domain.NotFound("none"), 404, "not-found"),
        (domain.IllegalTransition("no"), 409, "conflict"),
        (domain.RoomFull("full"), 409, "business-rule"),
        (domain.DuplicateOrder("taken", field="accession_number"), 409, "duplicate"),
        (domain.LoginLocked("later"), 429, "throttled"),
        (domain.UnknownSender("who"), 400, "invalid"),
    ],
)
def test_each_refusal_has_one_status_and_reason(exc: domain.DomainError, status: int, reason: str) -> None:
    refusal = refusal_for(exc)
    assert (refusal.status, refusal.reason, refusal.error, refusal.detail) == (
        status,
        reason,
        type(exc).__name__,
        str(exc),
    )


def test_every_domain_refusal_is_in_the_map_before_its_base() -> None:
    kinds = [kind for kind, _, _ in REFUSALS]
    for at, kind in enumerate(kinds):
        assert not any(issubclass(kind, earlier) for earlier in kinds[:at]), f"{kind.__name__} is shadowed"


def _performed() -> Any:
    order = placed_order(accession="ERR1", start=timezone.now())
    ScheduledProcedureStep.objects.filter(requested_procedure__order=order).update(status=StepStatus.COMPLETED)
    return order.procedures.get()


def test_a_report_without_text_is_400_on_the_page_and_over_rest(client: Client) -> None:
    procedure = _performed()
    client.force_login(radiologist())
    page = client.post(f"/reporting/procedures/{procedure.pk}/", {"action": "final", "findings": ""})
    api = APIClient()
    api.force_authenticate(radiologist())
    draft = api.post("/api/reports/", {"procedure": procedure.pk}, format="json").json()
    rest = api.post(f"/api/reports/{draft['id']}/sign/", {"status": "final"}, format="json")
    assert (page.status_code, rest.status_code) == (400, 400)
    assert rest.json() == {"findings": ["a report needs findings or an impression"]}


def test_an_unknown_reporting_action_and_an_empty_addendum_are_400(client: Client) -> None:
    procedure = _performed()
    client.force_login(radiologist())
    url = f"/reporting/procedures/{procedure.pk}/"
    assert client.post(url, {"action": "shred"}).status_code == 400
    client.post(url, {"action": "final", "findings": "A", "impression": "B"})
    empty = client.post(url, {"action": "addendum", "text": ""})
    assert empty.status_code == 400 and "Addendum: This field is required." in empty.content.decode()


def test_the_board_refuses_an_unknown_status_as_bad_input(client: Client) -> None:
    step = f.step(start=f.local(timezone.localdate(), 12))
    client.force_login(user_with_role("technologist"))
    response = client.post(reverse("board_step_status", args=[step.pk]), {"status": "FLYING"})
    assert response.status_code == 400 and b"Status:" in response.content


def test_rest_refusals_name_themselves() -> None:
    api = APIClient()
    api.force_authenticate(radiologist())
    missing = api.get("/api/reports/999999/")
    assert missing.status_code == 404 and missing.json()["error"] == "NotFound"
    refused = api.post("/api/reports/", {}, format="json")
    assert refused.status_code == 400 and "non_field_errors" in refused.json()


def test_fhir_answers_a_refused_method_with_an_operation_outcome(client: Client) -> None:
    client.force_login(radiologist())
    response = client.post("/fhir/Patient", {})
    assert response.status_code == 405
    assert response.json()["issue"][0]["code"] == "not-supported"
