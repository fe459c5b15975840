"""Rooms with their week of opening hours, blocked time (showing the bookings
it would hit before it is saved), and the procedure catalogue: lists and
forms. Every change goes through ris/services/configuration.py or
ris/services/opening_hours.py (audited; a row still in use is refused)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.db.models import Prefetch
from django.forms import ModelForm
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from ris.actors import request_actor
from ris.exceptions import DomainError, StillInUse
from ris.models import BlockedTime, OpeningHours, Room
from ris.selectors.resources import bookings_in
from ris.services import opening_hours
from ris.services.configuration import config_delete, config_save
from web.access import requires
from web.admin_forms import WEEKDAYS, BlockedTimeForm, OpeningHoursForm, WeekFormSet, week_initial
from web.dose_forms import ReferenceLevelForm
from web.errors import refusal_for
from web.forms import ProcedureForm, RoomForm
from web.reading_forms import ReportTemplateForm


@dataclass(frozen=True)
class Kind:
    form: type[ModelForm[Any]]
    title: Promise
    columns: list[tuple[Promise, str]]  # (heading, attribute or method)


KINDS: dict[str, Kind] = {
    "rooms": Kind(
        RoomForm,
        gettext_lazy("Rooms"),
        [
            (gettext_lazy("Code"), "code"),
            (gettext_lazy("Name"), "name"),
            (gettext_lazy("Modality"), "modality"),
            (gettext_lazy("Station"), "station"),
            (gettext_lazy("Capacity"), "capacity"),
            (gettext_lazy("In service"), "is_active"),
        ],
    ),
    "hours": Kind(
        OpeningHoursForm,
        gettext_lazy("Opening hours"),
        [
            (gettext_lazy("Room"), "room"),
            (gettext_lazy("Weekday"), "get_weekday_display"),
            (gettext_lazy("Opens"), "opens"),
            (gettext_lazy("Closes"), "closes"),
        ],
    ),
    "blocked": Kind(
        BlockedTimeForm,
        gettext_lazy("Blocked time"),
        [
            (gettext_lazy("Room"), "room"),
            (gettext_lazy("From"), "start"),
            (gettext_lazy("Until"), "end"),
            (gettext_lazy("Reason"), "reason"),
        ],
    ),
    "procedures": Kind(
        ProcedureForm,
        gettext_lazy("Procedure catalogue"),
        [
            (gettext_lazy("Code"), "code"),
            (gettext_lazy("Name"), "name"),
            (gettext_lazy("Modality"), "modality"),
            (gettext_lazy("Minutes"), "default_duration_minutes"),
            (gettext_lazy("Preparation"), "preparation_instructions"),
        ],
    ),
    "report-templates": Kind(
        ReportTemplateForm,
        gettext_lazy("Report templates"),
        [
            (gettext_lazy("Name"), "name"),
            (gettext_lazy("Kind"), "get_kind_display"),
            (gettext_lazy("Procedure"), "procedure"),
            (gettext_lazy("In use"), "is_active"),
        ],
    ),
    "reference-levels": Kind(
        ReferenceLevelForm,
        gettext_lazy("Dose reference levels"),
        [
            (gettext_lazy("Procedure"), "procedure"),
            (gettext_lazy("Modality"), "modality"),
            (gettext_lazy("Quantity"), "get_quantity_display"),
            (gettext_lazy("Level"), "level"),
            (gettext_lazy("Note"), "note"),
        ],
    ),
}


def _kind(kind: str) -> Kind:
    if kind not in KINDS:
        raise Http404(kind)
    return KINDS[kind]


def _value(row: Any, attribute: str) -> Any:
    value = getattr(row, attribute)
    return value() if callable(value) else value


@requires("manage_resources")
def resource_list(request: HttpRequest, kind: str) -> HttpResponse:
    if kind == "rooms":
        return redirect("admin_rooms")
    spec = _kind(kind)
    rows = spec.form._meta.model.objects.all()
    table = [(row, [_value(row, attribute) for _h, attribute in spec.columns]) for row in rows]
    context = {"kind": kind, "spec": spec, "table": table, "kinds": KINDS}
    return render(request, "web/resource_list.html", context)


@requires("manage_resources")
def room_list(request: HttpRequest) -> HttpResponse:
    rooms = Room.objects.select_related("station").prefetch_related(
        Prefetch("opening_hours", queryset=OpeningHours.objects.order_by("weekday", "opens"))
    )
    table = [(room, list(zip(WEEKDAYS, opening_hours.room_week(room), strict=True))) for room in rooms]
    return render(request, "web/rooms.html", {"table": table, "kinds": KINDS, "kind": "rooms", "weekdays": WEEKDAYS})


@requires("manage_resources")
def room_week(request: HttpRequest, pk: int) -> HttpResponse:
    """The room's whole week in one form: each day closed, 24 h, or from-until
    (an until not after the from runs overnight)."""
    room = get_object_or_404(Room, pk=pk)
    formset = WeekFormSet(request.POST or None, initial=week_initial(opening_hours.room_week(room)), prefix="day")
    status = 200
    if request.method == "POST" and formset.is_valid():
        week = [form.day(weekday) for weekday, form in enumerate(formset.forms)]
        try:
            opening_hours.room_week_set(room=room, week=week, actor=request_actor(request))
        except DomainError as refusal:
            messages.error(request, refusal_for(refusal).detail)
            status = 400
        else:
            messages.success(request, _("Opening hours of %(room)s saved.") % {"room": room.code})
            return redirect("admin_rooms")
    days = list(zip(WEEKDAYS, formset.forms, strict=True))
    context = {"room": room, "formset": formset, "days": days, "kinds": KINDS, "kind": "rooms"}
    return render(request, "web/room_week.html", context, status=status)


@requires("manage_resources")
def blocked_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """Blocked time: the bookings it hits are listed, and saving it over them
    needs a second, confirmed post."""
    instance = get_object_or_404(BlockedTime, pk=pk) if pk else None
    form = BlockedTimeForm(request.POST or None, instance=instance)
    hits: list[Any] = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        hits = list(bookings_in(data["room"], data["start"], data["end"]))
        if not hits or data.get("confirm"):
            config_save(actor=request_actor(request), row=form.save(commit=False))
            messages.success(request, _("Blocked time saved."))
            return redirect("resource_list", kind="blocked")
        confirmed = request.POST.copy()
        confirmed["confirm"] = "on"  # the next post says: block it anyway
        form = BlockedTimeForm(confirmed, instance=instance)
        form.is_valid()
    context = {"form": form, "hits": hits, "kinds": KINDS, "kind": "blocked", "title": KINDS["blocked"].title}
    return render(request, "web/blocked_edit.html", context, status=409 if hits else 200)


@requires("manage_resources")
def resource_edit(request: HttpRequest, kind: str, pk: int | None = None) -> HttpResponse:
    if kind == "blocked":
        return blocked_edit(request, pk)
    spec = _kind(kind)
    model = spec.form._meta.model
    instance = get_object_or_404(model, pk=pk) if pk else None
    form = spec.form(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        row = config_save(actor=request_actor(request), row=form.save(commit=False), save_related=form.save_m2m)
        if kind == "rooms" and instance is None:
            return redirect("admin_room_week", row.pk)  # a new room's next step: its week
        return redirect("resource_list", kind=kind)
    return render(request, "web/resource_edit.html", {"form": form, "title": spec.title, "kind": kind, "kinds": KINDS})


@require_POST
@requires("manage_resources")
def resource_delete(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    spec = _kind(kind)
    try:
        config_delete(actor=request_actor(request), row=get_object_or_404(spec.form._meta.model, pk=pk))
    except StillInUse as refusal:
        messages.error(request, f"{refusal}.")
    return redirect("resource_list", kind=kind)
