"""Vetting and protocoling, safety screening and its rules, through the
services, the pages and the REST API."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from hl7.er7 import Delimiters, Segment
from hl7.write_order_status import build_order_status
from ris.exceptions import IllegalTransition, InvalidInput, OrderNotVetted, OverrideNotAllowed, SafetyRuleBroken
from ris.models import (
    Appointment,
    AuditEvent,
    Contrast,
    Destination,
    ImagingOrder,
    OutboundMessage,
    PerformedProcedureStep,
    ProtocolCode,
    SafetyAlert,
    SafetyRecord,
)
from ris.records import OrderData, PatientData, PerformedStepData, ProcedureData, SafetyData, ScheduledStepRef, StepData
from ris.services import safety_rules
from ris.services.appointments import appointment_book
from ris.services.mpps import mpps_create
from ris.services.orders import order_place
from ris.services.safety import safety_record
from ris.services.statements import NotInOneStatement, Statement, order_place_parts
from ris.services.steps import step_start_outside_modality
from ris.services.vetting import order_vet_accept, order_vet_reject, order_vet_return
from ris.states import OrderStatus, StepStatus, VettingStatus
from tests import factories as f
from tests.factories import TEST_ACTOR, actor_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def monday():
    return f.next_monday()


def _vetted_procedure(code="CTABDC", modality="CT", contrast=Contrast.NONE, needs_vetting=True):
    entry = f.procedure(code, modality=modality, name=f"{code} exam")
    entry.needs_vetting, entry.contrast = needs_vetting, contrast
    entry.save()
    ProtocolCode.objects.get_or_create(procedure=entry, code_value="P-ROUT", code_meaning="Routine", is_default=True)
    ProtocolCode.objects.get_or_create(procedure=entry, code_value="P-LOWDOSE", code_meaning="Low dose")
    return entry


def _user(role):
    return f.user_with_role(role)


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _order(step):
    return ImagingOrder.objects.get(pk=step.requested_procedure.order_id)


# Vetting


def test_an_order_of_a_procedure_that_needs_vetting_waits_and_others_are_auto_accepted():
    _vetted_procedure("CTABDC")
    f.procedure("CTHEAD")
    assert _order(f.step(code="CTABDC")).vetting_status == VettingStatus.PENDING
    assert _order(f.step(code="CTHEAD", patient_id="P2")).vetting_status == VettingStatus.NOT_REQUIRED


def test_an_unvetted_order_is_refused_by_the_booking_service_until_it_is_accepted(monday):
    _vetted_procedure("CTABDC")
    ct1, step = f.room("CT1"), f.step(code="CTABDC")
    with pytest.raises(OrderNotVetted, match="waits for vetting by a radiologist"):
        appointment_book(actor=TEST_ACTOR, step=step, room=ct1, start=f.local(monday, 9))
    order_vet_accept(order=_order(step), actor=actor_of(f.radiologist()))
    assert appointment_book(actor=TEST_ACTOR, step=step, room=ct1, start=f.local(monday, 9)).pk


def test_the_booking_page_shows_why_an_unvetted_order_cannot_be_booked(monday):
    _vetted_procedure("CTABDC")
    ct1, step = f.room("CT1"), f.step(code="CTABDC")
    scheduler = _client(_user("scheduler"))
    start = f.local(monday, 9).strftime("%Y-%m-%dT%H:%M")
    answer = scheduler.post(reverse("step_book", args=[step.pk]), {"room": ct1.pk, "start": start})
    assert answer.status_code == 400
    assert "waits for vetting by a radiologist" in answer.content.decode()
    assert b"awaiting vetting" in answer.content
    assert not Appointment.objects.exists()


def test_the_rest_api_refuses_to_book_an_unvetted_order_with_409_and_its_reason(monday):
    _vetted_procedure("CTABDC")
    ct1, step = f.room("CT1"), f.step(code="CTABDC")
    api = APIClient()
    api.force_authenticate(_user("scheduler"))
    body = {"step": step.pk, "room": ct1.pk, "start": f.local(monday, 9).isoformat()}
    refused = api.post("/api/bookings/", body, format="json")
    assert refused.status_code == 409
    assert refused.json()["error"] == "OrderNotVetted"
    order = api.get(f"/api/orders/{step.requested_procedure.order_id}/").json()
    assert order["vetting_status"] == "PENDING"


def test_accepting_assigns_the_chosen_protocol_to_the_open_steps_and_audits_the_radiologist():
    entry = _vetted_procedure("CTABDC")
    step = f.step(code="CTABDC")
    low_dose = ProtocolCode.objects.get(procedure=entry, code_value="P-LOWDOSE")
    doctor = f.radiologist()
    order_vet_accept(order=_order(step), actor=actor_of(doctor), protocols={step.requested_procedure_id: low_dose})
    step.refresh_from_db()
    assert (step.protocol_code_value, step.protocol_code_scheme, step.protocol_code_meaning) == (
        "P-LOWDOSE",
        "L",
        "Low dose",
    )
    order = _order(step)
    assert (order.vetting_status, order.vetted_by) == (VettingStatus.ACCEPTED, doctor)
    details = list(AuditEvent.objects.filter(actor=doctor.username).values_list("detail", flat=True))
    assert any("vetting accepted" in d for d in details)
    assert any("protocol P-LOWDOSE" in d for d in details)


def test_a_protocol_of_another_procedure_is_refused():
    _vetted_procedure("CTABDC")
    other = _vetted_procedure("CTCHEST")
    step = f.step(code="CTABDC")
    wrong = ProtocolCode.objects.filter(procedure=other).first()
    with pytest.raises(InvalidInput, match="not one of procedure"):
        order_vet_accept(order=_order(step), actor=TEST_ACTOR, protocols={step.requested_procedure_id: wrong})
    assert _order(step).vetting_status == VettingStatus.PENDING


def test_rejecting_cancels_the_order_and_its_steps_and_queues_oc_with_the_reason():
    _vetted_procedure("CTABDC")
    Destination.objects.create(
        name="EHR", kind=Destination.Kind.HL7_MLLP, host="127.0.0.1", port=1, events=["order_status"]
    )
    step = f.step(code="CTABDC")
    order_vet_reject(order=_order(step), reason="Ultrasound first", actor=actor_of(f.radiologist()))
    step.refresh_from_db()
    order = _order(step)
    assert (order.status, order.vetting_status, order.vetting_reason) == (
        OrderStatus.CANCELED,
        VettingStatus.REJECTED,
        "Ultrasound first",
    )
    assert step.status == StepStatus.CANCELED
    [row] = OutboundMessage.objects.filter(event="order_status")
    assert row.context == {"order_id": order.pk, "status": "CANCELED", "control": "OC", "reason": "Ultrasound first"}


def test_a_rejection_without_a_reason_is_refused():
    _vetted_procedure("CTABDC")
    step = f.step(code="CTABDC")
    with pytest.raises(InvalidInput):
        order_vet_reject(order=_order(step), reason=" ", actor=TEST_ACTOR)


def test_returning_holds_the_order_and_accepting_it_later_schedules_it_again():
    _vetted_procedure("CTABDC")
    step = f.step(code="CTABDC")
    order_vet_return(order=_order(step), reason="Which side?", actor=TEST_ACTOR)
    assert (_order(step).status, _order(step).vetting_status) == (OrderStatus.ON_HOLD, VettingStatus.RETURNED)
    order_vet_accept(order=_order(step), actor=TEST_ACTOR)
    assert (_order(step).status, _order(step).vetting_status) == (OrderStatus.SCHEDULED, VettingStatus.ACCEPTED)
    with pytest.raises(IllegalTransition):
        order_vet_reject(order=_order(step), reason="too late", actor=TEST_ACTOR)


def test_the_order_status_builder_writes_orc_1_oc_orc_16_and_an_nte_with_the_reason():
    _vetted_procedure("CTABDC")
    step = f.step(code="CTABDC")
    order = order_vet_reject(order=_order(step), reason="Ultrasound first", actor=TEST_ACTOR)
    destination = Destination(name="EHR", kind=Destination.Kind.HL7_MLLP, hl7_version="2.5.1")
    built = build_order_status(
        destination, {"order_id": order.pk, "status": "CANCELED", "control": "OC", "reason": "Ultrasound first"}
    )
    segments = {line[:3]: Segment(line, Delimiters()) for line in str(built.payload).split("\r") if line}
    assert (segments["ORC"].get(1), segments["ORC"].get(5), segments["ORC"].get(16, 2)) == (
        "OC",
        "CA",
        "Ultrasound first",
    )
    assert segments["NTE"].get(3) == "Ultrasound first"


def test_the_vetting_page_needs_the_capability():
    assert _client(_user("scheduler")).get(reverse("vetting_queue")).status_code == 403
    assert _client(f.radiologist()).get(reverse("vetting_queue")).status_code == 200


def test_the_rest_api_vets_an_order_with_a_protocol():
    entry = _vetted_procedure("CTABDC")
    step = f.step(code="CTABDC")
    protocol = ProtocolCode.objects.get(procedure=entry, code_value="P-ROUT")
    api = APIClient()
    api.force_authenticate(_user("scheduler"))
    url = f"/api/orders/{step.requested_procedure.order_id}/vetting/"
    assert api.post(url, {"decision": "accept"}, format="json").status_code == 403
    api.force_authenticate(f.radiologist())
    answer = api.post(
        url, {"decision": "accept", "protocols": {str(step.requested_procedure_id): protocol.pk}}, format="json"
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["vetting_status"] == "ACCEPTED"
    assert answer.json()["procedures"][0]["steps"][0]["protocol_code_value"] == "P-ROUT"


# Safety rules


def _contrast_step(egfr=None, weight=70.0, measured_on=None, **kwargs):
    _vetted_procedure("CTABDC", contrast=Contrast.IODINATED, needs_vetting=False)
    step = f.step(code="CTABDC", **kwargs)
    values = [SafetyData("WEIGHT", number=weight)] if weight is not None else []
    if egfr is not None:
        values.append(SafetyData("EGFR", number=egfr, measured_on=measured_on or timezone.localdate()))
    safety_record(order=_order(step), values=values, actor=TEST_ACTOR)
    return step


def _rules(step) -> list[str]:
    return [flag.rule for flag in safety_rules.rules_broken_by(step.requested_procedure.order_id)]


def test_contrast_needs_an_egfr_over_the_threshold_measured_recently_and_a_weight(settings):
    settings.RIS_SAFETY_EGFR_MIN, settings.RIS_SAFETY_EGFR_MAX_AGE_DAYS = 30, 90
    assert _rules(_contrast_step(egfr=None, patient_id="A")) == ["contrast_egfr"]
    assert _rules(_contrast_step(egfr=25, patient_id="B")) == ["contrast_egfr"]
    assert _rules(_contrast_step(egfr=45, patient_id="C")) == []
    old = timezone.localdate() - dt.timedelta(days=91)
    assert _rules(_contrast_step(egfr=45, measured_on=old, patient_id="D")) == ["contrast_egfr"]
    assert _rules(_contrast_step(egfr=45, weight=None, patient_id="E")) == ["contrast_weight"]


def test_a_rule_a_site_turns_off_is_not_checked(settings):
    settings.RIS_SAFETY_RULES_OFF = ["contrast_egfr"]
    assert _rules(_contrast_step(egfr=10)) == []


def test_mr_with_a_pacemaker_or_an_unscreened_checklist_breaks_the_mr_rule():
    entry = f.procedure("MRHEAD", modality="MR", name="MR Head")
    entry.mr_checklist = True
    entry.save()
    step = f.step(code="MRHEAD", modality="MR")
    assert _rules(step) == ["mr_safety"]  # nothing screened yet
    safety_record(
        order=_order(step),
        values=[SafetyData("MR_PACEMAKER", "no"), SafetyData("MR_IMPLANT", "none")],
        actor=TEST_ACTOR,
    )
    assert _rules(step) == []
    safety_record(order=_order(step), values=[SafetyData("MR_PACEMAKER", "yes")], actor=TEST_ACTOR)
    assert _rules(step) == ["mr_safety"]


def test_pregnancy_with_ionising_radiation_breaks_its_rule_and_an_mr_does_not():
    ct = f.step(code="CTHEAD")
    mr = f.step(code="MRHEAD", modality="MR", patient_id="P2")
    for step in (ct, mr):
        safety_record(order=_order(step), values=[SafetyData("PREGNANCY", "possible")], actor=TEST_ACTOR)
    assert _rules(ct) == ["pregnancy_radiation"]
    assert _rules(mr) == []


def test_screening_keeps_its_history_and_records_only_changed_values():
    step = f.step()
    order = _order(step)
    safety_record(order=order, values=[SafetyData("WEIGHT", number=70)], actor=TEST_ACTOR)
    safety_record(order=order, values=[SafetyData("WEIGHT", number=70)], actor=TEST_ACTOR)
    safety_record(order=order, values=[SafetyData("WEIGHT", number=72.5)], actor=TEST_ACTOR)
    assert [float(r.number) for r in SafetyRecord.objects.filter(order=order).order_by("pk")] == [70.0, 72.5]
    assert safety_rules.current_screening(order)["WEIGHT"].number == pytest.approx(72.5)
    assert AuditEvent.objects.filter(object_type="safetyrecord").count() == 2


def test_an_implausible_value_is_refused():
    with pytest.raises(InvalidInput):
        safety_record(order=_order(f.step()), values=[SafetyData("EGFR", number=900)], actor=TEST_ACTOR)
    with pytest.raises(InvalidInput):
        safety_record(
            order=_order(f.step(patient_id="P2")), values=[SafetyData("PREGNANCY", "maybe")], actor=TEST_ACTOR
        )


def test_a_contrast_booking_with_a_low_egfr_is_refused_then_booked_with_an_audited_override(monday):
    step = _contrast_step(egfr=22)
    ct1 = f.room("CT1")
    start = f.local(monday, 9).strftime("%Y-%m-%dT%H:%M")
    scheduler = _client(_user("scheduler"))
    refused = scheduler.post(reverse("step_book", args=[step.pk]), {"room": ct1.pk, "start": start})
    assert refused.status_code == 400
    assert "eGFR 22 is under 30" in refused.content.decode()
    not_allowed = scheduler.post(
        reverse("step_book", args=[step.pk]),
        {"room": ct1.pk, "start": start, "safety_override": "benefit outweighs risk"},
    )
    assert "You may not override safety rules" in not_allowed.content.decode()
    assert not Appointment.objects.exists()
    administrator = _user("administrator")
    booked = _client(administrator).post(
        reverse("step_book", args=[step.pk]),
        {"room": ct1.pk, "start": start, "safety_override": "benefit outweighs risk"},
    )
    assert booked.status_code == 302
    assert Appointment.objects.filter(step=step).exists()
    event = AuditEvent.objects.get(detail__startswith="safety override")
    assert event.actor == administrator.username
    assert "contrast_egfr" in event.detail and "benefit outweighs risk" in event.detail


def test_the_rest_api_refuses_a_contrast_booking_with_the_rule_and_books_with_an_override(monday):
    step = _contrast_step(egfr=22)
    ct1 = f.room("CT1")
    api = APIClient()
    api.force_authenticate(_user("administrator"))
    body = {"step": step.pk, "room": ct1.pk, "start": f.local(monday, 9).isoformat()}
    refused = api.post("/api/bookings/", body, format="json")
    assert (refused.status_code, refused.json()["error"]) == (409, "SafetyRuleBroken")
    assert (
        api.post("/api/bookings/", {**body, "safety_override": "urgent, renal team agrees"}, format="json").status_code
        == 201
    )
    flags = api.get(f"/api/orders/{step.requested_procedure.order_id}/").json()["safety_flags"]
    assert [flag["rule"] for flag in flags] == ["contrast_egfr"]


def test_a_manual_start_against_a_rule_needs_an_override():
    step = _contrast_step(egfr=None)
    with pytest.raises(SafetyRuleBroken, match="no eGFR recorded"):
        step_start_outside_modality(step=step, reason="no MPPS on this scanner", actor=TEST_ACTOR)
    with pytest.raises(OverrideNotAllowed):
        step_start_outside_modality(
            step=step, reason="no MPPS", actor=actor_of(_user("technologist")), safety_override="ok"
        )
    doctor = f.radiologist()
    step_start_outside_modality(step=step, reason="no MPPS", actor=actor_of(doctor), safety_override="dialysis patient")
    step.refresh_from_db()
    assert step.status == StepStatus.STARTED


def test_the_board_refuses_a_manual_start_against_a_rule_with_its_reason():
    step = _contrast_step(egfr=None, start=timezone.now())
    technologist = _client(_user("technologist"))
    answer = technologist.post(reverse("board_step_started", args=[step.pk]), {"reason": "no MPPS"})
    assert answer.status_code == 409
    assert "no eGFR recorded" in answer.content.decode()
    page = technologist.get(reverse("board")).content.decode()
    assert 'data-rule="contrast_egfr"' in page


def test_an_mpps_start_against_a_rule_is_accepted_and_raises_a_visible_alert():
    step = _contrast_step(egfr=None)
    procedure = step.requested_procedure
    data = PerformedStepData(
        sop_instance_uid="1.2.3.4.5",
        status="IN PROGRESS",
        pps_id="PPS1",
        station_ae_title="CT01",
        start=timezone.now(),
        modality="CT",
        scheduled_steps=[ScheduledStepRef(study_instance_uid=procedure.study_instance_uid, sps_id=step.sps_id)],
    )
    mpps_create(data=data, actor=TEST_ACTOR)
    assert PerformedProcedureStep.objects.count() == 1
    [alert] = SafetyAlert.objects.all()
    assert "no eGFR recorded" in alert.reason
    assert safety_rules.safety_flags(procedure.order_id)[0].rule == "alert"


def test_the_screening_form_records_values_with_who_and_when():
    step = f.step()
    technologist = _user("technologist")
    client = _client(technologist)
    url = reverse("screening", args=[step.requested_procedure.order_id])
    answer = client.post(
        url, {"egfr": "48", "egfr_date": timezone.localdate().isoformat(), "weight": "81", "contrast_allergy": "no"}
    )
    assert answer.status_code == 302
    records = SafetyRecord.objects.filter(order_id=step.requested_procedure.order_id)
    assert {r.item for r in records} == {"EGFR", "WEIGHT", "CONTRAST_ALLERGY"}
    assert {r.recorded_by for r in records} == {technologist.username}
    assert {r.source for r in records} == {"UI"}
    page = client.get(url).content.decode()
    assert "screening-history" in page and technologist.username in page


def test_a_scheduler_sees_the_screening_but_may_not_record_it():
    step = f.step()
    scheduler = _client(_user("scheduler"))
    url = reverse("screening", args=[step.requested_procedure.order_id])
    assert scheduler.get(url).status_code == 200
    assert scheduler.post(url, {"weight": "80"}).status_code == 403


# HL7: what the statement path declines


def test_the_one_statement_path_declines_an_order_carrying_safety_values():
    order = OrderData(
        procedures=[ProcedureData(code_value="CTHEAD", steps=[StepData(modality="CT")])],
        safety=(SafetyData("WEIGHT", number=70),),
    )
    with pytest.raises(NotInOneStatement):
        order_place_parts(Statement(), patient="p", order=order, actor=TEST_ACTOR, now=timezone.now())


def test_an_order_placed_with_safety_values_records_them_from_its_door():
    from ris.models import AuditEvent as Event
    from ris.records import Actor

    hl7 = Actor(door=Event.Door.HL7, name="EHR^HOSP")
    order = order_place(
        actor=hl7,
        patient=PatientData(patient_id="P9"),
        order=OrderData(
            procedures=[ProcedureData(code_value="X", steps=[StepData(modality="CT")])],
            safety=(SafetyData("EGFR", number=55, measured_on=dt.date(2026, 11, 30)),),
        ),
    )
    [record] = SafetyRecord.objects.filter(order=order)
    assert (record.source, record.recorded_by, float(record.number)) == ("HL7", "EHR^HOSP", 55.0)


def test_an_order_change_from_the_ehr_puts_a_returned_order_back_in_the_vetting_queue():
    from ris.records import OrderKey
    from ris.services.orders import order_change

    _vetted_procedure("CTABDC")
    order = order_place(
        actor=TEST_ACTOR,
        patient=PatientData(patient_id="P7"),
        order=OrderData(
            placer_system="EHR|HOSP",
            placer_number="PL7",
            procedures=[ProcedureData(code_value="CTABDC", steps=[StepData(modality="CT")])],
        ),
    )
    order_vet_return(order=order, reason="Which side?", actor=TEST_ACTOR)
    order_change(key=OrderKey("EHR|HOSP", "PL7"), order=OrderData(reason="Left kidney"), actor=TEST_ACTOR)
    order.refresh_from_db()
    assert (order.vetting_status, order.status, order.reason) == (
        VettingStatus.PENDING,
        OrderStatus.ON_HOLD,
        "Left kidney",
    )


def test_the_order_list_reads_screening_and_flags_for_a_page_at_once(django_assert_max_num_queries):
    for number in range(6):
        step = _contrast_step(egfr=20 + number, patient_id=f"L{number}")
    api = APIClient()
    api.force_authenticate(_user("scheduler"))
    with django_assert_max_num_queries(30):
        orders = api.get("/api/orders/").json()["results"]
    assert len(orders) == 6
    assert all([flag["rule"] for flag in order["safety_flags"]] == ["contrast_egfr"] for order in orders)
    assert {item["item"] for item in orders[-1]["screening"]} == {"EGFR", "WEIGHT"}
    assert step.requested_procedure.order_id == orders[-1]["id"]


def test_an_order_the_ehr_cancelled_while_it_waited_leaves_the_queue_and_cannot_be_vetted():
    from ris.records import OrderKey
    from ris.selectors.vetting import orders_to_vet
    from ris.services.orders import order_cancel

    _vetted_procedure("CTABDC")
    order = order_place(
        actor=TEST_ACTOR,
        patient=PatientData(patient_id="P8"),
        order=OrderData(
            placer_system="EHR|HOSP",
            placer_number="PL8",
            procedures=[ProcedureData(code_value="CTABDC", steps=[StepData(modality="CT")])],
        ),
    )
    assert list(orders_to_vet()) == [order]
    order_cancel(key=OrderKey("EHR|HOSP", "PL8"), actor=TEST_ACTOR)
    assert list(orders_to_vet()) == []
    with pytest.raises(IllegalTransition, match="cannot be vetted"):
        order_vet_accept(order=order, actor=TEST_ACTOR)
