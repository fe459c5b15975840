"""The REST door for dictation systems: same services, HTTP status for refusals."""

import pytest
from rest_framework.test import APIClient

from ris.models import Destination, OutboundMessage, Report
from tests.factories import api_token, placed_order, radiologist

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    client = APIClient()
    token = api_token(radiologist())
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


@pytest.fixture
def order():
    Destination.objects.create(name="EHR", kind=Destination.Kind.HL7_MLLP, host="127.0.0.1", port=1)
    return placed_order(accession="ACC7001")


def _draft(api, **extra):
    body = {"accession_number": "ACC7001", "findings": "No bleed.", "impression": "Normal.", **extra}
    return api.post("/api/reports/", body, format="json")


def test_a_dictation_system_creates_and_signs_a_final_report(api, order):
    created = _draft(api)
    assert created.status_code == 201, created.content
    assert created.json()["status"] == "DRAFT" and created.json()["accession_number"] == "ACC7001"
    signed = api.post(f"/api/reports/{created.json()['id']}/sign/", {"status": "final"}, format="json")
    assert signed.status_code == 200, signed.content
    body = signed.json()
    assert body["status"] == "FINAL" and body["versions"][-1]["signer"] == "drhouse"
    assert OutboundMessage.objects.filter(event="report").count() == 1


def test_a_dictation_system_flags_a_critical_finding_when_signing(api, order):
    from ris.models import CriticalResult

    report_id = _draft(api).json()["id"]
    body = {"status": "final", "critical_category": "CRITICAL"}
    signed = api.post(f"/api/reports/{report_id}/sign/", body, format="json")
    assert signed.status_code == 200, signed.content
    assert signed.json()["versions"][-1]["critical_category"] == "CRITICAL"
    assert CriticalResult.objects.get().is_open
    bad = api.post(f"/api/reports/{report_id}/addendum/", {"text": "x", "critical_category": "SEVERE"}, format="json")
    assert bad.status_code == 400


def test_signing_a_final_report_again_is_a_conflict(api, order):
    report_id = _draft(api).json()["id"]
    api.post(f"/api/reports/{report_id}/sign/", {"status": "final"}, format="json")
    again = api.post(f"/api/reports/{report_id}/sign/", {"status": "final"}, format="json")
    assert again.status_code == 409
    assert _draft(api).status_code == 409


def test_correction_and_addendum_after_final(api, order):
    report_id = _draft(api).json()["id"]
    api.post(f"/api/reports/{report_id}/sign/", {"status": "final"}, format="json")
    corrected = api.post(
        f"/api/reports/{report_id}/correct/", {"findings": "Bleed.", "impression": "Bleed."}, format="json"
    )
    added = api.post(f"/api/reports/{report_id}/addendum/", {"text": "Called the ward."}, format="json")
    assert corrected.json()["status"] == "CORRECTED" and added.json()["status"] == "ADDENDUM"
    assert [v["number"] for v in added.json()["versions"]] == [1, 2, 3]


def test_bad_input_is_400_and_an_unknown_accession_404(api, order):
    assert api.post("/api/reports/", {"findings": "x"}, format="json").status_code == 400
    assert _draft(api, accession_number="NOPE").status_code == 404
    report_id = _draft(api, findings="", impression="").json()["id"]
    empty = api.post(f"/api/reports/{report_id}/sign/", {"status": "final"}, format="json")
    assert empty.status_code == 400 and "findings" in empty.json()


def test_unauthenticated_requests_are_refused(order):
    response = APIClient().post("/api/reports/", {"accession_number": "ACC7001"}, format="json")
    assert response.status_code == 401
    assert Report.objects.count() == 0


def test_reports_are_listed_by_accession(api, order):
    _draft(api)
    placed_order(accession="ACC7002", placer="PL7002")
    _draft(api, accession_number="ACC7002")
    listed = api.get("/api/reports/", {"accession_number": "ACC7002"}).json()["results"]  # paginated like every list
    assert [r["accession_number"] for r in listed] == ["ACC7002"]


def test_a_scheduler_may_read_reports_but_not_write_them(order):
    from tests.factories import user_with_role

    client = APIClient()
    client.force_authenticate(user_with_role("scheduler"))
    assert client.get("/api/reports/").status_code == 200
    assert _draft(client).status_code == 403
    assert Report.objects.count() == 0


def test_an_integration_engineer_may_not_read_patient_data_over_fhir(order):
    from tests.factories import user_with_role

    client = APIClient()
    client.force_authenticate(user_with_role("integration engineer"))
    response = client.get("/fhir/Patient")
    assert response.status_code == 403
    assert response.json()["resourceType"] == "OperationOutcome"
