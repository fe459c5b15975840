"""The dose on the exam and the reading screen, in a new report's draft, the
physicist's dose table (CSV and FHIR Observations), the reference levels
administrators edit, and the research export page."""

import csv
import io
import json
import zipfile

import pytest
from django.urls import reverse

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation
from ris.models import AuditEvent, DiagnosticReferenceLevel, DoseAlert, DoseQuantity
from ris.services.dose import dose_report_store
from tests.factories import TEST_ACTOR, placed_order, procedure, radiologist, user_with_role
from tests.rdsr import ct_rdsr, fluoro_rdsr, part10
from worklist.rdsr import read_dose_report


@pytest.fixture
def exam(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    exam = placed_order().procedures.get()
    DiagnosticReferenceLevel.objects.create(modality="CT", quantity=DoseQuantity.DLP_TOTAL, level=500.0)
    for ds in (ct_rdsr(study_uid=exam.study_instance_uid, events=((12.3, 456.0), (8.0, 100.0))),):
        dose_report_store(record=read_dose_report(ds), content=part10(ds), actor=TEST_ACTOR)
    return exam


def _physicist(client):
    client.force_login(user_with_role("medical physicist"))
    return client


def test_the_exam_shows_its_dose_and_the_alert_on_the_patient_page(client, exam):
    client.force_login(user_with_role("scheduler"))
    page = client.get(reverse("patient", args=[exam.order.patient.pk])).content.decode()
    assert "CTDIvol 12.3 mGy" in page and "556.0 mGy·cm" in page
    assert "over reference level" in page


def test_the_reading_screen_shows_the_dose_and_a_new_draft_starts_with_it(client, exam, settings):
    settings.RIS_DOSE_IN_REPORT = "findings"
    client.force_login(radiologist())
    page = client.get(reverse("reporting:editor", args=[exam.pk])).content.decode()
    assert "Radiation dose" in page and "CTDIvol 8.0 mGy" in page
    assert "CT dose: CTDIvol 12.3 mGy, DLP 556.0 mGy·cm." in page.split('name="findings"')[1].split("</textarea>")[0]


def test_a_site_that_wants_no_dose_in_the_report_gets_an_empty_draft(client, exam, settings):
    settings.RIS_DOSE_IN_REPORT = ""
    client.force_login(radiologist())
    page = client.get(reverse("reporting:editor", args=[exam.pk])).content.decode()
    assert "CT dose:" not in page


def test_the_physicists_csv_has_one_row_per_irradiation_event(client, exam):
    response = _physicist(client).get(reverse("dose_table_csv"))
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["ctdivol_mGy"], r["dlp_mGy_cm"], r["phantom"]) for r in rows] == [
        ("12.3", "456.0", "IEC Head Dosimetry Phantom"),
        ("8.0", "100.0", "IEC Head Dosimetry Phantom"),
    ]
    assert {r["accession"] for r in rows} == {"ACC6001"} and rows[0]["total_dlp_mGy_cm"] == "556.0"
    assert AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT, object_type="dose table").exists()


def test_the_physicists_fhir_export_is_observations_that_validate(client, exam, settings, tmp_path):
    ds = fluoro_rdsr(study_uid=exam.study_instance_uid)
    dose_report_store(record=read_dose_report(ds), content=part10(ds), actor=TEST_ACTOR)
    body = json.loads(_physicist(client).get(reverse("dose_table_fhir")).content)
    bundle = Bundle.model_validate(body)
    observations = [Observation.model_validate(e.resource.model_dump()) for e in bundle.entry]
    components = [c for o in observations for c in o.component or []]
    codes = {c.code.coding[0].code: c.valueQuantity for c in components}
    assert {float(c.valueQuantity.value) for c in components if c.code.coding[0].code == "113830"} == {12.3, 8.0}
    assert codes["113830"].code == "mGy" and codes["113838"].code == "mGy.cm"
    assert codes["122130"].code == "Gy.m2" and codes["113813"].value == 556.0
    assert all(o.subject.reference == f"Patient/{exam.order.patient.pk}" for o in observations)


def test_the_dose_pages_are_the_physicists(client, exam):
    client.force_login(user_with_role("scheduler"))
    assert client.get(reverse("dose_table_csv")).status_code == 403
    assert client.get(reverse("research_export")).status_code == 403
    page = _physicist(client).get(reverse("dose_home")).content.decode()
    assert "ACC6001" in page and "total DLP" in page


def test_an_administrator_sets_a_procedures_reference_level_and_it_is_audited(client, db):
    ct = procedure()
    client.force_login(user_with_role("administrator"))
    response = client.post(
        reverse("resource_new", args=["reference-levels"]),
        {"procedure": ct.pk, "modality": "", "quantity": DoseQuantity.CTDIVOL, "level": "60", "note": "national DRL"},
    )
    assert response.status_code == 302
    level = DiagnosticReferenceLevel.objects.get(procedure=ct)
    assert level.level == 60.0
    assert AuditEvent.objects.filter(object_type="diagnosticreferencelevel", object_id=str(level.pk)).exists()
    refused = client.post(reverse("resource_new", args=["reference-levels"]), {"quantity": "DLP", "level": "5"})
    assert refused.status_code == 200 and "Name a procedure or a modality" in refused.content.decode()


def test_a_procedures_own_level_wins_over_its_modalitys(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    exam = placed_order().procedures.get()
    DiagnosticReferenceLevel.objects.create(modality="CT", quantity=DoseQuantity.CTDIVOL, level=5.0)
    DiagnosticReferenceLevel.objects.create(procedure=procedure(), quantity=DoseQuantity.CTDIVOL, level=60.0)
    ds = ct_rdsr(study_uid=exam.study_instance_uid)
    report = dose_report_store(record=read_dose_report(ds), content=part10(ds), actor=TEST_ACTOR)
    assert not DoseAlert.objects.filter(report=report).exists()


def test_the_research_export_page_gives_a_zip_and_records_the_exporter(client, exam):
    user = user_with_role("medical physicist")
    client.force_login(user)
    response = client.post(reverse("research_export"), {"modality": "CT", "retain_dates_modified": "on"})
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert "dose.csv" in archive.namelist() and any(n.endswith(".dcm") for n in archive.namelist())
    assert AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT, user=user, patient=exam.order.patient).exists()
