"""Identity first: manual order entry looks the patient up and never changes
an existing patient's demographics; edits and merges are explicit and audited."""

import pytest
from django.urls import reverse

from ris.models import AuditEvent, ImagingOrder, Patient
from ris.records import Actor, PatientData
from ris.services.patients import patient_update
from tests import factories as f

pytestmark = pytest.mark.django_db
EHR = Actor(door=AuditEvent.Door.HL7, name="EHR", via="ADT^A08 C1")


@pytest.fixture
def scheduler(client):
    client.force_login(f.user_with_role("scheduler", "sam"))
    return client


@pytest.fixture
def ehr_patient():
    """A patient the EHR sent (MRN PAT6001 from issuer HOSP, MUELLER^HANS)."""
    order = f.placed_order()
    patient_update(actor=EHR, data=PatientData(patient_id="PAT6001", issuer="HOSP", name="MUELLER^HANS"))
    return Patient.objects.get(pk=order.patient_id)


def _entry(**patient):
    fields = {"family_name": "Other", "given_name": "Name", "procedure": f.procedure().pk, "priority": "ROUTINE"}
    return {**fields, **patient}


def test_order_entry_with_an_existing_mrn_never_renames_the_patient(scheduler, ehr_patient):
    response = scheduler.post(reverse("order_entry"), _entry(patient_id="PAT6001", issuer="HOSP"))
    ehr_patient.refresh_from_db()
    assert ehr_patient.name == "MUELLER^HANS"
    assert Patient.objects.count() == 1 and ImagingOrder.objects.count() == 1  # nothing placed yet
    assert response.context["candidates"] == [ehr_patient]  # the match is offered
    assert "MUELLER, HANS" in response.content.decode()


def test_confirming_a_new_patient_with_a_taken_mrn_is_refused_not_renamed(scheduler, ehr_patient):
    response = scheduler.post(reverse("order_entry"), _entry(patient_id="PAT6001", issuer="HOSP", confirm_new="on"))
    ehr_patient.refresh_from_db()
    assert ehr_patient.name == "MUELLER^HANS" and ImagingOrder.objects.count() == 1
    assert "already exists" in response.content.decode()


def test_order_entry_without_an_issuer_takes_the_default_issuer_and_no_second_patient(scheduler, ehr_patient, settings):
    settings.RIS_DEFAULT_ISSUER = "HOSP"
    response = scheduler.post(reverse("order_entry"), _entry(patient_id="PAT6001", confirm_new="on"))
    assert list(Patient.objects.values_list("patient_id", "issuer")) == [("PAT6001", "HOSP")]
    assert response.status_code == 200 and "already exists" in response.content.decode()


def test_the_same_mrn_under_another_issuer_is_offered_before_a_new_patient(scheduler, ehr_patient):
    response = scheduler.post(reverse("order_entry"), _entry(patient_id="PAT6001"))
    assert Patient.objects.count() == 1
    assert response.context["candidates"] == [ehr_patient]


def test_choosing_the_existing_patient_places_the_order_for_them_as_they_are(scheduler, ehr_patient):
    response = scheduler.post(reverse("order_entry"), _entry(patient=ehr_patient.pk, family_name="Ignored"))
    order = ImagingOrder.objects.latest("pk")
    ehr_patient.refresh_from_db()
    assert order.patient == ehr_patient and ehr_patient.name == "MUELLER^HANS"
    assert response.status_code == 302


def test_the_lookup_finds_the_patient_by_mrn_and_by_name_with_birth_date(scheduler, ehr_patient):
    by_mrn = scheduler.get(reverse("order_entry"), {"find-mrn": "PAT6001"}).context["candidates"]
    by_name = scheduler.get(reverse("order_entry"), {"find-name": "Mueller, hans", "find-birth_date": "1970-02-15"})
    assert by_mrn == list(by_name.context["candidates"]) == [ehr_patient]


def test_same_name_and_birth_date_is_offered_and_a_confirmed_new_patient_is_registered(scheduler, ehr_patient):
    typed = _entry(patient_id="NEW1", family_name="Mueller", given_name="Hans", birth_date="1970-02-15")
    offered = scheduler.post(reverse("order_entry"), typed)
    assert offered.context["candidates"] == [ehr_patient] and not Patient.objects.filter(patient_id="NEW1").exists()
    scheduler.post(reverse("order_entry"), {**typed, "confirm_new": "on"})
    new = Patient.objects.get(patient_id="NEW1")
    assert (new.name, new.demographics_source) == ("Mueller^Hans", "")
    assert AuditEvent.objects.filter(patient=new, action="CREATE", detail__startswith="registered").exists()


def test_names_are_entered_as_parts_and_a_caret_is_refused(scheduler):
    response = scheduler.post(reverse("order_entry"), _entry(patient_id="W1", family_name="DOE^JANE"))
    assert "cannot contain ^" in response.content.decode() and not Patient.objects.exists()
    scheduler.post(
        reverse("order_entry"),
        _entry(
            patient_id="W2",
            family_name="Welby",
            given_name="Marcus",
            prefix_name="Dr.",
            ideographic_family_name="山田",
            ideographic_given_name="太郎",
        ),
    )
    patient = Patient.objects.get(patient_id="W2")
    assert (patient.name, patient.name_ideographic) == ("Welby^Marcus^^Dr.", "山田^太郎")


def test_a_name_longer_than_a_dicom_component_group_is_refused_with_the_limit(scheduler):
    """60 + 60 characters fit each field but not DICOM's 64 per PN group."""
    response = scheduler.post(
        reverse("order_entry"), _entry(patient_id="W1", family_name="F" * 60, given_name="G" * 60)
    )
    assert not Patient.objects.exists()
    assert "is 121 characters long as a DICOM name; at most 64 fit" in response.content.decode()


def test_a_180_character_name_over_the_api_is_refused(client):
    client.force_login(f.user_with_role("scheduler"))
    body = {"patient_id": "A1", "patient_name": "X" * 180, "procedure_code": f.procedure().code}
    response = client.post("/api/orders/", body, content_type="application/json")
    assert response.status_code == 400 and "at most 64" in response.content.decode()
    assert not Patient.objects.exists()


def test_identifier_and_reason_over_dicom_lo_are_refused(scheduler):
    response = scheduler.post(reverse("order_entry"), _entry(patient_id="M" * 65, reason="R" * 65))
    content = response.content.decode()
    assert "The patient ID is 65 characters long; at most 64 fit" in content
    assert "The reason is 65 characters long" in content and not Patient.objects.exists()


def test_patient_edit_changes_demographics_and_records_who_and_why(scheduler):
    patient = f.step(patient_id="P1", name="DOE^JANE").requested_procedure.order.patient
    form = {"family_name": "Doe", "given_name": "Janet", "birth_date": "1980-01-02", "sex": "F", "reason": "typo"}
    response = scheduler.post(reverse("patient_edit", args=[patient.pk]), form)
    patient.refresh_from_db()
    assert response.status_code == 302 and (patient.name, str(patient.birth_date)) == ("Doe^Janet", "1980-01-02")
    event = AuditEvent.objects.filter(patient=patient, action="CHANGE").latest("pk")
    assert (event.actor, event.detail.split(" · ")[0]) == ("sam", "edited name, birth_date: typo")


def test_editing_an_ehr_owned_patient_is_flagged_and_needs_a_reason(scheduler, ehr_patient):
    page = scheduler.get(reverse("patient_edit", args=[ehr_patient.pk])).content.decode()
    assert "EHR owns these details" in page
    refused = scheduler.post(reverse("patient_edit", args=[ehr_patient.pk]), {"family_name": "Miller"})
    ehr_patient.refresh_from_db()
    assert ehr_patient.name == "MUELLER^HANS" and "say why you change it" in refused.content.decode()


def test_merge_page_shows_the_pair_then_merges_on_confirmation(scheduler, ehr_patient):
    duplicate = f.step(patient_id="DUP1", name="MULLER^HANS").requested_procedure.order.patient
    url = reverse("patient_merge", args=[ehr_patient.pk])
    shown = scheduler.post(url, {"other_mrn": "DUP1", "survivor": "this"})
    assert shown.context["pair"] == (ehr_patient, duplicate)
    duplicate.refresh_from_db()
    assert duplicate.merged_into is None  # not before confirmation
    scheduler.post(url, {"other_mrn": "DUP1", "survivor": "this", "confirm": "on"})
    duplicate.refresh_from_db()
    assert duplicate.merged_into == ehr_patient and ehr_patient.orders.count() == 2
    event = AuditEvent.objects.filter(patient=ehr_patient, detail__startswith="merged DUP1").get()
    assert event.actor == "sam"


def test_patient_page_lists_the_patients_reports_with_links(client):
    report = f.signed_final_report().report
    client.force_login(f.radiologist())
    page = client.get(reverse("patient", args=[report.order.patient_id])).content.decode()
    assert "No reports." not in page and "ACC6001" in page
    assert reverse("reporting:editor", args=[report.procedure_id]) in page and "Greg House" in page


@pytest.mark.parametrize("page", ["patient_edit", "patient_merge"])
@pytest.mark.parametrize(("role", "status"), [("technologist", 403), ("radiologist", 403), ("scheduler", 200)])
def test_only_those_who_enter_orders_edit_and_merge_patients(client, page, role, status):
    patient = f.step().requested_procedure.order.patient
    client.force_login(f.user_with_role(role))
    assert client.get(reverse(page, args=[patient.pk])).status_code == status


def test_an_api_order_for_an_ehr_owned_patient_keeps_the_ehrs_demographics(client, ehr_patient):
    client.force_login(f.user_with_role("scheduler"))
    body = {"patient_id": "PAT6001", "issuer": "HOSP", "patient_name": "RENAMED^BY^API", "procedure_code": "CTHEAD"}
    f.procedure()
    response = client.post("/api/orders/", body, content_type="application/json")
    ehr_patient.refresh_from_db()
    assert response.status_code == 201 and ehr_patient.name == "MUELLER^HANS"
    assert ImagingOrder.objects.filter(patient=ehr_patient).count() == 2


def test_the_ehr_still_updates_the_patient_it_owns(ehr_patient):
    patient_update(actor=EHR, data=PatientData(patient_id="PAT6001", issuer="HOSP", name="MUELLER^HANS^PETER"))
    ehr_patient.refresh_from_db()
    assert ehr_patient.name == "MUELLER^HANS^PETER"


def test_choosing_a_merged_record_orders_for_its_survivor(scheduler, ehr_patient):
    merged = f.step(patient_id="DUP1").requested_procedure.order.patient
    scheduler.post(
        reverse("patient_merge", args=[ehr_patient.pk]), {"other_mrn": "DUP1", "confirm": "on", "survivor": "this"}
    )
    page = scheduler.get(reverse("order_entry"), {"patient": merged.pk})
    assert page.context["chosen"] == ehr_patient
