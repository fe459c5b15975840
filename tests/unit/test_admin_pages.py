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
