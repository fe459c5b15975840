"""The audit trail: pages record who saw or changed a patient; search and CSV export."""

import csv
import io

import pytest
from django.urls import reverse

from ris.models import AuditEvent
from ris.records import Actor
from ris.services.audit import audit_record
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_opening_a_patient_page_is_recorded_with_user_door_and_patient(client):
    step = f.step(patient_id="MRN7")
    patient = step.requested_procedure.order.patient
    client.force_login(f.user_with_role("radiologist", "rita"))
    client.get(reverse("patient", args=[patient.pk]))
    event = AuditEvent.objects.exclude(door="SYSTEM").get()
    assert (event.actor, event.door, event.action, event.patient) == ("rita", "WEB", "VIEW", patient)


def test_hl7_and_dicom_doors_record_with_their_peer_as_actor():
    patient = f.step().requested_procedure.order.patient
    event = audit_record(
        actor=Actor(door="HL7", name="EHR/HOSP"), action="CREATE", patient=patient, detail="ORM^O01 M1"
    )
    assert (event.actor, event.user) == ("EHR/HOSP", None)


def test_audit_search_filters_by_patient_and_exports_csv(client):
    first = f.step(patient_id="MRN1").requested_procedure.order.patient
    second = f.step(patient_id="MRN2", accession="ACC2").requested_procedure.order.patient
    audit_record(actor=Actor(door="API", name="x"), action="VIEW", patient=first)
    audit_record(actor=Actor(door="API", name="y"), action="VIEW", patient=second)
    client.force_login(f.user_with_role("administrator"))
    assert b"MRN2" not in client.get(reverse("audit_log"), {"patient_id": "MRN1"}).content
    response = client.get(reverse("audit_export"), {"patient_id": "MRN2", "door": "API"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:4] == ["at", "actor", "door", "action"]
    assert [(r[1], r[4]) for r in rows[1:]] == [("y", "MRN2")]


def test_csv_export_neutralises_cells_that_a_spreadsheet_would_run():
    from web.views.audit import spreadsheet_safe

    assert spreadsheet_safe('=HYPERLINK("x")') == '\'=HYPERLINK("x")'
    assert spreadsheet_safe("/patients/1/") == "/patients/1/"
