"""The reconciliation queue and its resolutions, through the services and the page."""

import datetime as dt

import pytest
from django.urls import reverse

from ris.exceptions import IllegalTransition, InvalidInput
from ris.models import AuditEvent, Destination, Discrepancy, ImagingOrder, OutboundMessage, ScheduledProcedureStep
from ris.records import (
    AvailabilityData,
    CodedValue,
    InstanceData,
    OrderData,
    PatientData,
    PerformedStepChange,
    PerformedStepData,
    ProcedureData,
    ScheduledStepRef,
    StepData,
)
from ris.services.images import instances_available
from ris.services.mpps import mpps_create, mpps_update
from ris.services.orders import order_place
from ris.services.outbox import outbox_build
from ris.services.reconciliation import reconcile_dismiss, reconcile_link, reconcile_register_order, reconcile_undo
from tests.factories import PASSWORD, TEST_ACTOR, actor_of, user_with_role

START = dt.datetime(2026, 11, 26, 14, 30, tzinfo=dt.UTC)
WRONG_STUDY = "1.2.3.999"


@pytest.fixture
def order(db) -> ImagingOrder:
    return order_place(
        actor=TEST_ACTOR,
        patient=PatientData(patient_id="PAT8001", name="DOE^JANE"),
        order=OrderData(
            placer_number="PL8001",
            accession_number="ACC8001",
            procedures=[ProcedureData(study_instance_uid="1.2.3.8001", steps=[StepData(modality="CT", start=START)])],
        ),
    )


@pytest.fixture
def destinations(db):
    ehr = Destination.objects.create(name="EHR", kind=Destination.Kind.HL7_MLLP, host="127.0.0.1", port=1)
    pacs = Destination.objects.create(
        name="PACS", kind=Destination.Kind.HL7_MLLP, role=Destination.Role.IMAGE_MANAGER, host="127.0.0.1", port=2
    )
    return ehr, pacs


def _unscheduled_mpps(uid="1.2.3.4.5", patient_id="PAT8001"):
    pps = mpps_create(
        actor=TEST_ACTOR,
        data=PerformedStepData(
            sop_instance_uid=uid,
            status="IN PROGRESS",
            pps_id="PPS9",
            station_ae_title="CT01",
            start=START,
            modality="CT",
            patient_id=patient_id,
            patient_name="DOE^JANE",
            scheduled_steps=[ScheduledStepRef(study_instance_uid=WRONG_STUDY, accession_number="ACC8999")],
        ),
    )
    mpps_update(
        actor=TEST_ACTOR,
        sop_instance_uid=uid,
        change=PerformedStepChange(
            status="COMPLETED", end=START + dt.timedelta(minutes=10), performed_series=[{"series_instance_uid": "1.9"}]
        ),
    )
    return pps


def _step(order) -> ScheduledProcedureStep:
    return ScheduledProcedureStep.objects.get(requested_procedure__order=order)


def _messages(destination, event):
    return list(OutboundMessage.objects.filter(destination=destination, event=event).order_by("pk"))


def test_an_unscheduled_mpps_opens_one_item_in_the_queue(db):
    pps = _unscheduled_mpps()
    item = Discrepancy.objects.get()
    assert (item.kind, item.performed_step, item.is_open) == (Discrepancy.Kind.UNSCHEDULED_MPPS, pps, True)
    assert WRONG_STUDY in item.summary


def test_linking_an_unscheduled_mpps_completes_the_step_tells_the_ehr_and_the_pacs(order, destinations):
    ehr, pacs = destinations
    _unscheduled_mpps()
    item = reconcile_link(item=Discrepancy.objects.get(), order=order, reason="wrong entry picked", actor=TEST_ACTOR)
    assert item.state == Discrepancy.State.RESOLVED and item.order == order
    assert _step(order).status == "COMPLETED"
    assert [m.context["status"] for m in _messages(ehr, "order_status")] == ["COMPLETED"]
    update = _messages(pacs, "procedure")[-1]
    assert update.context["control"] == "XO"
    payload = outbox_build(message=update).payload
    assert "PAT8001" in payload and "ACC8001" in payload and "1.2.3.8001" in payload
    assert item.rejection_request["stored_under_study"] == WRONG_STUDY
    assert item.rejection_request["series"] == ["1.9"]
    assert item.rejection_request["title"]["value"] == "113038"
    assert AuditEvent.objects.filter(object_type="discrepancy", object_id=str(item.pk)).exists()


def test_a_completed_link_cannot_be_undone_and_stays_as_it_was(order, destinations):
    _unscheduled_mpps()
    item = reconcile_link(item=Discrepancy.objects.get(), order=order, reason="right order", actor=TEST_ACTOR)
    with pytest.raises(IllegalTransition):
        reconcile_undo(item=item, reason="oops", actor=TEST_ACTOR)
    item.refresh_from_db()
    assert item.state == Discrepancy.State.RESOLVED and _step(order).status == "COMPLETED"


def test_a_link_of_an_mpps_in_progress_is_undone_and_the_step_is_back_on_the_worklist(order):
    mpps_create(
        actor=TEST_ACTOR,
        data=PerformedStepData(
            sop_instance_uid="1.2.3.7",
            status="IN PROGRESS",
            pps_id="PPS7",
            station_ae_title="CT01",
            start=START,
            modality="CT",
            scheduled_steps=[ScheduledStepRef(study_instance_uid=WRONG_STUDY)],
        ),
    )
    item = reconcile_link(item=Discrepancy.objects.get(), order=order, reason="right order", actor=TEST_ACTOR)
    assert _step(order).status == "STARTED"
    reconcile_undo(item=item, reason="linked to the wrong order", actor=TEST_ACTOR)
    item.refresh_from_db()
    assert item.is_open and _step(order).status == "SCHEDULED"
    assert item.performed_step.unscheduled and not item.performed_step.steps.exists()


def test_an_unscheduled_mpps_registered_as_a_new_order_is_announced_to_the_pacs(destinations):
    _ehr, pacs = destinations
    _unscheduled_mpps(patient_id="PAT8100")
    item = reconcile_register_order(item=Discrepancy.objects.get(), reason="walk-in", actor=TEST_ACTOR)
    assert item.order.patient.patient_id == "PAT8100"
    assert [m.context["control"] for m in _messages(pacs, "procedure")][:1] == ["NW"]


def test_a_dismissal_needs_a_reason_and_is_undone_by_reopening(db):
    _unscheduled_mpps()
    item = Discrepancy.objects.get()
    with pytest.raises(InvalidInput):
        reconcile_dismiss(item=item, reason=" ", actor=TEST_ACTOR)
    reconcile_dismiss(item=item, reason="test exam", actor=TEST_ACTOR)
    assert Discrepancy.objects.get().state == Discrepancy.State.DISMISSED
    reconcile_undo(item=item, reason="not a test", actor=TEST_ACTOR)
    assert Discrepancy.objects.get().is_open


def test_images_of_an_unknown_study_linked_to_the_order_complete_its_step(order, destinations):
    _ehr, pacs = destinations
    instances_available(
        actor=TEST_ACTOR,
        data=AvailabilityData(
            sop_instance_uid="1.2.3.50",
            study_instance_uid=WRONG_STUDY,
            instances=(InstanceData("1.2.3.51", "1.2.840.10008.5.1.4.1.1.2", "1.2.3.52", "ONLINE"),),
            sender="PACS",
        ),
    )
    item = Discrepancy.objects.get(kind=Discrepancy.Kind.UNKNOWN_STUDY)
    reconcile_link(item=item, order=order, reason="archive coerced the UID", actor=TEST_ACTOR)
    assert _step(order).status == "COMPLETED"
    assert order.procedures.get().instances.count() == 1
    item.refresh_from_db()
    assert item.rejection_request["instances"] == ["1.2.3.52"]
    assert _messages(pacs, "procedure")[-1].context["control"] == "XO"


def test_a_merge_leaves_an_item_to_review(db):
    from ris.services.patients import patient_merge

    patient_merge(surviving=PatientData(patient_id="PAT1"), prior_patient_id="PAT2", prior_issuer="", actor=TEST_ACTOR)
    assert Discrepancy.objects.get().kind == Discrepancy.Kind.MERGE_REVIEW


def test_the_workbench_lists_the_queue_and_links_an_item_for_a_technologist(client, order):
    _unscheduled_mpps()
    user = user_with_role("technologist")
    client.login(username=user.username, password=PASSWORD)
    page = client.get(reverse("reconciliation"))
    assert page.status_code == 200 and b"PPS9" in page.content and b"ACC8001" in page.content
    item = Discrepancy.objects.get()
    url = reverse("reconciliation_resolve", args=[item.pk, "link"])
    client.post(url, {"accession_number": "ACC8001", "reason": "picked the wrong entry"})
    item.refresh_from_db()
    assert item.state == Discrepancy.State.RESOLVED and item.resolved_by == user
    assert actor_of(user).label == user.username


def test_the_workbench_is_refused_to_a_scheduler(client, db):
    user = user_with_role("scheduler")
    client.login(username=user.username, password=PASSWORD)
    assert client.get(reverse("reconciliation")).status_code == 403


def _ian(study_uid, availability="ONLINE", uid="1.2.3.60"):
    return instances_available(
        actor=TEST_ACTOR,
        data=AvailabilityData(
            sop_instance_uid=uid,
            study_instance_uid=study_uid,
            instances=(InstanceData("1.2.3.61", "1.2.840.10008.5.1.4.1.1.2", uid + ".1", availability),),
            sender="PACS",
        ),
    )


def test_images_only_offline_complete_no_step(order):
    _ian("1.2.3.8001", availability="OFFLINE")
    assert _step(order).status == "SCHEDULED"
    assert order.procedures.get().instances.get().availability == "OFFLINE"


def test_images_complete_no_step_when_the_site_turned_it_off(order, settings):
    settings.RIS_IAN_COMPLETES_STEPS = False
    _ian("1.2.3.8001")
    assert _step(order).status == "SCHEDULED"
    assert order.procedures.get().instances.count() == 1


def test_a_second_notification_of_the_same_instance_updates_its_availability(order):
    _ian("1.2.3.8001", availability="NEARLINE", uid="1.2.3.70")
    instances_available(
        actor=TEST_ACTOR,
        data=AvailabilityData(
            sop_instance_uid="1.2.3.71",
            study_instance_uid="1.2.3.8001",
            instances=(InstanceData("1.2.3.61", "1.2.840.10008.5.1.4.1.1.2", "1.2.3.70.1", "OFFLINE"),),
        ),
    )
    assert order.procedures.get().instances.get().availability == "OFFLINE"


def test_an_exam_on_the_wrong_worklist_entry_is_linked_to_the_right_order_for_the_pacs(order, destinations):
    _ehr, pacs = destinations
    other = order_place(
        actor=TEST_ACTOR,
        patient=PatientData(patient_id="PAT8002"),
        order=OrderData(
            placer_number="PL8002",
            accession_number="ACC8002",
            procedures=[ProcedureData(study_instance_uid="1.2.3.8002", steps=[StepData(modality="CT", start=START)])],
        ),
    )
    ref = ScheduledStepRef(study_instance_uid="1.2.3.8002", accession_number="ACC8002")
    data = PerformedStepData(
        sop_instance_uid="1.2.3.80",
        status="IN PROGRESS",
        pps_id="PPS80",
        station_ae_title="CT01",
        start=START,
        modality="CT",
        scheduled_steps=[ref],
    )
    mpps_create(actor=TEST_ACTOR, data=data)
    mpps_update(
        actor=TEST_ACTOR,
        sop_instance_uid="1.2.3.80",
        change=PerformedStepChange(
            status="DISCONTINUED",
            end=START + dt.timedelta(minutes=5),
            performed_series=[{"series_instance_uid": "1.8"}],
            discontinuation_reason=CodedValue("110514", "DCM", "Incorrect worklist entry selected"),
        ),
    )
    item = Discrepancy.objects.get(kind=Discrepancy.Kind.WRONG_WORKLIST_ENTRY)
    assert _step(other).status == "SCHEDULED"  # back on the worklist, to be performed again
    reconcile_link(item=item, order=order, reason="the images are Jane Doe's", actor=TEST_ACTOR)
    item.refresh_from_db()
    assert item.rejection_request["stored_under_study"] == "1.2.3.8002"
    assert item.rejection_request["correct_accession"] == "ACC8001"
    assert _messages(pacs, "procedure")[-1].order == order


def test_an_exam_on_another_patients_order_moves_to_the_right_one(order, destinations):
    _ehr, pacs = destinations
    other = order_place(
        actor=TEST_ACTOR,
        patient=PatientData(patient_id="PAT8003"),
        order=OrderData(
            placer_number="PL8003",
            accession_number="ACC8003",
            procedures=[ProcedureData(study_instance_uid="1.2.3.8003", steps=[StepData(modality="CT", start=START)])],
        ),
    )
    mpps_create(
        actor=TEST_ACTOR,
        data=PerformedStepData(
            sop_instance_uid="1.2.3.90",
            status="IN PROGRESS",
            pps_id="PPS90",
            station_ae_title="CT01",
            start=START,
            modality="CT",
            patient_id="PAT8001",
            scheduled_steps=[ScheduledStepRef(study_instance_uid="1.2.3.8003")],
        ),
    )
    item = Discrepancy.objects.get(kind=Discrepancy.Kind.PATIENT_CONFLICT)
    assert item.patient == other.patient and _step(other).status == "STARTED"
    reconcile_link(item=item, order=order, reason="the modality had the right patient", actor=TEST_ACTOR)
    assert _step(other).status == "SCHEDULED" and _step(order).status == "STARTED"
    assert {m.order_id for m in _messages(pacs, "procedure") if m.context["control"] == "XO"} == {order.pk, other.pk}
