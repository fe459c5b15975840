"""Patients: found or created by identifier, updated, merged (HL7 ADT)."""

from typing import Any

from django.db import transaction

from ris.exceptions import InvalidInput
from ris.models import AuditEvent, ImagingOrder, Patient
from ris.records import CLEAR, Actor, PatientData
from ris.services.audit import audit_record

_UPDATABLE = ("name", "name_ideographic", "name_phonetic", "birth_date", "sex")


def patient_upsert(*, data: PatientData) -> Patient:
    """Find the patient by identifier and issuer, create or update it.

    Safe under concurrency: two senders creating the same new patient at
    once end with one row (the unique constraint decides, the loser re-reads).
    A merged patient stands for the one it was merged into: new data and
    orders go there, the old identifier's demographics are not applied.
    """
    if not data.patient_id:
        raise InvalidInput("patient identifier is required", field="patient_id")
    patient = _get_or_create(data.patient_id, data.issuer, _new_values(data))
    if patient.merged_into_id:
        return _survivor(patient)
    changed = _apply_changes(patient, data)
    if changed:
        patient.save(update_fields=[*changed, "updated_at"])
    return patient


@transaction.atomic
def patient_update(*, data: PatientData, actor: Actor) -> Patient:
    """HL7 ADT A01/A04/A08: the patient as the sender now knows them."""
    patient = patient_upsert(data=data)
    audit_record(actor=actor, action=AuditEvent.Action.CHANGE, patient=patient, obj=patient)
    return patient


@transaction.atomic
def patient_merge(*, surviving: PatientData, prior_patient_id: str, prior_issuer: str, actor: Actor) -> Patient:
    """HL7 ADT A40: the prior patient's orders move to the survivor, and the
    prior record points to it (`merged_into`). An unknown prior identifier is
    recorded as merged, so that later messages naming it reach the survivor."""
    if not prior_patient_id:
        raise InvalidInput("prior patient identifier is required", field="prior_patient_id")
    survivor = patient_upsert(data=surviving)
    prior = _get_or_create(prior_patient_id, prior_issuer)
    if prior.pk == survivor.pk:
        raise InvalidInput("MRG-1 names the surviving patient itself", field="prior_patient_id")
    ImagingOrder.objects.filter(patient=prior).update(patient=survivor)
    Patient.objects.filter(merged_into=prior).update(merged_into=survivor)  # earlier merges follow
    prior.merged_into = survivor
    prior.save(update_fields=["merged_into", "updated_at"])
    detail = f"merged {prior.patient_id} into {survivor.patient_id}"
    audit_record(actor=actor, action=AuditEvent.Action.CHANGE, patient=survivor, obj=survivor, detail=detail)
    return survivor


def _survivor(patient: Patient) -> Patient:
    seen = {patient.pk}
    while patient.merged_into_id and patient.merged_into_id not in seen:
        seen.add(patient.merged_into_id)
        patient = Patient.objects.select_for_update().get(pk=patient.merged_into_id)
    return patient


def _get_or_create(patient_id: str, issuer: str, values: dict[str, Any] | None = None) -> Patient:
    """Locked for the rest of the transaction. A new patient is inserted with
    ON CONFLICT DO NOTHING: a concurrent insert of the same one waits for the
    other transaction, then both read the one row."""
    key = {"patient_id": patient_id, "issuer": issuer}
    patient = Patient.objects.select_for_update().filter(**key).first()
    if patient is not None:
        return patient
    Patient.objects.bulk_create([Patient(**key, **(values or {}))], ignore_conflicts=True)
    return Patient.objects.select_for_update().get(**key)


def _new_values(data: PatientData) -> dict[str, Any]:
    """What a new patient row starts with (CLEAR and None read as empty)."""
    values = {}
    for name in _UPDATABLE:
        value = getattr(data, name)
        if value is not None and value != CLEAR:
            values[name] = value
    return values


def _apply_changes(patient: Patient, data: PatientData) -> list[str]:
    changed = []
    for name in _UPDATABLE:
        value = getattr(data, name)
        if value is None:
            continue
        if value == CLEAR:
            value = None if name == "birth_date" else ""
        if getattr(patient, name) != value:
            setattr(patient, name, value)
            changed.append(name)
    return changed
