"""Orders: placing one, with its requested procedures and scheduled steps."""
from django.db import IntegrityError, transaction
from django.utils import timezone

from ris.exceptions import DuplicateOrder
from ris.models import ImagingOrder, InboundMessage, RequestedProcedure, ScheduledProcedureStep
from ris.records import OrderData, PatientData, ProcedureData, StepData
from ris.services.patients import patient_upsert
from ris.services.stations import station_for_modality
from ris.uids import new_uid


@transaction.atomic
def order_place(
    *, patient: PatientData, order: OrderData, source_message: InboundMessage | None = None
) -> ImagingOrder:
    """Create an order with its procedures and steps (HL7 ORC-1 NW, manual entry)."""
    _refuse_duplicate(order)
    patient_row = patient_upsert(data=patient)
    row = _create_order(patient_row, order, source_message)
    for procedure in order.procedures or [ProcedureData()]:
        _create_procedure(row, procedure)
    return row


def _refuse_duplicate(order: OrderData) -> None:
    if order.placer_number and ImagingOrder.objects.filter(
        placer_system=order.placer_system, placer_number=order.placer_number
    ).exists():
        raise DuplicateOrder(f"placer order number {order.placer_number} already exists")
    if order.accession_number and ImagingOrder.objects.filter(accession_number=order.accession_number).exists():
        raise DuplicateOrder(f"accession number {order.accession_number} already exists")


def _create_order(patient, order: OrderData, source_message) -> ImagingOrder:
    fields = dict(
        patient=patient,
        placer_system=order.placer_system,
        placer_number=order.placer_number,
        filler_number=order.filler_number,
        accession_number=order.accession_number or None,
        ordering_physician=order.ordering_physician,
        referring_physician=order.referring_physician,
        reason=order.reason,
        priority=order.priority,
        admission_id=order.admission_id,
        source_message=source_message,
    )
    try:
        with transaction.atomic():
            row = ImagingOrder.objects.create(**fields)
    except IntegrityError as exc:  # a concurrent NW with the same numbers won
        raise DuplicateOrder(str(exc)) from exc
    if not row.accession_number:
        row.accession_number = f"A{row.pk:07d}"
        row.save(update_fields=["accession_number"])
    if not row.filler_number:
        row.filler_number = row.accession_number
        row.save(update_fields=["filler_number"])
    return row


def _create_procedure(order: ImagingOrder, data: ProcedureData) -> RequestedProcedure:
    procedure = RequestedProcedure.objects.create(
        order=order,
        requested_procedure_id=data.requested_procedure_id or "",
        code_value=data.code_value,
        code_scheme=data.code_scheme,
        code_meaning=data.code_meaning,
        description=data.description or data.code_meaning,
        study_instance_uid=data.study_instance_uid or new_uid(),
    )
    if not procedure.requested_procedure_id:
        procedure.requested_procedure_id = f"RP{procedure.pk}"
        procedure.save(update_fields=["requested_procedure_id"])
    for step in data.steps or [StepData()]:
        _create_step(procedure, step)
    return procedure


def _create_step(procedure: RequestedProcedure, data: StepData) -> ScheduledProcedureStep:
    station = station_for_modality(data.modality) if not data.station_ae_title else None
    step = ScheduledProcedureStep.objects.create(
        requested_procedure=procedure,
        sps_id=data.sps_id,
        modality=data.modality,
        station_ae_title=data.station_ae_title or (station.ae_title if station else ""),
        station_name=data.station_name or (station.station_name if station else ""),
        location=data.location or (station.location if station else ""),
        start=data.start or timezone.now(),
        expected_duration_minutes=data.expected_duration_minutes,
        performing_physician=data.performing_physician,
        description=data.description or procedure.description,
        protocol_code_value=data.protocol_code_value,
        protocol_code_scheme=data.protocol_code_scheme,
        protocol_code_meaning=data.protocol_code_meaning,
    )
    if not step.sps_id:
        step.sps_id = f"SPS{step.pk}"
        step.save(update_fields=["sps_id"])
    return step
