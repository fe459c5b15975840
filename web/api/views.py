"""API viewsets: decode with a serializer, call one service, encode the result."""

from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.db.models import Model
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from hl7.models import InboundMessage
from ris import selectors
from ris.actors import request_actor
from ris.exceptions import InvalidInput
from ris.models import Appointment, AuditEvent, ImagingOrder, Patient, Procedure, ProtocolCode, Room
from ris.records import Actor, OrderData, PatientData
from ris.selectors.scheduling import next_free_slot
from ris.services.appointments import appointment_book, appointment_move, appointment_resize, appointment_unbook
from ris.services.catalogue import order_data_for
from ris.services.configuration import config_delete, config_write
from ris.services.orders import order_place
from ris.services.steps import step_cancel, step_no_show, step_set_status, step_start_outside_modality
from ris.services.vetting import order_vet_accept, order_vet_reject, order_vet_return
from web.api import serializers as s
from web.api.audit import AuditedReads
from web.api.permissions import HasCapability


class RisViewSet(viewsets.GenericViewSet):
    permission_classes = [HasCapability]
    read_capability = "view_patients"
    write_capability = "manage_resources"

    @property
    def actor(self) -> Actor:
        return request_actor(self.request, AuditEvent.Door.API)


class PatientViewSet(AuditedReads, mixins.ListModelMixin, mixins.RetrieveModelMixin, RisViewSet):
    queryset = Patient.objects.order_by("pk")
    serializer_class = s.PatientSerializer
    filterset_fields = {"patient_id": ["exact"], "issuer": ["exact"], "name": ["icontains"], "birth_date": ["exact"]}
    patient_path = ""


class OrderViewSet(AuditedReads, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, RisViewSet):
    queryset = ImagingOrder.objects.select_related("patient").prefetch_related("procedures__steps__appointment")
    queryset = queryset.order_by("pk")
    serializer_class = s.OrderSerializer
    write_capability = "enter_orders"
    action_capabilities = {"vetting": "vet_orders"}
    filterset_fields = {
        "accession_number": ["exact"],
        "vetting_status": ["exact"],
        "status": ["exact"],
        "priority": ["exact"],
        "patient__patient_id": ["exact"],
        "referring_physician": ["icontains"],
    }

    patient_path = "patient"

    @extend_schema(request=s.OrderPlaceSerializer, responses={201: s.OrderSerializer, **s.error_answers(400, 409)})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = s.valid(s.OrderPlaceSerializer, request.data)
        order = order_place(patient=_patient_data(data), order=_order_data(data), actor=self.actor)
        return Response(s.OrderSerializer(order).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.VettingSerializer, responses={200: s.OrderSerializer, **s.error_answers(400, 404, 409)})
    @action(detail=True, methods=["post"])
    def vetting(self, request: Request, pk: str | None = None) -> Response:
        """Vet an order: accept (with a protocol per procedure), reject or return it with a reason."""
        data = s.valid(s.VettingSerializer, request.data)
        order = self.get_object()
        if data["decision"] == "accept":
            order_vet_accept(order=order, actor=self.actor, protocols=_protocols(order, data["protocols"]))
        elif data["decision"] == "reject":
            order_vet_reject(order=order, reason=data["reason"], actor=self.actor)
        else:
            order_vet_return(order=order, reason=data["reason"], actor=self.actor)
        return Response(s.OrderSerializer(self.get_queryset().get(pk=order.pk)).data)


def _protocols(order: ImagingOrder, chosen: dict[str, int]) -> dict[int, ProtocolCode | None]:
    protocols: dict[int, ProtocolCode | None] = {}
    for procedure_id, protocol_id in chosen.items():
        protocol = ProtocolCode.objects.select_related("procedure").filter(pk=protocol_id).first()
        if protocol is None or not order.procedures.filter(pk=int(procedure_id)).exists():
            raise InvalidInput(f"unknown procedure {procedure_id} or protocol {protocol_id}", field="protocols")
        protocols[int(procedure_id)] = protocol
    return protocols


def _patient_data(data: dict) -> PatientData:
    return PatientData(
        patient_id=data["patient_id"],
        issuer=data["issuer"],
        name=data["patient_name"],
        birth_date=data["birth_date"],
        sex=data["sex"] or None,
    )


def _order_data(data: dict) -> OrderData:
    return order_data_for(
        data["procedure"],
        placer_system="API",
        placer_number=data["placer_number"],
        accession_number=data["accession_number"],
        priority=data["priority"],
        referring_physician=data["referring_physician"],
        reason=data["reason"],
    )


class StepViewSet(AuditedReads, mixins.ListModelMixin, mixins.RetrieveModelMixin, RisViewSet):
    queryset = selectors.steps_with_context().order_by("start", "pk")
    serializer_class = s.StepSerializer
    action_capabilities = {
        "set_status": "change_step_status",
        "started_outside_modality": "change_step_status",
        "cancel": "book_appointments",
        "no_show": "book_appointments",
    }
    patient_path = "requested_procedure.order.patient"
    filterset_fields = {
        "status": ["exact"],
        "modality": ["exact"],
        "station_ae_title": ["exact"],
        "start": ["gte", "lt"],
        "requested_procedure__order__accession_number": ["exact"],
    }

    @extend_schema(request=s.StepStatusSerializer, responses={200: s.StepSerializer, **s.error_answers(400, 404, 409)})
    @action(detail=True, methods=["post"], url_path="status")
    def set_status(self, request: Request, pk: str | None = None) -> Response:
        """Change the step's status through the state machine (409 if not allowed)."""
        new_status = s.valid(s.StepStatusSerializer, request.data)["status"]
        step = step_set_status(step=self.get_object(), status=new_status, actor=self.actor)
        return Response(s.StepSerializer(selectors.steps_with_context().get(pk=step.pk)).data)

    def _with_reason(self, request: Request, change: Callable[..., Any]) -> Response:
        step = change(
            step=self.get_object(), reason=s.valid(s.ReasonSerializer, request.data)["reason"], actor=self.actor
        )
        return Response(s.StepSerializer(selectors.steps_with_context().get(pk=step.pk)).data)

    @extend_schema(request=s.ReasonSerializer, responses={200: s.StepSerializer, **s.error_answers(400, 404, 409)})
    @action(detail=True, methods=["post"], url_path="started-outside-modality")
    def started_outside_modality(self, request: Request, pk: str | None = None) -> Response:
        """The exam was started where no MPPS tells (a modality without MPPS): it leaves the worklist."""
        return self._with_reason(request, step_start_outside_modality)

    @extend_schema(request=s.ReasonSerializer, responses={200: s.StepSerializer, **s.error_answers(400, 404, 409)})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        """Cancel an exam not yet started; the order follows and the EHR hears it."""
        return self._with_reason(request, step_cancel)

    @extend_schema(request=s.ReasonSerializer, responses={200: s.StepSerializer, **s.error_answers(400, 404, 409)})
    @action(detail=True, methods=["post"], url_path="no-show")
    def no_show(self, request: Request, pk: str | None = None) -> Response:
        """The patient did not come to a booked exam: cancelled as a no-show."""
        return self._with_reason(request, step_no_show)

    @extend_schema(responses={200: s.SlotSerializer, 204: None, **s.error_answers(404)})
    @action(detail=True, methods=["get"], url_path="next-free-slot")
    def next_free_slot(self, request: Request, pk: str | None = None) -> Response:
        """The earliest free slot in a suitable room (204 when none within 14 days)."""
        slot = next_free_slot(self.get_object())
        return Response(s.SlotSerializer(slot).data) if slot else Response(status=status.HTTP_204_NO_CONTENT)


# Configuration rows over REST: each write is audited with the caller.
class ConfigurationViewSet(viewsets.ModelViewSet, RisViewSet):
    def perform_create(self, serializer: BaseSerializer[Model]) -> None:
        config_write(actor=self.actor, write=serializer.save, created=True)

    def perform_update(self, serializer: BaseSerializer[Model]) -> None:
        config_write(actor=self.actor, write=serializer.save, created=False)

    def perform_destroy(self, instance: Model) -> None:
        config_delete(actor=self.actor, row=instance)


def configuration_schema(serializer: type[BaseSerializer[Model]]) -> Callable[[type[Any]], type[Any]]:
    """The answers a configuration endpoint gives, refusals included."""
    return extend_schema_view(
        create=extend_schema(responses={201: serializer, **s.error_answers(400)}),
        update=extend_schema(responses={200: serializer, **s.error_answers(400, 404)}),
        partial_update=extend_schema(responses={200: serializer, **s.error_answers(400, 404)}),
        destroy=extend_schema(responses={204: None, **s.error_answers(404, 409)}),
    )


@configuration_schema(s.ProcedureSerializer)
class ProcedureViewSet(ConfigurationViewSet):
    queryset = Procedure.objects.prefetch_related("rooms").order_by("code")
    serializer_class = s.ProcedureSerializer
    filterset_fields = {"code": ["exact"], "modality": ["exact"]}


@configuration_schema(s.RoomSerializer)
class RoomViewSet(ConfigurationViewSet):
    queryset = Room.objects.order_by("code")
    serializer_class = s.RoomSerializer
    read_capability = "view_status_board"
    filterset_fields = {"code": ["exact"], "modality": ["exact"], "is_active": ["exact"]}


class BookingViewSet(AuditedReads, mixins.ListModelMixin, mixins.RetrieveModelMixin, RisViewSet):
    queryset = Appointment.objects.select_related("step__requested_procedure__order", "room", "patient")
    queryset = queryset.order_by("start")
    serializer_class = s.BookingSerializer
    write_capability = "book_appointments"
    patient_path = "patient"
    filterset_fields = {"room": ["exact"], "patient": ["exact"], "start": ["gte", "lt"]}

    @extend_schema(request=s.BookingCreateSerializer, responses={201: s.BookingSerializer, **s.error_answers(400, 409)})
    def create(self, request: Request) -> Response:
        """Book a step in a room; 409 with the reason when a rule refuses it."""
        appointment = appointment_book(actor=self.actor, **s.valid(s.BookingCreateSerializer, request.data))
        return Response(s.BookingSerializer(appointment).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=s.BookingChangeSerializer, responses={200: s.BookingSerializer, **s.error_answers(400, 404, 409)}
    )
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        """Move (start, room) or resize (duration_minutes) a booking."""
        data = s.valid(s.BookingChangeSerializer, request.data)
        appointment = _change_booking(self.get_object(), data, self.actor)
        return Response(s.BookingSerializer(appointment).data)

    @extend_schema(request=s.ReasonSerializer, responses={204: None, **s.error_answers(400, 404)})
    @action(detail=True, methods=["post"])
    def unbook(self, request: Request, pk: str | None = None) -> Response:
        """Free the slot; the step goes back to the list to book, and the EHR hears it."""
        reason = s.valid(s.ReasonSerializer, request.data)["reason"]
        appointment_unbook(appointment=self.get_object(), reason=reason, actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)


@transaction.atomic
def _change_booking(appointment: Appointment, data: dict, actor: Actor) -> Appointment:
    if not data:
        raise InvalidInput("give start (and room) to move, or duration_minutes to resize")
    if "start" in data or "room" in data:
        appointment = appointment_move(
            appointment=appointment,
            start=data.get("start", appointment.start),
            room=data.get("room"),
            reason=data.get("reason", ""),
            actor=actor,
        )
    if "duration_minutes" in data:
        appointment = appointment_resize(
            appointment=appointment, duration_minutes=data["duration_minutes"], actor=actor
        )
    return appointment


class MessageViewSet(AuditedReads, mixins.ListModelMixin, mixins.RetrieveModelMixin, RisViewSet):
    queryset = InboundMessage.objects.select_related("order__patient").order_by("-received_at")
    serializer_class = s.MessageSerializer
    read_capability = write_capability = "view_messages"  # read-only: a write is answered 405
    patient_path = "order.patient"
    filterset_fields = {
        "status": ["exact"],
        "message_type": ["exact"],
        "control_id": ["exact"],
        "sending_application": ["exact"],
    }
