"""The radiologist's vetting queue (accept with a protocol, reject with a
reason) and the technologist's safety screening form, in Chromium."""

import pytest
from django.utils import timezone

from ris.models import AuditEvent, Contrast, Destination, ImagingOrder, OutboundMessage, ProtocolCode, SafetyRecord
from ris.states import OrderStatus, VettingStatus
from tests import factories as f
from tests.browser.conftest import log_in, screenshot

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _needs_vetting(code: str, contrast: str = Contrast.NONE):
    entry = f.procedure(code, name=f"{code} exam")
    entry.needs_vetting, entry.contrast = True, contrast
    entry.save()
    ProtocolCode.objects.create(procedure=entry, code_value=f"{code}-R", code_meaning="Routine", is_default=True)
    ProtocolCode.objects.create(procedure=entry, code_value=f"{code}-A", code_meaning="Arterial phase")
    return entry


def test_the_radiologist_accepts_one_order_with_a_protocol_and_rejects_another_with_a_reason(page):
    Destination.objects.create(
        name="EHR", kind=Destination.Kind.HL7_MLLP, host="127.0.0.1", port=9, events=["order_status"]
    )
    _needs_vetting("CTABD")
    first = f.step(code="CTABD", patient_id="P1", name="FIRST^ANNA")
    second = f.step(code="CTABD", patient_id="P2", name="SECOND^BEN")
    doctor = f.radiologist()
    doctor.set_password(f.PASSWORD)
    doctor.save()
    log_in(page, doctor.username, f.PASSWORD)

    page.get_by_role("link", name="Vetting").click()
    page.wait_for_url("**/vetting/")
    first_card = page.locator(f"#vet-{first.requested_procedure.order_id}")
    first_card.get_by_label("Protocol for CTABD").select_option(label="Arterial phase (CTABD-A)")
    screenshot(page, "vetting-queue.png")
    first_card.get_by_role("button", name="Accept").click()
    first_card.wait_for(state="detached")  # accepted: it leaves the queue

    second_card = page.locator(f"#vet-{second.requested_procedure.order_id}")
    second_card.get_by_label("Reason (to reject or return)").fill("Ultrasound first, please")
    second_card.get_by_role("button", name="Reject").click()
    page.locator("#vetting-empty").wait_for()

    first.refresh_from_db()
    assert first.protocol_code_value == "CTABD-A"
    accepted = ImagingOrder.objects.get(pk=first.requested_procedure.order_id)
    rejected = ImagingOrder.objects.get(pk=second.requested_procedure.order_id)
    assert (accepted.vetting_status, accepted.vetted_by) == (VettingStatus.ACCEPTED, doctor)
    assert (rejected.vetting_status, rejected.status, rejected.vetting_reason) == (
        VettingStatus.REJECTED,
        OrderStatus.CANCELED,
        "Ultrasound first, please",
    )
    assert OutboundMessage.objects.get(order=rejected).context["control"] == "OC"
    assert AuditEvent.objects.filter(actor=doctor.username, detail__contains="vetting rejected").exists()


def test_the_technologist_records_screening_and_sees_the_flag_go(page):
    entry = f.procedure("CTABDC", name="CT abdomen with contrast")
    entry.contrast = Contrast.IODINATED
    entry.save()
    step = f.step(code="CTABDC", start=timezone.now())
    f.user_with_role("technologist", "tess")
    log_in(page, "tess", f.PASSWORD)

    page.goto("/board/")
    page.locator(f"#step-{step.pk} .safety-flag", has_text="no eGFR recorded").wait_for()
    page.locator(f"#screening-{step.pk}").click()
    page.wait_for_url("**/screening/")
    page.get_by_label("Contrast allergy", exact=True).select_option(label="no")
    page.get_by_label("eGFR (mL/min/1.73 m²)").fill("64")
    page.get_by_label("eGFR measured on").fill(timezone.localdate().isoformat())
    page.get_by_label("Weight (kg)").fill("82.5")
    screenshot(page, "screening-form.png")
    page.get_by_role("button", name="Record").click()
    page.locator("#screening-history tr[data-item='EGFR']").wait_for()
    assert page.locator(".safety-flag").count() == 0

    records = {r.item: r for r in SafetyRecord.objects.filter(order_id=step.requested_procedure.order_id)}
    assert set(records) == {"CONTRAST_ALLERGY", "EGFR", "WEIGHT"}
    assert float(records["WEIGHT"].number) == 82.5
    assert {r.recorded_by for r in records.values()} == {"tess"}
    page.goto("/board/")
    page.locator(f"#step-{step.pk}").wait_for()
    assert page.locator(f"#step-{step.pk} .safety-flag").count() == 0
