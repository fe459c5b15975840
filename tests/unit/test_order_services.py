"""The order and patient services behind the order-control codes and ADT."""

import pytest

from ris.exceptions import IllegalTransition, InvalidInput, UnknownOrder
from ris.models import ImagingOrder, Patient
from ris.records import CLEAR, OrderData, OrderKey, PatientData, ProcedureData, StepData
from ris.services.orders import order_cancel, order_change, order_find, order_place, order_status_change
from ris.services.patients import patient_merge, patient_upsert
from tests.factories import TEST_ACTOR

pytestmark = pytest.mark.django_db
KEY = OrderKey(placer_system="EHR|HOSP", placer_number="PL1")


def _place(patient_id: str = "P1") -> ImagingOrder:
    step = StepData(sps_id="SPS1", modality="CT")
    procedure = ProcedureData(requested_procedure_id="RP1", study_instance_uid="1.2.3", steps=[step])
    order = OrderData(placer_system=KEY.placer_system, placer_number=KEY.placer_number, procedures=[procedure])
    return order_place(actor=TEST_ACTOR, patient=PatientData(patient_id=patient_id, name="A^B"), order=order)


def test_change_never_touches_identifiers_even_when_others_are_sent():
    row = _place()
    step = StepData(sps_id="SPS1", modality="MR", station_ae_title="MR01")
    procedure = ProcedureData(requested_procedure_id="RP1", study_instance_uid="9.9.9", steps=[step])
    order_change(actor=TEST_ACTOR, key=KEY, order=OrderData(accession_number="OTHER", procedures=[procedure]))
    row.refresh_from_db()
    [procedure_row] = row.procedures.all()
    [step_row] = procedure_row.steps.all()
    assert (procedure_row.study_instance_uid, step_row.sps_id, row.accession_number) == (
        "1.2.3",
        "SPS1",
        f"A{row.pk:07d}",
    )
    assert (step_row.modality, step_row.station_ae_title) == ("MR", "MR01")


def test_change_refuses_to_erase_the_modality():
    _place()
    step = StepData(sps_id="SPS1", modality=CLEAR)
    with pytest.raises(InvalidInput):
        order_change(actor=TEST_ACTOR, key=KEY, order=OrderData(procedures=[ProcedureData(steps=[step])]))


def test_order_is_found_by_filler_number_when_the_placer_number_is_unknown():
    row = _place()
    assert order_find(key=OrderKey(placer_system="X", placer_number="NOPE", filler_number=row.filler_number)) == row
    with pytest.raises(UnknownOrder):
        order_find(key=OrderKey(placer_system="X", placer_number="NOPE"))


def test_status_change_to_the_same_status_changes_nothing_and_cancel_twice_is_illegal():
    row = _place()
    assert order_status_change(actor=TEST_ACTOR, key=KEY, status="SCHEDULED").status == "SCHEDULED"
    order_cancel(actor=TEST_ACTOR, key=KEY)
    with pytest.raises(IllegalTransition):
        order_cancel(actor=TEST_ACTOR, key=KEY)
    row.refresh_from_db()
    assert row.status == "CANCELED"


def test_merge_moves_orders_and_earlier_merges_follow_the_new_survivor():
    row = _place("OLD")
    patient_merge(actor=TEST_ACTOR, surviving=PatientData(patient_id="MID"), prior_patient_id="OLD", prior_issuer="")
    patient_merge(actor=TEST_ACTOR, surviving=PatientData(patient_id="NEW"), prior_patient_id="MID", prior_issuer="")
    new = Patient.objects.get(patient_id="NEW")
    assert Patient.objects.get(patient_id="OLD").merged_into == new
    assert ImagingOrder.objects.get(pk=row.pk).patient == new
    assert patient_upsert(data=PatientData(patient_id="OLD", name="STALE^NAME")) == new
    assert Patient.objects.get(patient_id="NEW").name == ""  # the old identifier's name is not applied
