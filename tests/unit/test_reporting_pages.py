"""The reporting pages: the reading worklist and the editor's actions."""

import datetime as dt

import pytest
from django.utils import timezone

from ris.models import Report, ScheduledProcedureStep
from ris.services.reports import report_save_draft, report_sign
from ris.states import ReportStatus, StepStatus
from tests.factories import TEST_ACTOR, placed_order, radiologist

pytestmark = pytest.mark.django_db


def performed(accession, *, modality="CT", priority="ROUTINE", hours_ago=2, name="DOE^JANE"):
    order = placed_order(
        accession=accession,
        placer=f"PL{accession}",
        modality=modality,
        priority=priority,
        name=name,
        start=timezone.now() - dt.timedelta(hours=hours_ago),
    )
    # The modality finished the exam (test set-up; MPPS moves steps in production).
    ScheduledProcedureStep.objects.filter(requested_procedure__order=order).update(status=StepStatus.COMPLETED)
    return order.procedures.get()


@pytest.fixture
def page(client):
    client.force_login(radiologist())
    return client


def _listed(response) -> list[str]:
    return [p.order.accession_number for p in response.context["rows"]]


def test_the_pages_need_a_login(client):
    assert client.get("/reporting/").status_code == 302


def test_worklist_lists_performed_unread_exams_most_urgent_first(page):
    performed("R1", hours_ago=5)
    performed("R2", priority="STAT", hours_ago=1)
    placed_order(accession="NOTDONE", placer="PLN")  # scheduled, not performed
    final = performed("R3")
    draft = report_save_draft(actor=TEST_ACTOR, procedure=final, author=radiologist(), findings="x", impression="y")
    report_sign(actor=TEST_ACTOR, report=draft.report, signer=radiologist(), status=ReportStatus.FINAL)
    response = page.get("/reporting/")
    assert _listed(response) == ["R2", "R1"]
    assert [r.order.accession_number for r in response.context["signed"]] == ["R3"]


def test_worklist_filters_by_modality_priority_and_age(page):
    performed("CT1", modality="CT", hours_ago=30)
    performed("MR1", modality="MR", priority="STAT", hours_ago=2)
    assert _listed(page.get("/reporting/", {"modality": "MR"})) == ["MR1"]
    assert _listed(page.get("/reporting/", {"priority": "STAT"})) == ["MR1"]
    assert _listed(page.get("/reporting/", {"age": "24"})) == ["CT1"]


def test_save_then_sign_final_from_the_editor(page):
    procedure = performed("E1")
    url = f"/reporting/procedures/{procedure.pk}/"
    assert page.get(url).status_code == 200
    saved = page.post(url, {"action": "save", "findings": "Lungs clear.", "impression": "Normal."})
    assert saved.status_code == 302 and saved["Location"] == url
    assert "Lungs clear." in page.get(url).content.decode()
    signed = page.post(url, {"action": "final", "findings": "Lungs clear.", "impression": "Normal chest."})
    assert signed.status_code == 302 and signed["Location"] == "/reporting/"
    report = Report.objects.get(procedure=procedure)
    assert report.status == ReportStatus.FINAL and report.latest_signed().impression == "Normal chest."


def test_after_final_the_editor_corrects_and_adds_an_addendum(page):
    procedure = performed("E2")
    url = f"/reporting/procedures/{procedure.pk}/"
    page.post(url, {"action": "final", "findings": "A", "impression": "B"})
    body = page.get(url).content.decode()
    assert 'value="correct"' in body and 'value="addendum"' in body and 'value="save"' not in body
    page.post(url, {"action": "correct", "findings": "A2", "impression": "B2"})
    page.post(url, {"action": "addendum", "text": "Phoned the ward."})
    statuses = list(Report.objects.get(procedure=procedure).versions.values_list("status", flat=True))
    assert statuses == [ReportStatus.FINAL, ReportStatus.CORRECTED, ReportStatus.ADDENDUM]


def test_a_refused_action_keeps_the_typed_text_and_says_why(page):
    procedure = performed("E3")
    url = f"/reporting/procedures/{procedure.pk}/"
    response = page.post(url, {"action": "final", "findings": "", "impression": ""})
    assert response.status_code == 400  # InvalidInput, as the REST API answers it (web/errors.py)
    assert "needs findings or an impression" in response.content.decode()
    page.post(url, {"action": "final", "findings": "typed", "impression": "x"})
    again = page.post(url, {"action": "final", "findings": "typed again", "impression": "x"})
    assert again.status_code == 409 and "typed again" in again.content.decode()


def test_editor_offers_keyboard_shortcuts(page):
    body = page.get(f"/reporting/procedures/{performed('K1').pk}/").content.decode()
    assert 'accesskey="s"' in body and 'accesskey="f"' in body and 'data-key="submit"' in body


def test_the_editor_shows_delivery_state_and_sends_a_dead_message_again(page):
    from ris.models import Destination, OutboundMessage

    Destination.objects.create(name="EHR", kind=Destination.Kind.HL7_MLLP, host="127.0.0.1", port=1)
    procedure = performed("D1")
    url = f"/reporting/procedures/{procedure.pk}/"
    page.post(url, {"action": "final", "findings": "A", "impression": "B"})
    message = OutboundMessage.objects.get()
    OutboundMessage.objects.filter(pk=message.pk).update(status="DEAD", attempts=10, last_error="ACK AE: no")
    body = page.get(url).content.decode()
    assert "given up" in body and "ACK AE: no" in body
    assert page.post(url, {"action": "resend", "message": message.pk}).status_code == 302
    message.refresh_from_db()
    assert message.status == OutboundMessage.Status.PENDING and message.attempts == 0
