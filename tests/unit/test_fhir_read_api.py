"""The RIS's own FHIR R4 read API: search answers, authentication, errors."""

import datetime as dt

import pytest
from django.utils import timezone

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from ris.services.reports import report_save_draft, report_sign
from ris.states import ReportStatus
from tests.factories import TEST_ACTOR, api_token, placed_order, radiologist

pytestmark = pytest.mark.django_db
FHIR_JSON = "application/fhir+json"


def _reported(accession, patient_id, status=ReportStatus.FINAL, performed=None, study_uid=""):
    order = placed_order(
        accession=accession, patient_id=patient_id, placer=f"PL{accession}", start=performed, study_uid=study_uid
    )
    draft = report_save_draft(
        actor=TEST_ACTOR, procedure=order.procedures.get(), author=radiologist(), findings="F", impression="I"
    )
    if status != ReportStatus.DRAFT:
        report_sign(actor=TEST_ACTOR, report=draft.report, signer=radiologist(), status=status)
    return order


@pytest.fixture
def api(client):
    client.force_login(radiologist())
    return client


@pytest.fixture
def reports():
    old = timezone.now() - dt.timedelta(days=30)
    return {
        "final": _reported("ACC1", "P1", study_uid="1.2.3.1"),
        "preliminary": _reported("ACC2", "P1", ReportStatus.PRELIMINARY, performed=old),
        "other_patient": _reported("ACC3", "P2"),
        "draft": _reported("ACC4", "P1", ReportStatus.DRAFT),
    }


def _search(api, path, **params):
    response = api.get(f"/fhir/{path}", params)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith(FHIR_JSON)
    bundle = response.json()
    Bundle.model_validate(bundle)
    return bundle


def _accessions(bundle):
    return sorted(
        i["value"]
        for e in bundle["entry"]
        for i in e["resource"]["identifier"]
        if i.get("type", {}).get("coding", [{}])[0].get("code") == "ACSN"
    )


def test_unauthenticated_requests_are_refused_with_401_and_an_operation_outcome(client, reports):
    for path in ("DiagnosticReport", "Patient/1", "ServiceRequest?identifier=ACC1"):
        response = client.get(f"/fhir/{path}")
        assert response.status_code == 401
        assert response["Content-Type"].startswith(FHIR_JSON)
        assert response.json()["resourceType"] == "OperationOutcome"
        assert response.json()["issue"][0]["code"] == "login"


def test_a_token_authenticates(client, reports):
    token = api_token(radiologist())
    response = client.get("/fhir/DiagnosticReport", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 200 and response.json()["total"] == 3  # drafts are not published


def test_diagnostic_reports_are_searched_by_patient_status_accession_and_date(api, reports):
    patient = reports["final"].patient.pk
    assert _search(api, "DiagnosticReport", patient=f"Patient/{patient}")["total"] == 2
    assert _search(api, "DiagnosticReport", patient=patient, status="final")["total"] == 1
    assert _accessions(_search(api, "DiagnosticReport", identifier="ACC3")) == ["ACC3"]
    assert _search(api, "DiagnosticReport", status="preliminary,final")["total"] == 3
    week_ago = (timezone.localdate() - dt.timedelta(days=7)).isoformat()
    assert _accessions(_search(api, "DiagnosticReport", date=f"lt{week_ago}")) == ["ACC2"]
    assert _search(api, "DiagnosticReport", date=f"ge{week_ago}")["total"] == 2


def test_service_requests_and_studies_are_found_by_accession_and_study_uid(api, reports):
    found = _search(api, "ServiceRequest", identifier="urn:ris:accession:RADIOLOGY|ACC1")
    assert _accessions(found) == ["ACC1"] and found["entry"][0]["resource"]["intent"] == "order"
    study = _search(api, "ImagingStudy", identifier="urn:dicom:uid|urn:oid:1.2.3.1")
    assert study["total"] == 1
    assert study["entry"][0]["resource"]["subject"]["reference"] == f"Patient/{reports['final'].patient.pk}"
    assert _search(api, "Patient", identifier="urn:ris:patient-id:HOSP|P2")["total"] == 1


def test_read_returns_the_resource_and_an_unknown_id_is_404(api, reports):
    report = reports["final"].reports.get()
    response = api.get(f"/fhir/DiagnosticReport/{report.uid}")
    assert response.status_code == 200 and response.json()["status"] == "final"
    assert response.json()["basedOn"][0]["reference"] == f"ServiceRequest/{reports['final'].pk}"
    draft = reports["draft"].reports.get()
    assert api.get(f"/fhir/DiagnosticReport/{draft.uid}").status_code == 404
    missing = api.get("/fhir/Patient/999999")
    assert missing.status_code == 404 and missing.json()["issue"][0]["code"] == "not-found"


def test_an_unsupported_search_parameter_is_refused_not_ignored(api, reports):
    response = api.get("/fhir/DiagnosticReport", {"category": "RAD"})
    assert response.status_code == 400 and response.json()["resourceType"] == "OperationOutcome"


def test_paging_follows_count_and_offset(api, reports):
    first = _search(api, "DiagnosticReport", _count=2)
    assert len(first["entry"]) == 2 and first["total"] == 3
    assert any(link["relation"] == "next" for link in first["link"])


def test_metadata_is_a_valid_r4_capability_statement(client):
    response = client.get("/fhir/metadata")
    assert response.status_code == 200
    statement = CapabilityStatement.model_validate(response.json())
    assert {r.type for r in statement.rest[0].resource} == {
        "Patient",
        "ServiceRequest",
        "ImagingStudy",
        "DiagnosticReport",
    }


def test_a_bad_date_is_400_with_the_reason(api, reports):
    response = api.get("/fhir/DiagnosticReport", {"date": "yesterday"})
    assert response.status_code == 400
    assert response.json()["issue"][0]["diagnostics"] == "'yesterday' is not a FHIR date"
