"""The images an archive holds, from its Instance Availability Notifications (IHE RAD-49).

An IAN names a study and the instances the archive has of it (PS3.4 R.2).
It is matched to a requested procedure by its Study Instance UID, checked
against the procedure its Referenced Performed Procedure Steps (MPPS) name,
and its instances are recorded per procedure and step. When the images are
ONLINE or NEARLINE, the procedure's steps that no MPPS is performing
complete (RIS_IAN_COMPLETES_STEPS), through the state machine: a step
completes when its images reach the archive even if the modality sends no
MPPS. An IAN that names a study the RIS does not know, or a study UID other
than the one its MPPS's procedure carries (the archive coerced it), is kept
and put in the reconciliation queue; the archive is not at fault, so the
door answers it with success.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import IntegrityError, transaction

from ris.exceptions import DuplicatePerformedStep
from ris.models import (
    AuditEvent,
    AvailableInstance,
    InstanceNotification,
    PerformedProcedureStep,
    RequestedProcedure,
    ScheduledProcedureStep,
)
from ris.records import Actor, AvailabilityData, InstanceData
from ris.services.audit import audit_record
from ris.services.discrepancies import Kind, discrepancy_open
from ris.services.steps import order_follow_steps, step_walk
from ris.states import PerformedStepStatus, StepStatus

log = logging.getLogger(__name__)
Match = InstanceNotification.Match
# PS3.3 C.4.23.1.1: instances an archive can deliver now or after staging
RETRIEVABLE = frozenset({AvailableInstance.Availability.ONLINE, AvailableInstance.Availability.NEARLINE})


class DuplicateNotification(DuplicatePerformedStep):
    """An IAN with this SOP Instance UID was received before (PS3.7 0x0111)."""


@transaction.atomic
def instances_available(*, data: AvailabilityData, actor: Actor) -> InstanceNotification:
    """Record an IAN; complete the steps its images finish, or queue it for reconciliation."""
    procedure = RequestedProcedure.objects.filter(study_instance_uid=data.study_instance_uid).first()
    performed = list(PerformedProcedureStep.objects.filter(sop_instance_uid__in=data.performed_step_uids))
    named = _procedures_of(performed)
    match = _match(procedure, named)
    matched = procedure if match == Match.MATCHED else None
    row = _create(data, matched, match)
    step = None
    if matched is not None:
        step = _complete_steps(matched, actor) if _retrievable(data.instances) else matched.steps.order_by("pk").first()
        step = _performed_step_of(matched, performed) or step  # the step its MPPS performed, when it names one
    _record(row, data.instances, matched, step)
    if matched is None:
        _queue(row, named, actor)
    _audit(row, actor)
    return row


def _create(data: AvailabilityData, procedure: RequestedProcedure | None, match: str) -> InstanceNotification:
    try:
        with transaction.atomic():
            return InstanceNotification.objects.create(
                sop_instance_uid=data.sop_instance_uid,
                study_instance_uid=data.study_instance_uid,
                performed_step_uids=list(data.performed_step_uids),
                procedure=procedure,
                match=match,
                sender=data.sender[:16],
                dataset=data.dataset,
            )
    except IntegrityError as exc:
        raise DuplicateNotification("an IAN with this SOP Instance UID was received before") from exc


def _procedures_of(performed: list[PerformedProcedureStep]) -> list[RequestedProcedure]:
    steps = ScheduledProcedureStep.objects.filter(performed_steps__in=performed).select_related("requested_procedure")
    return list({step.requested_procedure for step in steps})


def _performed_step_of(
    procedure: RequestedProcedure, performed: list[PerformedProcedureStep]
) -> ScheduledProcedureStep | None:
    return procedure.steps.filter(performed_steps__in=performed).order_by("pk").first()


def _match(procedure: RequestedProcedure | None, named: list[RequestedProcedure]) -> str:
    """MATCHED by Study Instance UID; COERCED when its MPPS names another procedure."""
    if named and (procedure is None or procedure not in named):
        return Match.COERCED_UID
    return Match.MATCHED if procedure is not None else Match.UNKNOWN_STUDY


def _retrievable(instances: tuple[InstanceData, ...]) -> bool:
    return any(instance.availability in RETRIEVABLE for instance in instances)


def instances_attach(
    *, notification: InstanceNotification, procedure: RequestedProcedure | None, step: ScheduledProcedureStep | None
) -> None:
    """The notification and its instances, put under another procedure and step (reconciliation)."""
    notification.procedure = procedure
    notification.save(update_fields=["procedure"])
    AvailableInstance.objects.filter(notification=notification).update(procedure=procedure, step=step)


def _record(
    row: InstanceNotification,
    instances: tuple[InstanceData, ...],
    procedure: RequestedProcedure | None,
    step: ScheduledProcedureStep | None,
) -> None:
    """Each instance under its procedure and step; a later notification of the
    same instance updates its availability."""
    for item in instances:
        AvailableInstance.objects.update_or_create(
            sop_instance_uid=item.sop_instance_uid,
            defaults={
                "notification": row,
                "procedure": procedure,
                "step": step,
                "study_instance_uid": row.study_instance_uid,
                "series_instance_uid": item.series_instance_uid,
                "sop_class_uid": item.sop_class_uid,
                "availability": item.availability,
                "retrieve_ae_title": item.retrieve_ae_title,
            },
        )


def steps_to_complete(procedure: RequestedProcedure) -> list[ScheduledProcedureStep]:
    """The procedure's steps its images may complete: not ended, and not being
    performed under an MPPS still IN PROGRESS (that MPPS will tell)."""
    steps = procedure.steps.select_for_update(of=("self",)).exclude(status__in=StepStatus.ENDED).order_by("pk")
    return [step for step in steps if not step.performed_steps.filter(status=PerformedStepStatus.IN_PROGRESS).exists()]


def _complete_steps(procedure: RequestedProcedure, actor: Actor) -> ScheduledProcedureStep | None:
    """Complete the steps the images finish; the first step the images belong to."""
    first = procedure.steps.order_by("pk").first()
    if not settings.RIS_IAN_COMPLETES_STEPS:
        return first
    steps = steps_to_complete(procedure)
    for step in steps:
        step_walk(
            step,
            [StepStatus.COMPLETED]
            if step.status in StepStatus.PERFORMING
            else [StepStatus.STARTED, StepStatus.COMPLETED],
        )
        audit_record(
            actor=actor,
            action=AuditEvent.Action.CHANGE,
            patient=procedure.order.patient,
            obj=step,
            detail=f"completed: its images are at the archive ({actor.name})",
        )
    if steps:
        order_follow_steps(order_id=procedure.order_id)
        log.info("SPS %s completed by an IAN", ", ".join(step.sps_id for step in steps))
    return steps[0] if steps else first


def _queue(row: InstanceNotification, named: list[RequestedProcedure], actor: Actor) -> None:
    patient = named[0].order.patient if named else None
    if row.match == Match.COERCED_UID:
        expected = ", ".join(p.study_instance_uid for p in named)
        summary = f"images from {row.sender} under study {row.study_instance_uid}; their MPPS names study {expected}"
        discrepancy_open(kind=Kind.COERCED_UID, summary=summary, actor=actor, notification=row, patient=patient)
    else:
        summary = f"images from {row.sender} of study {row.study_instance_uid}, which no order names"
        discrepancy_open(kind=Kind.UNKNOWN_STUDY, summary=summary, actor=actor, notification=row)
    log.warning("IAN %s from %s queued for reconciliation: %s", row.sop_instance_uid, row.sender, row.match)


def _audit(row: InstanceNotification, actor: Actor) -> None:
    patient = row.procedure.order.patient if row.procedure else None
    detail = f"IAN of study {row.study_instance_uid}: {row.instances.count()} instance(s), {row.get_match_display()}"
    audit_record(actor=actor, action=AuditEvent.Action.CREATE, patient=patient, obj=row, detail=detail)
