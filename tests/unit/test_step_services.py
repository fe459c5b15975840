"""Step and order state machines, and the reconciliation of unscheduled MPPS, through the services."""

import datetime as dt
import logging

import pytest

from ris.exceptions import IllegalTransition, InvalidInput
from ris.models import Destination, ImagingOrder, OutboundMessage, ScheduledProcedureStep
from ris.records import (
    OrderData,
    PatientData,
    PerformedStepChange,
    PerformedStepData,
    ProcedureData,
    ScheduledStepRef,
    StepData,
)
from ris.services.mpps import mpps_create, mpps_link_to_order, mpps_register_unscheduled_exam, mpps_update
from ris.services.orders import order_place
from ris.services.outbox import outbox_build
from ris.services.steps import (
    status_from_steps,
    step_check_in,
    step_ready,
    step_set_status,
    step_start_outside_modality,
)
from tests.factories import TEST_ACTOR

START = dt.datetime(2026, 11, 26, 14, 30, tzinfo=dt.UTC)


@pytest.fixture
def order(db) -> ImagingOrder:
    return order_place(
        actor=TEST_ACTOR,
        patient=PatientData(patient_id="PAT8001"),
        order=OrderData(
            placer_number="PL8001",
            accession_number="ACC8001",
            procedures=[ProcedureData(steps=[StepData(modality="CT", start=START)])],
        ),
    )


@pytest.fixture
def ehr_destination(db):
    return Destination.objects.create(
        name="EHR", kind=Destination.Kind.HL7_MLLP, host="127.0.0.1", port=1, events=["order_status"]
    )


def _step(order) -> ScheduledProcedureStep:
    return ScheduledProcedureStep.objects.get(requested_procedure__order=order)


def test_check_in_and_ready_move_the_step_and_leave_the_order_scheduled(order, ehr_destination):
    step_check_in(actor=TEST_ACTOR, step=_step(order))
    assert _step(order).status == "ARRIVED"
    step_ready(actor=TEST_ACTOR, step=_step(order))
    assert _step(order).status == "READY"
    order.refresh_from_db()
    assert order.status == "SCHEDULED"
    assert not OutboundMessage.objects.exists()  # the order's status did not change


def test_a_step_started_by_hand_puts_the_order_in_progress_and_queues_ip(order, ehr_destination):
    step_start_outside_modality(actor=TEST_ACTOR, step=_step(order), reason="modality without MPPS")
    order.refresh_from_db()
    assert order.status == "IN_PROGRESS"
    message = OutboundMessage.objects.get()
    assert (message.event, message.order) == ("order_status", order)
    assert message.payload == "" and message.context == {"order_id": order.pk, "status": "IN_PROGRESS"}
    message = outbox_build(message=message)  # the worker builds it on the first delivery attempt
    assert "|IP|" in message.payload


def test_an_illegal_step_transition_is_refused_logged_and_changes_nothing(order, caplog):
    step_set_status(actor=TEST_ACTOR, step=_step(order), status="CANCELED")
    with caplog.at_level(logging.WARNING), pytest.raises(IllegalTransition):
        step_set_status(actor=TEST_ACTOR, step=_step(order), status="ARRIVED")
    assert _step(order).status == "CANCELED"
    assert "cannot go from CANCELED to ARRIVED" in caplog.text


@pytest.mark.parametrize(
    "steps, current, expected",
    [
        (["SCHEDULED", "SCHEDULED"], "SCHEDULED", "SCHEDULED"),
        (["STARTED", "SCHEDULED"], "SCHEDULED", "IN_PROGRESS"),
        (["COMPLETED", "SCHEDULED"], "IN_PROGRESS", "IN_PROGRESS"),
        (["COMPLETED", "COMPLETED"], "IN_PROGRESS", "COMPLETED"),
        (["COMPLETED", "CANCELED"], "IN_PROGRESS", "COMPLETED"),
        (["DISCONTINUED"], "IN_PROGRESS", "DISCONTINUED"),
        (["CANCELED"], "SCHEDULED", "CANCELED"),
        (["SCHEDULED"], "IN_PROGRESS", "SCHEDULED"),  # its only step went back to the worklist (110514)
        (["SCHEDULED"], "ON_HOLD", "ON_HOLD"),
    ],
)
def test_the_order_status_follows_its_steps(steps, current, expected):
    assert status_from_steps(steps, current) == expected


def _unscheduled(study_uid="1.2.3.999", accession="ACC8999") -> PerformedStepData:
    return PerformedStepData(
        sop_instance_uid="1.2.3.4.5",
        status="IN PROGRESS",
        pps_id="PPS9",
        station_ae_title="CT01",
        start=START,
        modality="CT",
        patient_id="PAT8001",
        patient_name="DOE^JOHN",
        scheduled_steps=[ScheduledStepRef(study_instance_uid=study_uid, accession_number=accession)],
    )


def _complete(uid="1.2.3.4.5"):
    return mpps_update(
        actor=TEST_ACTOR,
        sop_instance_uid=uid,
        change=PerformedStepChange(
            status="COMPLETED", end=START + dt.timedelta(minutes=10), performed_series=[{"series_instance_uid": "1.2"}]
        ),
    )


def test_an_unscheduled_mpps_linked_to_an_order_moves_its_step(order):
    pps = mpps_create(actor=TEST_ACTOR, data=_unscheduled())
    assert pps.unscheduled and _step(order).status == "SCHEDULED"
    _complete()
    mpps_link_to_order(actor=TEST_ACTOR, pps=pps, order=order)
    pps.refresh_from_db()
    assert not pps.unscheduled and list(pps.steps.all()) == [_step(order)]
    assert _step(order).status == "COMPLETED"
    order.refresh_from_db()
    assert order.status == "COMPLETED"


def test_linking_to_an_order_without_an_open_step_is_refused(order):
    pps = mpps_create(actor=TEST_ACTOR, data=_unscheduled())
    step_set_status(actor=TEST_ACTOR, step=_step(order), status="CANCELED")
    with pytest.raises(InvalidInput):
        mpps_link_to_order(actor=TEST_ACTOR, pps=pps, order=order)


def test_linking_to_an_order_whose_steps_were_discontinued_is_refused(order):
    # A discontinued step has ended like a cancelled one: the order (HL7 DC)
    # cannot go back in progress, so there is no open step to link to.
    pps = mpps_create(actor=TEST_ACTOR, data=_unscheduled())
    step_set_status(actor=TEST_ACTOR, step=_step(order), status="DISCONTINUED")
    with pytest.raises(InvalidInput):
        mpps_link_to_order(actor=TEST_ACTOR, pps=pps, order=order)
    assert _step(order).status == "DISCONTINUED"


def test_an_unscheduled_mpps_registered_as_a_new_exam_gets_an_order_with_its_study(db):
    pps = mpps_create(actor=TEST_ACTOR, data=_unscheduled())
    order = mpps_register_unscheduled_exam(actor=TEST_ACTOR, pps=pps)
    step = _step(order)
    assert order.accession_number == "ACC8999"
    assert order.patient.patient_id == "PAT8001"
    assert step.requested_procedure.study_instance_uid == "1.2.3.999"
    assert (step.modality, step.station_ae_title, step.status) == ("CT", "CT01", "STARTED")
    pps.refresh_from_db()
    assert not pps.unscheduled
    with pytest.raises(InvalidInput):  # once only
        mpps_register_unscheduled_exam(actor=TEST_ACTOR, pps=pps)


def test_a_scheduled_step_item_without_values_links_no_step(order):
    from ris.services.mpps import matching_steps

    assert matching_steps([ScheduledStepRef("")], modality="CT") == []
    assert [
        s.pk
        for s in matching_steps([ScheduledStepRef(_step(order).requested_procedure.study_instance_uid)], modality="CT")
    ] == [_step(order).pk]
    assert matching_steps([ScheduledStepRef(_step(order).requested_procedure.study_instance_uid)], modality="MR") == []
