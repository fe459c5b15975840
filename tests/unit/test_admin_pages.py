"""The admin shows MPPS with reason and dose, and reconciles unscheduled ones through the services."""

import datetime as dt

import pytest

from ris.models import PerformedProcedureStep
from ris.records import OrderData, PatientData, PerformedStepData, ProcedureData, ScheduledStepRef, StepData
from ris.services.mpps import mpps_create
from ris.services.orders import order_place
from tests.factories import TEST_ACTOR

START = dt.datetime(2026, 11, 26, 14, 30, tzinfo=dt.UTC)


@pytest.fixture
def unscheduled(db):
    return mpps_create(
        actor=TEST_ACTOR,
        data=PerformedStepData(
            sop_instance_uid="1.2.3.4.6",
            status="IN PROGRESS",
            pps_id="PPS6",
            station_ae_title="XA01",
            start=START,
            modality="XA",
            patient_id="PAT6",
            scheduled_steps=[ScheduledStepRef("1.2.3.777")],
        ),
    )


def test_mpps_list_and_page_show_dose_and_reason(admin_client, unscheduled):
    PerformedProcedureStep.objects.filter(pk=unscheduled.pk).update(
        fluoroscopy_time_seconds=95,
        area_dose_product=1.25,
        discontinuation_reason_value="110503",
        discontinuation_reason_meaning="Patient allergic to media/contrast",
    )
    listing = admin_client.get("/admin/ris/performedprocedurestep/").content.decode()
    assert "fluoroscopy s 95" in listing and "DAP dGy*cm2 1.25" in listing
    assert "110503 Patient allergic" in listing
    page = admin_client.get(f"/admin/ris/performedprocedurestep/{unscheduled.pk}/change/")
    assert page.status_code == 200 and "none (unscheduled)" in page.content.decode()


def test_admin_action_links_an_unscheduled_mpps_to_the_order_with_the_accession(admin_client, unscheduled):
    order = order_place(
        actor=TEST_ACTOR,
        patient=PatientData(patient_id="PAT6"),
        order=OrderData(
            accession_number="ACC6", procedures=[ProcedureData(steps=[StepData(modality="XA", start=START)])]
        ),
    )
    admin_client.post(
        "/admin/ris/performedprocedurestep/",
        {"action": "link_to_order", "_selected_action": [unscheduled.pk], "accession_number": "ACC6"},
    )
    unscheduled.refresh_from_db()
    assert not unscheduled.unscheduled
    step = unscheduled.steps.get()
    assert step.requested_procedure.order == order and step.status == "STARTED"
    assert "PPS6 IN PROGRESS" in admin_client.get("/admin/ris/scheduledprocedurestep/").content.decode()


def test_the_admin_shows_a_patient_but_cannot_rename_or_delete_him(admin_client, unscheduled):
    from ris.models import Patient

    order = order_place(
        actor=TEST_ACTOR,
        patient=PatientData(patient_id="ADM1", name="KEPT^NAME"),
        order=OrderData(accession_number="ADMACC1", procedures=[ProcedureData(steps=[StepData(modality="CT")])]),
    )
    patient = order.patient
    url = f"/admin/ris/patient/{patient.pk}/change/"
    assert admin_client.get(url).status_code == 200  # shown, read-only
    answer = admin_client.post(url, {"patient_id": "ADM1", "issuer": "", "name": "OTHER^NAME"})
    assert answer.status_code == 403
    assert admin_client.post(f"/admin/ris/patient/{patient.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Patient.objects.get(pk=patient.pk).name == "KEPT^NAME"


def test_the_admin_changes_no_step_report_or_audit_event_directly(admin_client):
    from ris.models import ScheduledProcedureStep

    order = order_place(
        actor=TEST_ACTOR,
        patient=PatientData(patient_id="ADM2", name="STEP^KEPT"),
        order=OrderData(accession_number="ADMACC2", procedures=[ProcedureData(steps=[StepData(modality="CT")])]),
    )
    step = ScheduledProcedureStep.objects.get(requested_procedure__order=order)
    answer = admin_client.post(f"/admin/ris/scheduledprocedurestep/{step.pk}/change/", {"modality": "MR"})
    assert answer.status_code == 403  # a step moves through the state machine: the board, the API, MPPS
    assert ScheduledProcedureStep.objects.get(pk=step.pk).modality == "CT"
    for model in ("scheduledprocedurestep", "report", "auditevent", "appointment", "outboundmessage"):
        assert admin_client.get(f"/admin/ris/{model}/add/").status_code == 403


def test_opening_a_patients_or_a_messages_admin_page_is_in_the_audit_trail(admin_client):
    from hl7.log import inbound_store
    from ris.models import AuditEvent
    from ris.records import MessageHeader

    order = order_place(
        actor=TEST_ACTOR,
        patient=PatientData(patient_id="ADM3", name="SEEN^BY"),
        order=OrderData(accession_number="ADMACC3", procedures=[ProcedureData(steps=[StepData(modality="CT")])]),
    )
    message = inbound_store(raw=b"MSH|^~\\&|EHR|HOSP", header=MessageHeader(control_id="ADM3MSG"))
    message.order = order
    message.save(update_fields=["order"])
    assert admin_client.get(f"/admin/ris/patient/{order.patient.pk}/change/").status_code == 200
    assert admin_client.get(f"/admin/hl7/inboundmessage/{message.pk}/change/").status_code == 200
    seen = AuditEvent.objects.filter(action="VIEW", actor="admin").order_by("pk")
    assert [(event.object_type, event.patient) for event in seen] == [
        ("patient", order.patient),
        ("inboundmessage", order.patient),
    ]


def test_quarantined_mpps_are_listed_and_shown_but_never_edited(admin_client):
    from ris.models import QuarantinedMpps
    from ris.records import Actor
    from ris.services.mpps import mpps_quarantine

    row = mpps_quarantine(
        operation="N-CREATE",
        sop_instance_uid="1.2.3.4",
        dataset={"00400253": {"vr": "SH", "Value": ["PPS9"]}},
        reason="calling AE ROGUE is not in the modality registry",
        answered=0,
        actor=Actor(door="DICOM", name="ROGUE", address="10.0.0.9"),
    )
    listing = admin_client.get("/admin/ris/quarantinedmpps/").content.decode()
    assert "ROGUE" in listing and "10.0.0.9" in listing
    assert admin_client.get(f"/admin/ris/quarantinedmpps/{row.pk}/change/").status_code == 200
    assert admin_client.get("/admin/ris/quarantinedmpps/add/").status_code == 403
    answer = admin_client.post(f"/admin/ris/quarantinedmpps/{row.pk}/delete/", {"post": "yes"})
    assert answer.status_code == 403
    assert QuarantinedMpps.objects.filter(pk=row.pk).exists()
