"""An unsigned draft's text is shown only to roles that write reports, in
every door: the REST API, FHIR DiagnosticReport and the pages."""

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from ris.services.reports import report_save_draft, report_sign
from ris.states import ReportStatus
from tests.factories import TEST_ACTOR, placed_order, radiologist, user_with_role

pytestmark = pytest.mark.django_db

DRAFT_TEXT = "Unsigned draft finding"


@pytest.fixture
def draft():
    procedure = placed_order().procedures.get()
    return report_save_draft(
        actor=TEST_ACTOR, procedure=procedure, author=radiologist(), findings=DRAFT_TEXT, impression="Pending."
    ).report


@pytest.fixture
def signed_then_redrafted():
    """A final report with a correction being drafted: the signed text shows, the new draft does not."""
    procedure = placed_order(accession="ACC2", placer="PL2", patient_id="PAT2").procedures.get()
    first = report_save_draft(
        actor=TEST_ACTOR, procedure=procedure, author=radiologist(), findings="Signed text.", impression=""
    )
    report_sign(actor=TEST_ACTOR, report=first.report, signer=radiologist(), status=ReportStatus.PRELIMINARY)
    report_save_draft(actor=TEST_ACTOR, procedure=procedure, author=radiologist(), findings=DRAFT_TEXT, impression="")
    return first.report


def _as(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.parametrize("role", ["scheduler", "technologist"])
def test_the_reports_api_hides_draft_text_from_roles_that_do_not_write_reports(draft, signed_then_redrafted, role):
    client = _as(user_with_role(role))
    listed = client.get("/api/reports/").content.decode()
    single = client.get(f"/api/reports/{signed_then_redrafted.pk}/").json()
    assert DRAFT_TEXT not in listed and DRAFT_TEXT not in str(single)
    assert [v["findings"] for v in single["versions"]] == ["Signed text."]


def test_the_reports_api_shows_drafts_to_radiologists(draft):
    versions = _as(radiologist("rita")).get(f"/api/reports/{draft.pk}/").json()["versions"]
    assert [(v["status"], v["findings"]) for v in versions] == [("DRAFT", DRAFT_TEXT)]


def test_fhir_diagnostic_reports_never_carry_draft_text(draft, signed_then_redrafted):
    for user in (user_with_role("technologist"), radiologist("rita")):
        client = _as(user)
        assert DRAFT_TEXT not in client.get("/fhir/DiagnosticReport").content.decode()
        assert client.get(f"/fhir/DiagnosticReport/{draft.uid}").status_code == 404
        assert DRAFT_TEXT not in client.get(f"/fhir/DiagnosticReport/{signed_then_redrafted.uid}").content.decode()


@pytest.mark.parametrize("role", ["scheduler", "technologist"])
def test_the_pages_show_draft_text_to_no_other_role(client, draft, role):
    client.force_login(user_with_role(role))
    procedure = draft.procedure
    assert client.get(f"/reporting/procedures/{procedure.pk}/").status_code == 403
    for page in ("/orders/", "/board/", f"/patients/{draft.order.patient_id}/"):
        response = client.get(page)
        assert response.status_code == 200 and DRAFT_TEXT not in response.content.decode(), page
