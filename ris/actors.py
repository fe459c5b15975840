"""Who acts over HTTP: the `Actor` of a Django request, and the admin mixin
that records configuration edits with it.

Both are kept in the domain so that every HTTP-facing piece (the web door's
pages and API, the FHIR read API, the admin modules of web, hl7 and worklist)
builds its actor the same way: the user, the client address, and what
carried the request. Admin saves and deletes go through
ris/services/configuration.py with that actor, in the admin's own transaction.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse

from ris.models import AuditEvent, Patient
from ris.records import Actor
from ris.services.audit import audit_view, audit_view_many
from ris.services.configuration import config_delete, config_write


def request_actor(request: HttpRequest, door: str = AuditEvent.Door.WEB) -> Actor:
    """The person behind a request (page, API, FHIR, admin), for the services to audit."""
    return Actor(
        door=door,
        user=request.user,
        address=str(request.META.get("REMOTE_ADDR", "")),
        via=f"{request.method} {request.get_full_path()}"[:300],
    )


class AuditedAdmin(admin.ModelAdmin):
    """save_model, delete_model and the bulk delete record CREATE, CHANGE, DELETE."""

    def save_model(self, request: HttpRequest, obj: Model, form: Any, change: bool) -> None:
        def write() -> Model:
            super(AuditedAdmin, self).save_model(request, obj, form, change)
            return obj

        config_write(actor=request_actor(request), write=write, created=not change)

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        config_delete(actor=request_actor(request), row=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Model]) -> None:
        actor = request_actor(request)
        for row in queryset:
            config_delete(actor=actor, row=row)


class ViewAuditedAdmin(admin.ModelAdmin):
    """A record's page in the admin is a read of patient data, audited like
    the other pages': `patient_path` leads from the record to its patient."""

    patient_path = ""  # e.g. "order.patient"; "" when the record names none

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200:
            row = self.get_object(request, object_id)
            if row is not None:
                audit_view(actor=request_actor(request), patient=self._patient(row), obj=row)
        return response

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        """A list of clinical records is one read naming the patients on the page (or the search)."""
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl") if request.method == "GET" else None
        if changelist is not None and response.status_code == 200:
            audit_view_many(
                actor=request_actor(request),
                patients=[self._patient(row) for row in changelist.result_list],
                object_type=self.model._meta.model_name or "",
                detail="admin list",
            )
        return response

    def _patient(self, row: Model) -> Patient | None:
        found: Any = row
        for name in filter(None, self.patient_path.split(".")):
            found = getattr(found, name, None)
        return found if isinstance(found, Patient) else None
