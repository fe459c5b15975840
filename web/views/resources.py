"""Rooms, opening hours, blocked time and the procedure catalogue: plain lists and forms."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from ris.actors import request_actor
from ris.exceptions import StillInUse
from ris.services.configuration import config_delete, config_save
from web.access import requires
from web.forms import BlockedTimeForm, OpeningHoursForm, ProcedureForm, RoomForm

# kind in the URL -> (form, title, columns shown in the list)
KINDS = {
    "rooms": (RoomForm, "Rooms", ["code", "name", "modality", "station", "capacity", "is_active"]),
    "hours": (OpeningHoursForm, "Opening hours", ["room", "get_weekday_display", "opens", "closes"]),
    "blocked": (BlockedTimeForm, "Blocked time", ["room", "start", "end", "reason"]),
    "procedures": (
        ProcedureForm,
        "Procedure catalogue",
        ["code", "name", "modality", "default_duration_minutes", "preparation_instructions"],
    ),
}


def _kind(kind: str):
    if kind not in KINDS:
        raise Http404(kind)
    return KINDS[kind]


@requires("manage_resources")
def resource_list(request, kind: str):
    form_class, title, columns = _kind(kind)
    rows = form_class._meta.model.objects.all()
    table = [
        (row, [getattr(row, c)() if callable(getattr(row, c)) else getattr(row, c) for c in columns]) for row in rows
    ]
    context = {"kind": kind, "title": title, "columns": columns, "table": table, "kinds": KINDS}
    return render(request, "web/resource_list.html", context)


@requires("manage_resources")
def resource_edit(request, kind: str, pk: int | None = None):
    form_class, title, _ = _kind(kind)
    instance = get_object_or_404(form_class._meta.model, pk=pk) if pk else None
    form = form_class(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        config_save(actor=request_actor(request), row=form.save(commit=False), save_related=form.save_m2m)
        return redirect("resource_list", kind=kind)
    return render(request, "web/resource_edit.html", {"form": form, "title": title, "kind": kind})


@require_POST
@requires("manage_resources")
def resource_delete(request, kind: str, pk: int):
    form_class, _, _ = _kind(kind)
    try:
        config_delete(actor=request_actor(request), row=get_object_or_404(form_class._meta.model, pk=pk))
    except StillInUse as refusal:
        messages.error(request, f"{refusal}.")
    return redirect("resource_list", kind=kind)
