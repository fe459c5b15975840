"""STOW-RS for dose reports (PS3.18 10.5), from dicomweb-client and raw HTTP."""

import json
import uuid

import pytest
import requests
from dicomweb_client.api import DICOMwebClient
from pydicom.uid import generate_uid

from ris.models import DiagnosticReferenceLevel, DoseAlert, DoseQuantity, DoseReport
from tests.factories import api_token, placed_order, user_with_role
from tests.rdsr import ct_rdsr, fluoro_rdsr, part10

pytestmark = pytest.mark.slow


@pytest.fixture
def sender(transactional_db, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    return {"Authorization": f"Token {api_token(user_with_role('administrator'))}"}


def _multipart(*parts: tuple[str, bytes]) -> tuple[str, bytes]:
    boundary = uuid.uuid4().hex
    body = b"".join(
        b"--" + boundary.encode() + b"\r\nContent-Type: " + kind.encode() + b"\r\n\r\n" + data + b"\r\n"
        for kind, data in parts
    )
    return f'multipart/related; type="application/dicom"; boundary={boundary}', body + f"--{boundary}--\r\n".encode()


def test_dicomweb_client_stores_a_ct_rdsr_and_its_dose_reaches_the_exam(live_server, sender):
    procedure = placed_order().procedures.get()
    DiagnosticReferenceLevel.objects.create(modality="CT", quantity=DoseQuantity.CTDIVOL, level=10.0)
    ds = ct_rdsr(study_uid=procedure.study_instance_uid, events=((12.3, 456.0),))
    part10(ds)
    client = DICOMwebClient(url=f"{live_server.url}/dicomweb", headers=sender)
    answer = client.store_instances([ds])
    assert answer.ReferencedSOPSequence[0].ReferencedSOPInstanceUID == ds.SOPInstanceUID
    report = DoseReport.objects.get(sop_instance_uid=ds.SOPInstanceUID)
    assert report.procedure == procedure and report.total_dlp == 456.0
    assert DoseAlert.objects.get(report=report).value == 12.3


def test_raw_multipart_with_a_dose_report_and_an_image_answers_202_with_the_images_failure(live_server, sender):
    dose = ct_rdsr(study_uid=generate_uid())
    image = fluoro_rdsr(study_uid=generate_uid())
    image.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"  # CT Image Storage
    content_type, body = _multipart(("application/dicom", part10(dose)), ("application/dicom", part10(image)))
    response = requests.post(
        f"{live_server.url}/dicomweb/studies",
        data=body,
        headers={**sender, "Content-Type": content_type, "Accept": "application/dicom+json"},
        timeout=30,
    )
    assert response.status_code == 202
    assert response.headers["Content-Type"].startswith("application/dicom+json")
    module = json.loads(response.content)
    failed = module["00081198"]["Value"][0]
    assert failed["00081155"]["Value"] == [image.SOPInstanceUID]
    assert failed["00081197"]["Value"] == [0x0122]  # SOP class not supported
    assert module["00081199"]["Value"][0]["00081155"]["Value"] == [dose.SOPInstanceUID]
    assert "not stored here" in response.headers["Warning"]


def test_nothing_stored_is_409_with_each_failure_reason(live_server, sender):
    ds = ct_rdsr(study_uid=generate_uid())
    ds.ConceptNameCodeSequence[0].CodeValue = "126000"
    content_type, body = _multipart(("application/dicom", part10(ds)))
    response = requests.post(
        f"{live_server.url}/dicomweb/studies", data=body, headers={**sender, "Content-Type": content_type}, timeout=30
    )
    assert response.status_code == 409
    assert json.loads(response.content)["00081198"]["Value"][0]["00081197"]["Value"] == [0xA900]
    assert not DoseReport.objects.exists()


def test_a_body_that_is_not_multipart_related_dicom_is_415(live_server, sender):
    response = requests.post(
        f"{live_server.url}/dicomweb/studies",
        data=b"{}",
        headers={**sender, "Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 415


def test_an_instance_of_another_study_than_the_path_names_is_refused(live_server, sender):
    ds = ct_rdsr(study_uid=generate_uid())
    content_type, body = _multipart(("application/dicom", part10(ds)))
    response = requests.post(
        f"{live_server.url}/dicomweb/studies/{generate_uid()}",
        data=body,
        headers={**sender, "Content-Type": content_type},
        timeout=30,
    )
    assert response.status_code == 409


def test_without_credentials_nothing_is_stored(live_server, transactional_db):
    content_type, body = _multipart(("application/dicom", part10(ct_rdsr(study_uid=generate_uid()))))
    response = requests.post(
        f"{live_server.url}/dicomweb/studies", data=body, headers={"Content-Type": content_type}, timeout=30
    )
    assert response.status_code in (401, 403)
    assert not DoseReport.objects.exists()
