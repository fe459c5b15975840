"""Undoing a merge from the patient page: capability-gated, needs a reason
and a confirmation, restores both records with their own orders, is audited
with its actor and reason, and is queued for destinations that take patient
events (and only for them)."""

import pytest
from django.urls import reverse

from ris.exceptions import InvalidInput
from ris.models import AuditEvent, Destination, OutboundMessage, Patient, PatientMerge
from ris.records import PatientData
from ris.services.patients import patient_merge, patient_merge_records, patient_unmerge
from tests import factories as f
from tests.factories import TEST_ACTOR

pytestmark = pytest.mark.django_db


@pytest.fixture
def merged_pair():
    """P1 (one order) survives; P2 (one order) merged into it."""
    survivor = f.step(patient_id="P1", name="DOE^JANE").requested_procedure.order.patient
    merged = f.step(patient_id="P2", name="DOE^JAYNE").requested_procedure.order.patient
    patient_merge_records(surviving=survivor, merged=merged, actor=TEST_ACTOR)
    return survivor, merged, PatientMerge.objects.get()


def _undo(client, merge, **data):
    return client.post(reverse("patient_unmerge", args=[merge.survivor_id, merge.pk]), data)


def test_the_survivors_page_offers_to_undo_the_merge_to_those_who_enter_orders(client, merged_pair):
    survivor, _merged, merge = merged_pair
    client.force_login(f.user_with_role("scheduler"))
    page = client.get(reverse("patient", args=[survivor.pk])).content.decode()
    assert reverse("patient_unmerge", args=[survivor.pk, merge.pk]) in page
    client.force_login(f.user_with_role("technologist"))
    assert client.get(reverse("patient_unmerge", args=[survivor.pk, merge.pk])).status_code == 403
    assert _undo(client, merge, reason="two people", confirm="on").status_code == 403
    assert Patient.objects.get(patient_id="P2").merged_into == survivor


def test_undoing_needs_a_reason_and_a_confirmation(client, merged_pair):
    survivor, _merged, merge = merged_pair
    client.force_login(f.user_with_role("scheduler"))
    assert _undo(client, merge, reason="", confirm="on").status_code == 200
    assert _undo(client, merge, reason="two people").status_code == 200
    assert Patient.objects.get(patient_id="P2").merged_into == survivor


def test_undoing_restores_both_records_with_their_orders_and_is_audited(client, merged_pair):
    survivor, merged, merge = merged_pair
    assert (survivor.orders.count(), merged.orders.count()) == (2, 0)
    client.force_login(f.user_with_role("scheduler", "sam"))
    response = _undo(client, merge, reason="two people, one name", confirm="on")
    assert response.status_code == 302 and response.url == reverse("patient", args=[merged.pk])
    merged.refresh_from_db()
    assert merged.merged_into is None
    assert (survivor.orders.count(), merged.orders.count()) == (1, 1)
    merge.refresh_from_db()
    assert (merge.undone_by, merge.undo_reason) == ("sam", "two people, one name")
    for patient in (survivor, merged):
        event = AuditEvent.objects.get(patient=patient, detail__startswith="un-merged P2 from P1")
        assert event.actor == "sam" and "two people, one name" in event.detail


def test_a_merge_is_undone_once_and_only_while_it_stands(merged_pair):
    survivor, _merged, merge = merged_pair
    other = f.step(patient_id="P3").requested_procedure.order.patient
    patient_merge_records(surviving=other, merged=survivor, actor=TEST_ACTOR)  # P1 (with P2) into P3
    with pytest.raises(InvalidInput, match="undo the later merge first"):
        patient_unmerge(merge=merge, reason="r", actor=TEST_ACTOR)
    later = PatientMerge.objects.get(survivor=other)
    patient_unmerge(merge=later, reason="r", actor=TEST_ACTOR)
    patient_unmerge(merge=merge, reason="r", actor=TEST_ACTOR)
    with pytest.raises(InvalidInput, match="already undone"):
        patient_unmerge(merge=merge, reason="r", actor=TEST_ACTOR)
    assert set(Patient.objects.filter(merged_into__isnull=True).values_list("patient_id", flat=True)) == {
        "P1",
        "P2",
        "P3",
    }


def test_merges_and_unmerges_are_queued_only_for_destinations_listing_patient_events():
    listing = Destination.objects.create(name="PACS", kind=Destination.Kind.HL7_MLLP, events=["patient"])
    everything = Destination.objects.create(name="EHR", kind=Destination.Kind.HL7_MLLP, events=[])
    survivor = f.step(patient_id="P1").requested_procedure.order.patient
    merged = f.step(patient_id="P2").requested_procedure.order.patient
    patient_merge_records(surviving=survivor, merged=merged, actor=TEST_ACTOR)
    patient_unmerge(merge=PatientMerge.objects.get(), reason="r", actor=TEST_ACTOR)
    queued = OutboundMessage.objects.filter(event="patient")
    assert [(m.destination, m.context["change"]) for m in queued.order_by("pk")] == [
        (listing, "merge"),
        (listing, "unmerge"),
    ]
    assert not queued.filter(destination=everything).exists()


def test_the_same_merge_sent_again_changes_nothing_and_leaves_one_merge_to_undo(merged_pair):
    survivor, merged, _merge = merged_pair
    patient_merge(surviving=PatientData(patient_id="P1"), prior_patient_id="P2", prior_issuer="", actor=TEST_ACTOR)
    assert PatientMerge.objects.count() == 1
    patient_unmerge(merge=PatientMerge.objects.get(), reason="r", actor=TEST_ACTOR)
    assert (survivor.orders.count(), merged.orders.count()) == (1, 1)
