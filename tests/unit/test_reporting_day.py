"""The radiologist's day on the pages: times from MPPS, overdue marks, every
version readable, the signer's name and credentials, the printed report."""

import datetime as dt
import io
import re

import pytest
from django.test import override_settings
from django.utils import timezone
from pypdf import PdfReader

from ris.models import PerformedProcedureStep, ScheduledProcedureStep, StaffProfile
from ris.services.reports import report_correct, report_save_draft, report_sign
from ris.states import PerformedStepStatus, ReportStatus, StepStatus
from tests.factories import TEST_ACTOR, placed_order, radiologist

pytestmark = pytest.mark.django_db


def performed_by_mpps(accession, *, booked_hours_ago, started_minutes_ago, ended_minutes_ago, priority="ROUTINE"):
    """An exam booked at one time, performed (MPPS) at another."""
    now = timezone.now()
    order = placed_order(
        accession=accession,
        placer=f"PL{accession}",
        priority=priority,
        start=now - dt.timedelta(hours=booked_hours_ago),
    )
    steps = ScheduledProcedureStep.objects.filter(requested_procedure__order=order)
    mpps = PerformedProcedureStep.objects.create(
        sop_instance_uid=f"1.2.826.0.1.{accession[-3:]}",
        pps_id=accession,
        station_ae_title="CT01",
        modality="CT",
        status=PerformedStepStatus.COMPLETED,
        start=now - dt.timedelta(minutes=started_minutes_ago),
        end=now - dt.timedelta(minutes=ended_minutes_ago),
    )
    mpps.steps.set(steps)
    steps.update(status=StepStatus.COMPLETED)  # as the MPPS service moves them
    return order.procedures.get(), mpps


@pytest.fixture
def reader(client):
    user = radiologist()
    StaffProfile.objects.create(user=user, title="Dr.", credentials="MD, FRCR")
    client.force_login(user)
    return client


def test_performed_and_waiting_come_from_the_mpps_not_the_booked_time(reader):
    _, mpps = performed_by_mpps("T100", booked_hours_ago=26, started_minutes_ago=40, ended_minutes_ago=20)
    [row] = reader.get("/reporting/").context["rows"]
    assert row.performed_at == mpps.end
    page = reader.get("/reporting/").content.decode()
    assert timezone.localtime(mpps.end).strftime("%Y-%m-%d %H:%M") in page
    assert "20\xa0minutes" in page  # waiting since the modality ended, not for a day


def test_an_exam_waiting_past_its_priority_target_is_marked_overdue(reader):
    performed_by_mpps("T200", booked_hours_ago=3, started_minutes_ago=150, ended_minutes_ago=120, priority="STAT")
    performed_by_mpps("T201", booked_hours_ago=3, started_minutes_ago=150, ended_minutes_ago=120)
    rows = {r.order.accession_number: r for r in reader.get("/reporting/").context["rows"]}
    assert rows["T200"].overdue and not rows["T201"].overdue  # STAT: 1 h; routine: 48 h
    page = reader.get("/reporting/").content.decode()
    assert page.count('class="overdue"') == 1


def test_the_menu_of_a_radiologist_links_the_reading_list_and_home_goes_there(reader):
    page = reader.get("/reporting/").content.decode()
    assert re.search(r'<a href="/reporting/"[^>]*>Reading list</a>', page)
    assert reader.get("/")["Location"] == "/reporting/"


def _signed_then_corrected(procedure, user):
    draft = report_save_draft(
        actor=TEST_ACTOR, procedure=procedure, author=user, findings="Old finding.", impression="Old impression."
    )
    report_sign(actor=TEST_ACTOR, report=draft.report, signer=user, status=ReportStatus.FINAL)
    report_correct(
        actor=TEST_ACTOR, report=draft.report, signer=user, findings="New finding.", impression="New impression."
    )
    return draft.report


def test_every_signed_version_can_be_read_after_a_correction(reader):
    procedure, _ = performed_by_mpps("T300", booked_hours_ago=2, started_minutes_ago=90, ended_minutes_ago=60)
    _signed_then_corrected(procedure, radiologist())
    history = reader.get(f"/reporting/procedures/{procedure.pk}/versions/")
    assert history.status_code == 200
    text = history.content.decode()
    assert "Old finding." in text and "New finding." in text
    first = reader.get(f"/reporting/procedures/{procedure.pk}/versions/1/").content.decode()
    assert "Old finding." in first and "New finding." not in first


def test_the_signer_is_shown_with_full_name_and_credentials_not_the_login(reader):
    procedure, _ = performed_by_mpps("T400", booked_hours_ago=2, started_minutes_ago=90, ended_minutes_ago=60)
    _signed_then_corrected(procedure, radiologist())
    page = reader.get(f"/reporting/procedures/{procedure.pk}/").content.decode()
    assert "Dr. Greg House, MD, FRCR" in page
    assert ">drhouse<" not in page


@override_settings(RIS_SITE_NAME="St. Example Radiology", RIS_SITE_ADDRESS="1 Main Street; 12345 Town")
def test_the_printed_report_is_a_pdf_with_the_site_header_and_the_signer(reader):
    procedure, _ = performed_by_mpps("T500", booked_hours_ago=2, started_minutes_ago=90, ended_minutes_ago=60)
    _signed_then_corrected(procedure, radiologist())
    response = reader.get(f"/reporting/procedures/{procedure.pk}/report.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    for part in ("St. Example Radiology", "1 Main Street", "New finding.", "Dr. Greg House, MD, FRCR", "MUELLER"):
        assert part in text, part
    old = pdf_text(reader.get(f"/reporting/procedures/{procedure.pk}/versions/1/report.pdf").content)
    assert "Old finding." in old and "New finding." not in old


def pdf_text(body: bytes) -> str:
    assert body.startswith(b"%PDF")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)


def test_the_printed_report_sets_a_name_in_any_script(reader, settings):
    procedure, _ = performed_by_mpps("T600", booked_hours_ago=2, started_minutes_ago=90, ended_minutes_ago=60)
    patient = procedure.order.patient
    patient.name = "MÜLLER^JOSÉ"
    patient.save()
    _signed_then_corrected(procedure, radiologist())
    assert "MÜLLER" in pdf_text(reader.get(f"/reporting/procedures/{procedure.pk}/report.pdf").content)
    settings.RIS_REPORT_FONT = "/nonexistent.ttf"  # no such font: the built-in Latin-1 one still prints
    assert "MÜLLER" in pdf_text(reader.get(f"/reporting/procedures/{procedure.pk}/report.pdf").content)


def test_a_report_without_a_signed_version_has_no_pdf(reader):
    procedure, _ = performed_by_mpps("T700", booked_hours_ago=2, started_minutes_ago=90, ended_minutes_ago=60)
    assert reader.get(f"/reporting/procedures/{procedure.pk}/report.pdf").status_code == 404
