"""Patients: found or created by identifier, updated, merged (HL7 ADT),
registered and edited by people (the pages), merged by people as by A40.

Identity rules: an HL7 sender owns the demographics it sends (the patient
records it as `demographics_source`). People never change them by entering
an order: manual entry picks an existing patient as it is, or registers a new
one, which refuses an identifier already taken (`patient_register`). Only
`patient_edit`, with a reason when an EHR owns the patient, changes them.
"""

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from ris.exceptions import DuplicatePatient, InvalidInput, MergedPatient, UnknownPatient
from ris.models import Appointment, AuditEvent, ImagingOrder, Patient, PatientMerge
from ris.records import CLEAR, Actor, PatientData
from ris.services.audit import audit_record
from ris.services.discrepancies import Kind, discrepancy_open
from ris.services.outbox import outbox_enqueue
from ris.services.procedures import procedure_notify_patient

_UPDATABLE = ("name", "name_ideographic", "name_phonetic", "birth_date", "sex")


def demographics_source(actor: Actor) -> str:
    """Who owns the demographics a door sends: an HL7 sending application does."""
    return actor.name if actor.door == AuditEvent.Door.HL7 else ""


def patient_upsert(*, data: PatientData, source: str = "") -> Patient:
    """Find the patient by identifier and issuer, create or update it.

    Safe under concurrency: two senders creating the same new patient at
    once end with one row (the unique constraint decides, the loser re-reads).
    `source` names the HL7 sender that owns what it sends; data from any
    other door (REST, an MPPS) does not change an EHR-owned patient.

    A merged identifier is no longer a patient's key: a sender naming it is
    refused (`MergedPatient`, HL7 AE 204), since its patient index is out of
    step with the merge. For other doors (a modality's MPPS from an old
    worklist, the REST API) it stands for the survivor, whose demographics
    are kept.
    """
    if not data.patient_id:
        raise InvalidInput("patient identifier is required", field="patient_id")
    values = _new_values(data)
    patient = _get_or_create(data.patient_id, data.issuer, {**values, "demographics_source": source[:180]})
    if patient.merged_into_id:
        if source:
            raise merged_refusal(patient)
        return _survivor(patient)
    if patient.ehr_owned and not source:
        return patient  # an EHR owns the demographics: other doors do not change them (patient_edit does)
    changed = _apply_changes(patient, data)
    if source and values and patient.demographics_source != source[:180]:
        patient.demographics_source = source[:180]
        changed.append("demographics_source")
    if changed:
        patient.save(update_fields=[*changed, "updated_at"])
    if set(changed) & set(_UPDATABLE):
        procedure_notify_patient(patient=patient)  # the PACS's copy of the patient follows
    return patient


@transaction.atomic
def patient_register(*, data: PatientData, actor: Actor) -> Patient:
    """A new patient registered by a person (manual order entry): refused when
    the identifier and issuer are taken, so an existing patient is never renamed."""
    if not data.patient_id:
        raise InvalidInput("patient identifier is required", field="patient_id")
    key = {"patient_id": data.patient_id, "issuer": data.issuer}
    try:
        with transaction.atomic():  # a savepoint: the unique constraint decides a race
            patient = Patient.objects.create(**key, **_new_values(data))
    except IntegrityError:
        patient = Patient.objects.get(**key)
        shown = f"{data.patient_id} ({data.issuer})" if data.issuer else data.patient_id
        raise DuplicatePatient(f"a patient with ID {shown} already exists", patient=patient) from None
    audit_record(actor=actor, action=AuditEvent.Action.CREATE, patient=patient, obj=patient, detail="registered")
    return patient


@transaction.atomic
def patient_edit(*, patient: Patient, data: PatientData, reason: str, actor: Actor) -> Patient:
    """A person corrects the demographics. An EHR-owned patient needs a reason
    (its next ADT may overwrite the edit); the audit event names the fields."""
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    if patient.merged_into_id:
        raise InvalidInput("a merged patient is not edited; edit the patient it was merged into")
    if patient.ehr_owned and not reason.strip():
        raise InvalidInput(f"{patient.demographics_source} owns this patient: say why you change it", field="reason")
    changed = _apply_changes(patient, data)
    if changed:
        patient.save(update_fields=[*changed, "updated_at"])
        procedure_notify_patient(patient=patient)
    detail = f"edited {', '.join(changed) or 'nothing'}" + (f": {reason.strip()}" if reason.strip() else "")
    audit_record(actor=actor, action=AuditEvent.Action.CHANGE, patient=patient, obj=patient, detail=detail[:255])
    return patient


@transaction.atomic
def patient_merge_records(*, surviving: Patient, merged: Patient, actor: Actor) -> Patient:
    """A person merges two patients: the same merge as HL7 ADT A40, so the
    merged patient's orders, worklist items and reports follow the survivor."""
    if surviving.pk == merged.pk:
        raise InvalidInput("choose two different patients to merge", field="merged")
    if surviving.merged_into_id or merged.merged_into_id:
        raise InvalidInput("a patient already merged into another cannot be merged again", field="merged")
    return patient_merge(
        surviving=PatientData(patient_id=surviving.patient_id, issuer=surviving.issuer),
        prior_patient_id=merged.patient_id,
        prior_issuer=merged.issuer,
        actor=actor,
    )


def merged_refusal(patient: Patient, field: str = "patient_id") -> MergedPatient:
    """The reason names no identifier: it is logged, and logs carry no patient data."""
    return MergedPatient(
        "the identifier names a patient merged into another: send the surviving patient's identifier", field=field
    )


def _shown(patient: Patient) -> str:
    return f"{patient.patient_id} ({patient.issuer})" if patient.issuer else patient.patient_id


@transaction.atomic
def patient_update(*, data: PatientData, actor: Actor) -> Patient:
    """HL7 ADT A01/A04/A05/A08/A28/A31...: the patient as the sender now knows them."""
    patient = patient_upsert(data=data, source=demographics_source(actor))
    audit_record(actor=actor, action=AuditEvent.Action.CHANGE, patient=patient, obj=patient)
    return patient


@transaction.atomic
def patient_merge(*, surviving: PatientData, prior_patient_id: str, prior_issuer: str, actor: Actor) -> Patient:
    """HL7 ADT A40: the prior patient's orders move to the survivor, and the
    prior record points to it (`merged_into`). An unknown prior identifier is
    recorded as merged, so that later messages naming it reach the survivor."""
    if not prior_patient_id:
        raise InvalidInput("prior patient identifier is required", field="prior_patient_id")
    survivor = patient_upsert(data=surviving, source=demographics_source(actor))
    prior = _get_or_create(prior_patient_id, prior_issuer)
    if prior.pk == survivor.pk:
        raise InvalidInput("MRG-1 names the surviving patient itself", field="prior_patient_id")
    if prior.merged_into_id == survivor.pk:
        return survivor  # merged already (the same merge sent again): nothing moves, nothing to undo twice
    record = PatientMerge.objects.create(
        survivor=survivor,
        merged=prior,
        order_ids=list(ImagingOrder.objects.filter(patient=prior).order_by("pk").values_list("pk", flat=True)),
        earlier_merged_ids=list(Patient.objects.filter(merged_into=prior).order_by("pk").values_list("pk", flat=True)),
        actor=actor.label[:150],
    )
    ImagingOrder.objects.filter(pk__in=record.order_ids).update(patient=survivor)
    Appointment.objects.filter(step__requested_procedure__order__in=record.order_ids).update(patient=survivor)
    Patient.objects.filter(pk__in=record.earlier_merged_ids).update(merged_into=survivor)  # earlier merges follow
    prior.merged_into = survivor
    prior.save(update_fields=["merged_into", "updated_at"])
    procedure_notify_patient(patient=survivor, reason=f"merged {prior.patient_id}")
    detail = f"merged {prior.patient_id} into {survivor.patient_id}"
    audit_record(actor=actor, action=AuditEvent.Action.CHANGE, patient=survivor, obj=survivor, detail=detail)
    audit_record(actor=actor, action=AuditEvent.Action.CHANGE, patient=prior, obj=prior, detail=detail)
    outbox_enqueue(event=PATIENT_EVENT, context={"change": "merge", "merge_id": record.pk})
    discrepancy_open(kind=Kind.MERGE_REVIEW, summary=detail, actor=actor, patient=survivor)
    return survivor


# The outbox event of every change of patient identity (merge, un-merge,
# identifier change); destinations receive it only when they list it.
PATIENT_EVENT = "patient"


@transaction.atomic
def patient_unmerge(*, merge: PatientMerge, reason: str, actor: Actor) -> Patient:
    """Undo a merge: the merged record is a patient of its own again, with the
    orders (and earlier merged records) the merge moved, unless they have
    moved on since. Only the latest merge of a record is undone, while its
    survivor has not been merged again itself."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("give a reason", field="reason")
    merge = PatientMerge.objects.select_for_update().get(pk=merge.pk)
    survivor, merged = (Patient.objects.select_for_update().get(pk=pk) for pk in (merge.survivor_id, merge.merged_id))
    if merge.is_undone:
        raise InvalidInput("this merge was already undone")
    if merged.merged_into_id != survivor.pk:
        raise InvalidInput("the record is no longer merged into this survivor: undo the later merge first")
    orders = ImagingOrder.objects.filter(pk__in=merge.order_ids, patient=survivor)
    Appointment.objects.filter(step__requested_procedure__order__in=orders).update(patient=merged)
    orders.update(patient=merged)
    Patient.objects.filter(pk__in=merge.earlier_merged_ids, merged_into=survivor).update(merged_into=merged)
    merged.merged_into = None
    merged.save(update_fields=["merged_into", "updated_at"])
    merge.undone_at, merge.undone_by, merge.undo_reason = timezone.now(), actor.label[:150], reason[:255]
    merge.save(update_fields=["undone_at", "undone_by", "undo_reason"])
    detail = f"un-merged {merged.patient_id} from {survivor.patient_id}: {reason}"[:255]
    for patient in (merged, survivor):
        audit_record(actor=actor, action=AuditEvent.Action.CHANGE, patient=patient, obj=patient, detail=detail)
    outbox_enqueue(event=PATIENT_EVENT, context={"change": "unmerge", "merge_id": merge.pk})
    return merged


@transaction.atomic
def patient_change_identifier(*, data: PatientData, prior_patient_id: str, prior_issuer: str, actor: Actor) -> Patient:
    """HL7 ADT A47 (2.5.1 3.3.47): the patient known by the prior identifier
    (MRG-1) is known by the new one (PID-3) from now on; its orders and
    worklist entries follow, being its own. The new identifier may not be
    another patient's (that is a merge, A40); an unknown or merged prior
    identifier is refused."""
    if not prior_patient_id:
        raise InvalidInput("prior patient identifier is required", field="prior_patient_id")
    patient = Patient.objects.select_for_update().filter(patient_id=prior_patient_id, issuer=prior_issuer).first()
    if patient is None:
        raise UnknownPatient("no patient has the prior identifier", field="prior_patient_id")
    if patient.merged_into_id:
        raise merged_refusal(patient, field="prior_patient_id")
    if (data.patient_id, data.issuer) != (patient.patient_id, patient.issuer):
        _check_identifier_free(data)
    before = _shown(patient)
    patient.patient_id, patient.issuer = data.patient_id, data.issuer
    changed = ["patient_id", "issuer", *_apply_changes(patient, data)]
    source = demographics_source(actor)
    if source:
        patient.demographics_source = source[:180]
        changed.append("demographics_source")
    patient.save(update_fields=[*changed, "updated_at"])
    detail = f"identifier changed from {before} to {_shown(patient)}"
    audit_record(actor=actor, action=AuditEvent.Action.CHANGE, patient=patient, obj=patient, detail=detail)
    context = {"change": "identifier", "patient_id": patient.pk, "prior_patient_id": prior_patient_id}
    outbox_enqueue(event=PATIENT_EVENT, context={**context, "prior_issuer": prior_issuer})
    return patient


def _check_identifier_free(data: PatientData) -> None:
    if not data.patient_id:
        raise InvalidInput("patient identifier is required", field="patient_id")
    other = Patient.objects.filter(patient_id=data.patient_id, issuer=data.issuer).first()
    if other is not None:
        raise DuplicatePatient(
            "the new identifier is another patient's: merge the two (ADT A40) instead", patient=other
        )


def patient_survivor(patient: Patient) -> Patient:
    """The patient itself, or the one it was merged into, locked."""
    return _survivor(Patient.objects.select_for_update().get(pk=patient.pk))


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
    Patient.objects.bulk_create([Patient(**key, **(values or {})).with_search_name()], ignore_conflicts=True)
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
