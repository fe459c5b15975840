from django.db import IntegrityError, transaction

from ris.exceptions import InvalidInput
from ris.models import Patient
from ris.records import CLEAR, PatientData

_UPDATABLE = ("name", "name_ideographic", "name_phonetic", "birth_date", "sex")


def patient_upsert(*, data: PatientData) -> Patient:
    """Find the patient by identifier and issuer, create or update it.

    Safe under concurrency: two senders creating the same new patient at
    once end with one row (the unique constraint decides, the loser re-reads).
    """
    if not data.patient_id:
        raise InvalidInput("patient identifier is required", field="patient_id")
    patient = _get_or_create(data)
    changed = _apply_changes(patient, data)
    if changed:
        patient.save(update_fields=[*changed, "updated_at"])
    return patient


def _get_or_create(data: PatientData) -> Patient:
    key = {"patient_id": data.patient_id, "issuer": data.issuer}
    patient = Patient.objects.select_for_update().filter(**key).first()
    if patient is not None:
        return patient
    try:
        with transaction.atomic():
            return Patient.objects.create(**key)
    except IntegrityError:
        return Patient.objects.select_for_update().get(**key)


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
