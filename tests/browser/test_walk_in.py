"""A scheduler enters a walk-in for a patient the EHR already sent: order
entry finds the patient by MRN, the order is placed for them as they are
(no rename), booked from the keyboard form, and the modality's worklist
shows the EHR's name."""

import datetime as dt

import pytest
from django.utils import timezone

from ris.models import ImagingOrder, Patient
from tests import factories as f
from tests.browser.conftest import log_in, screenshot
from tests.peers import findscu

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _soon() -> dt.datetime:
    """A free wall time a little ahead, on the five minutes."""
    soon = timezone.localtime() + dt.timedelta(minutes=20)
    return soon.replace(minute=soon.minute - soon.minute % 5, second=0, microsecond=0)


def test_walk_in_for_an_existing_patient_is_found_ordered_and_booked_without_renaming(page, dicom):
    ehr_order = f.placed_order()  # PAT6001 from HOSP, MUELLER^HANS
    f.procedure("XRCHEST", "CR", 10, "XR Chest")
    f.room("XR1", "CR", opens=dt.time(0), closes=dt.time(23, 59), ae_title="XR1_SCANNER")
    f.user_with_role("scheduler", "sam")
    log_in(page, "sam", f.PASSWORD)

    page.goto("/orders/new/")
    page.get_by_label("MRN", exact=True).fill("PAT6001")
    page.get_by_role("button", name="Find patient").click()
    match = page.locator("tr.candidate")
    assert match.count() == 1 and "MUELLER, HANS" in match.inner_text()
    match.get_by_role("link", name="Choose").click()
    page.locator(".patient-chosen", has_text="MUELLER, HANS").wait_for()
    assert page.get_by_label("Family name", exact=True).count() == 0  # nothing to retype, nothing to rename
    page.get_by_label("Procedure").select_option(label="XRCHEST XR Chest")
    page.get_by_label("Reason for the exam").fill("Fall, chest pain")
    screenshot(page, "order-entry.png")
    page.get_by_role("button", name="Place order").click()

    page.wait_for_url("**/steps/*/book/")
    start = _soon()
    page.get_by_label("Room").select_option(label="XR1 CR room XR1 (CR)")
    page.get_by_label("Start").fill(start.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Start").press("Enter")
    page.get_by_role("status").filter(has_text="booked").wait_for()

    patient = Patient.objects.get()
    assert (patient.pk, patient.name, patient.issuer) == (ehr_order.patient_id, "MUELLER^HANS", "HOSP")
    walk_in = ImagingOrder.objects.exclude(pk=ehr_order.pk).get()
    assert walk_in.patient_id == patient.pk and walk_in.reason == "Fall, chest pain"
    responses, proc = findscu(
        dicom, [f"AccessionNumber={walk_in.accession_number}", "PatientID", "PatientName", "IssuerOfPatientID"]
    )
    assert proc.returncode == 0, proc.stderr
    assert [(r.PatientID, str(r.PatientName), r.IssuerOfPatientID) for r in responses] == [
        ("PAT6001", "MUELLER^HANS", "HOSP")
    ]


def test_typing_a_known_mrn_as_a_new_patient_offers_the_match_and_orders_for_them(page):
    ehr_order = f.placed_order()
    f.procedure("XRCHEST", "CR", 10, "XR Chest")
    f.user_with_role("scheduler", "sam")
    log_in(page, "sam", f.PASSWORD)

    page.goto("/orders/new/")
    page.get_by_label("Patient ID (MRN)").fill("PAT6001")
    page.get_by_label("Issuer of patient ID").fill("HOSP")
    page.get_by_label("Family name", exact=True).fill("Muller")
    page.get_by_label("Given name", exact=True).fill("Hans")
    page.get_by_label("Procedure").select_option(label="XRCHEST XR Chest")
    page.get_by_role("button", name="Place order").click()

    page.get_by_role("alert").filter(has_text="Is the patient one of these?").wait_for()
    match = page.locator("tr.candidate")
    assert "MUELLER, HANS" in match.inner_text()
    match.get_by_role("button", name="Order for this patient").click()
    page.wait_for_url("**/steps/*/book/")

    patient = Patient.objects.get()
    assert (patient.pk, patient.name) == (ehr_order.patient_id, "MUELLER^HANS")
    assert ImagingOrder.objects.filter(patient=patient).count() == 2
