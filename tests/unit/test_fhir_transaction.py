"""The report's FHIR transaction Bundle: valid R4, no R5-only element."""

import base64

import pytest

from fhir.resources.R4B.bundle import Bundle
from fhir.transaction import report_transaction, validate_r4
from ris.services.reports import report_correct, report_save_draft, report_sign
from ris.states import ReportStatus
from tests.factories import TEST_ACTOR, placed_order, radiologist

pytestmark = pytest.mark.django_db
R5_ONLY_REPORT_ELEMENTS = {"study", "note", "supportingInfo", "composition"}


@pytest.fixture
def final_version():
    procedure = placed_order(study_uid="1.2.3.4.5").procedures.get()
    draft = report_save_draft(
        actor=TEST_ACTOR,
        procedure=procedure,
        author=radiologist(),
        findings="No bleed.",
        impression="Normal CT of the head.",
    )
    return report_sign(actor=TEST_ACTOR, report=draft.report, signer=radiologist(), status=ReportStatus.FINAL)


def _by_type(bundle: dict) -> dict[str, dict]:
    return {e["resource"]["resourceType"]: e for e in bundle["entry"]}


def test_bundle_validates_as_r4_and_carries_no_r5_only_element(final_version):
    bundle = report_transaction(final_version)
    validate_r4(bundle)
    assert Bundle.model_validate(bundle).type == "transaction"
    report = _by_type(bundle)["DiagnosticReport"]["resource"]
    assert not R5_ONLY_REPORT_ELEMENTS & set(report)


def test_diagnostic_report_links_patient_order_study_and_carries_the_text(final_version):
    entries = _by_type(report_transaction(final_version))
    report = entries["DiagnosticReport"]["resource"]
    assert report["status"] == "final"
    assert report["subject"]["reference"] == entries["Patient"]["fullUrl"]
    assert report["basedOn"][0]["reference"] == entries["ServiceRequest"]["fullUrl"]
    assert report["imagingStudy"][0]["reference"] == entries["ImagingStudy"]["fullUrl"]
    assert {c["code"] for c in report["category"][0]["coding"]} == {"RAD", "LP29684-5"}
    assert report["conclusion"] == "Normal CT of the head."
    assert report["resultsInterpreter"] == [{"display": "Greg House"}]
    assert "No bleed." in base64.b64decode(report["presentedForm"][0]["data"]).decode()


def test_patient_order_and_study_are_conditional_creates_on_their_identifiers(final_version):
    entries = _by_type(report_transaction(final_version))
    assert entries["ImagingStudy"]["request"] == {
        "method": "POST",
        "url": "ImagingStudy",
        "ifNoneExist": "identifier=urn:dicom:uid|urn:oid:1.2.3.4.5",
    }
    order = entries["ServiceRequest"]["resource"]
    assert [i["type"]["coding"][0]["code"] for i in order["identifier"]] == ["PLAC", "FILL", "ACSN"]
    assert order["intent"] == "order"
    assert entries["ServiceRequest"]["request"]["ifNoneExist"].endswith("|ACC6001")
    assert entries["Patient"]["request"]["ifNoneExist"] == "identifier=urn:ris:patient-id:HOSP|PAT6001"


def test_a_correction_updates_the_same_report_with_status_corrected(final_version):
    first = _by_type(report_transaction(final_version))["DiagnosticReport"]
    corrected = report_correct(
        actor=TEST_ACTOR,
        report=final_version.report,
        signer=radiologist(),
        findings="Bleed.",
        impression="Small bleed.",
    )
    second = _by_type(report_transaction(corrected))["DiagnosticReport"]
    assert second["request"] == first["request"] and second["request"]["method"] == "PUT"
    assert second["resource"]["identifier"] == first["resource"]["identifier"]
    assert second["resource"]["status"] == "corrected"
