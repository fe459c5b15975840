"""What the patient pages do, seen from the modality worklist (dcmtk findscu):
a merge reaches it as an HL7 A40 does, and a name too long for DICOM never
gets there."""

import pytest
from django.urls import reverse

from tests import factories as f
from tests.peers import findscu

pytestmark = pytest.mark.django_db(transaction=True)


def test_merge_page_moves_the_worklist_item_to_the_surviving_patient(client, dicom):
    survivor = f.placed_order().patient  # PAT6001 from HOSP, MUELLER^HANS
    f.step(patient_id="DUP1", name="MULLER^HANS", accession="ACCDUP")
    keys = ["AccessionNumber=ACCDUP", "PatientID", "IssuerOfPatientID", "PatientName"]
    before, _ = findscu(dicom, keys)
    assert [r.PatientID for r in before] == ["DUP1"]

    client.force_login(f.user_with_role("scheduler", "sam"))
    url = reverse("patient_merge", args=[survivor.pk])
    response = client.post(url, {"other_mrn": "DUP1", "survivor": "this", "confirm": "on"})
    assert response.status_code == 302

    after, proc = findscu(dicom, keys)
    assert proc.returncode == 0, proc.stderr
    assert [(r.PatientID, r.IssuerOfPatientID, str(r.PatientName)) for r in after] == [
        ("PAT6001", "HOSP", "MUELLER^HANS")
    ]


def test_a_name_over_dicoms_64_characters_entered_on_the_page_never_reaches_the_worklist(client, dicom):
    procedure = f.procedure()
    client.force_login(f.user_with_role("scheduler", "sam"))
    typed = {"patient_id": "LONG1", "family_name": "F" * 60, "given_name": "G" * 60, "middle_name": "M" * 60}
    response = client.post(reverse("order_entry"), {**typed, "procedure": procedure.pk, "priority": "ROUTINE"})
    assert response.status_code == 200 and "at most 64 fit" in response.content.decode()

    responses, proc = findscu(dicom, ["PatientID=LONG1", "PatientName"])
    assert proc.returncode == 0, proc.stderr
    assert responses == []
