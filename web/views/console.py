"""The integration console: what an integration engineer does inside the RIS,
without Django's staff admin.

Reading (capability `view_messages`): the inbound log, each message decoded
in the character set its MSH-18 declared (hl7/inspect.py); the outbound
queue with the payload as built; the dead letters; destinations, senders,
station rules and the modality registry. Changing (`configure_interfaces`):
reprocess a rejected inbound message, resend an outbound one, and edit the
configuration, every edit through ris/services/configuration.py (audited;
a row still in use is refused, StillInUse).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Model
from django.forms import ModelForm
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.functional import Promise
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from hl7 import inspect
from hl7.intake import reprocess
from hl7.models import InboundMessage, SenderStationRule
from hl7.selectors import inbound_messages
from ris.actors import request_actor
from ris.exceptions import StillInUse
from ris.models import AuditEvent, OutboundMessage, Patient
from ris.selectors.outbound import destinations_with_counts, outbound_messages
from ris.selectors.outbox import outbox_dead_letter_count
from ris.services.audit import audit_record, audit_view
from ris.services.configuration import config_delete, config_save
from ris.services.outbox import outbox_resend
from web.access import audit_page, requires
from web.console_forms import DestinationForm, ModalityForm, SenderForm, StationForm, StationRuleForm
from worklist.registry_pages import modality_aes_with_last_query


@requires("view_messages")
def console_home(request: HttpRequest) -> HttpResponse:
    rejected = InboundMessage.objects.filter(status=InboundMessage.Status.REJECTED).count()
    context = {
        "rejected": rejected,
        "dead": outbox_dead_letter_count(),
        "destinations": destinations_with_counts(),
    }
    return _render(request, "web/console/home.html", context)


def _render(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    """A console page, with the console's tabs."""
    return render(request, template, {"kinds": KINDS, **context})


# -- the inbound log ----------------------------------------------------------


@requires("view_messages")
def inbound_list(request: HttpRequest) -> HttpResponse:
    filters = {k: request.GET.get(k, "") for k in ("status", "message_type", "sender", "text")}
    page = Paginator(inbound_messages(**filters), 50).get_page(request.GET.get("page"))
    context = {"page": page, "filters": filters, "statuses": InboundMessage.Status.choices}
    audit_page(request, _patients_of(page), "inbound message list")
    return _render(request, "web/console/inbound_list.html", context)


@requires("view_messages")
def inbound_detail(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(InboundMessage.objects.select_related("order__patient"), pk=pk)
    patient = message.order.patient if message.order is not None else None
    audit_view(
        actor=request_actor(request),
        patient=patient,
        obj=message,
        detail=f"{message.message_type} {message.control_id}",
    )
    raw = bytes(message.raw)
    context = {
        "message": message,
        "text": inspect.message_text(raw),
        "fields": inspect.field_rows(raw),
        "can_reprocess": message.status == InboundMessage.Status.REJECTED,
    }
    return _render(request, "web/console/inbound_detail.html", context)


@require_POST
@requires("configure_interfaces")
def inbound_reprocess(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(InboundMessage.objects.select_related("order__patient"), pk=pk)
    if message.status != InboundMessage.Status.REJECTED:
        messages.error(
            request,
            _("Only a rejected message is reprocessed; this one is %(status)s.")
            % {"status": message.get_status_display()},
        )
        return redirect("console:inbound_detail", pk)
    earlier = f"{message.ack_code} {message.error}".strip()
    code = reprocess(message)
    message.refresh_from_db()
    patient = message.order.patient if message.order is not None else None
    detail = f"{message.message_type} {message.control_id} reprocessed: {code} (was {earlier})"[:200]
    audit_record(
        actor=request_actor(request), action=AuditEvent.Action.CHANGE, patient=patient, obj=message, detail=detail
    )
    level = messages.SUCCESS if code == "AA" else messages.WARNING
    messages.add_message(
        request,
        level,
        _("Reprocessed: answered %(code)s (%(status)s).") % {"code": code, "status": message.get_status_display()},
    )
    return redirect("console:inbound_detail", pk)


# -- the outbound queue -------------------------------------------------------


@requires("view_messages")
def outbound_list(request: HttpRequest) -> HttpResponse:
    filters = {k: request.GET.get(k, "") for k in ("status", "destination", "event", "text")}
    page = Paginator(outbound_messages(**filters), 50).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "filters": filters,
        "statuses": OutboundMessage.Status.choices,
        "destinations": destinations_with_counts(),
    }
    audit_page(request, _patients_of(page), "outbound message list")
    return _render(request, "web/console/outbound_list.html", context)


def _patients_of(page: Any) -> list[Patient]:
    """The patients whose orders the listed messages carry, for the page's audit event."""
    order_ids = {message.order_id for message in page if message.order_id}
    return list(Patient.objects.filter(orders__pk__in=order_ids).distinct()) if order_ids else []


@requires("view_messages")
def outbound_detail(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(OutboundMessage.objects.select_related("destination", "order__patient"), pk=pk)
    patient = message.order.patient if message.order is not None else None
    audit_view(
        actor=request_actor(request), patient=patient, obj=message, detail=f"{message.event} {message.control_id}"
    )
    context = {"message": message, "payload": _readable(message.payload), "response": _readable(message.response)}
    return _render(request, "web/console/outbound_detail.html", context)


def _readable(text: str) -> str:
    """HL7 separates segments with CR: one segment a line for people."""
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


@require_POST
@requires("configure_interfaces")
def outbound_resend(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(OutboundMessage.objects.select_related("destination", "order__patient"), pk=pk)
    outbox_resend(message=message, actor=request_actor(request))
    messages.success(
        request,
        _("Message %(id)s to %(destination)s queued again.")
        % {"id": message.control_id or message.pk, "destination": message.destination},
    )
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return redirect(back)
    return redirect("console:outbound_detail", pk)


@require_POST
@requires("configure_interfaces")
def outbound_resend_dead(request: HttpRequest) -> HttpResponse:
    """Queue every dead letter (of one destination, when named) again."""
    dead = OutboundMessage.objects.filter(status=OutboundMessage.Status.DEAD).select_related(
        "destination", "order__patient"
    )
    if request.POST.get("destination"):
        dead = dead.filter(destination__name=request.POST["destination"])
    actor = request_actor(request)
    count = 0
    for message in dead:
        outbox_resend(message=message, actor=actor)
        count += 1
    messages.success(request, _("%(count)s dead message(s) queued again.") % {"count": count})
    return redirect("console:outbound")


# -- configuration: destinations, senders, station rules, modalities ----------


@dataclass(frozen=True)
class Kind:
    form: type[ModelForm[Any]]
    title: Promise
    singular: Promise
    columns: list[tuple[Promise, str]]  # (heading, attribute or method)

    @property
    def model(self) -> type[Model]:
        return self.form._meta.model


KINDS: dict[str, Kind] = {
    "destinations": Kind(
        DestinationForm,
        gettext_lazy("Outbound destinations"),
        gettext_lazy("destination"),
        [
            (gettext_lazy("Name"), "name"),
            (gettext_lazy("Kind"), "get_kind_display"),
            (gettext_lazy("Address"), "address"),
            (gettext_lazy("Events"), "event_list"),
            (gettext_lazy("Enabled"), "enabled"),
        ],
    ),
    "senders": Kind(
        SenderForm,
        gettext_lazy("HL7 senders"),
        gettext_lazy("sender"),
        [
            (gettext_lazy("Application"), "application"),
            (gettext_lazy("Facility"), "facility"),
            (gettext_lazy("MRN authority"), "mrn_authority"),
            (gettext_lazy("Accepted"), "is_active"),
            (gettext_lazy("Description"), "description"),
        ],
    ),
    "rules": Kind(
        StationRuleForm,
        gettext_lazy("Station rules"),
        gettext_lazy("station rule"),
        [
            (gettext_lazy("Sender"), "sender"),
            (gettext_lazy("Procedure code"), "procedure_code"),
            (gettext_lazy("Modality"), "modality"),
            (gettext_lazy("Station"), "station"),
        ],
    ),
    "modalities": Kind(
        ModalityForm,
        gettext_lazy("Modality AEs"),
        gettext_lazy("modality AE"),
        [
            (gettext_lazy("AE title"), "ae_title"),
            (gettext_lazy("Description"), "description"),
            (gettext_lazy("Allowed"), "allowed"),
            (gettext_lazy("Character set"), "get_character_set_display"),
            (gettext_lazy("Stations"), "station_list"),
        ],
    ),
    "stations": Kind(
        StationForm,
        gettext_lazy("Stations"),
        gettext_lazy("station"),
        [
            (gettext_lazy("AE title"), "ae_title"),
            (gettext_lazy("Modality"), "modality"),
            (gettext_lazy("Station name"), "station_name"),
            (gettext_lazy("Room"), "location"),
            (gettext_lazy("Default for its modality"), "is_default_for_modality"),
        ],
    ),
}


def _kind(kind: str) -> Kind:
    if kind not in KINDS:
        raise Http404(kind)
    return KINDS[kind]


def cell(row: Model, attribute: str) -> Any:
    """A column's value as people read it (a method is called, a list joined)."""
    extra = DERIVED.get(attribute)
    if extra is not None:
        return extra(row)
    value = getattr(row, attribute)
    return value() if callable(value) else value


def _address(row: Any) -> str:
    if row.base_url:
        return str(row.base_url)
    where = f"{row.host}:{row.port}" if row.host else ""
    return f"{row.ae_title}@{where}" if row.ae_title and where else where


DERIVED = {
    "address": _address,
    "event_list": lambda row: ", ".join(row.events) or _("every event"),
    "station_list": lambda row: ", ".join(s.ae_title for s in row.stations.all()) or _("its own AE title"),
}


def _rows(kind: str) -> Any:
    model = KINDS[kind].model
    if kind == "modalities":
        return modality_aes_with_last_query()
    if model is SenderStationRule:
        return SenderStationRule.objects.select_related("sender", "station")
    return model._default_manager.all()


@requires("view_messages")
def config_list(request: HttpRequest, kind: str) -> HttpResponse:
    spec = _kind(kind)
    table = [(row, [(cell(row, attribute)) for _heading, attribute in spec.columns]) for row in _rows(kind)]
    context = {"kind": kind, "spec": spec, "table": table}
    return _render(request, "web/console/config_list.html", context)


@requires("configure_interfaces")
def config_edit(request: HttpRequest, kind: str, pk: int | None = None) -> HttpResponse:
    spec = _kind(kind)
    instance = get_object_or_404(spec.model, pk=pk) if pk else None
    form = spec.form(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        row = config_save(actor=request_actor(request), row=form.save(commit=False), save_related=form.save_m2m)
        messages.success(request, _("Saved %(what)s %(row)s.") % {"what": spec.singular, "row": row})
        return redirect("console:config_list", kind=kind)
    context = {"form": form, "spec": spec, "kind": kind, "instance": instance}
    return _render(request, "web/console/config_edit.html", context)


@require_POST
@requires("configure_interfaces")
def config_remove(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    spec = _kind(kind)
    row = get_object_or_404(spec.model, pk=pk)
    try:
        config_delete(actor=request_actor(request), row=row)
    except StillInUse as refusal:
        messages.error(request, f"{refusal}.")
    else:
        messages.success(request, _("Deleted %(what)s %(row)s.") % {"what": spec.singular, "row": row})
    return redirect("console:config_list", kind=kind)
