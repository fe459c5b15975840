"""The admin's changes to configuration rows, audited like the pages'.

A mixin for ModelAdmin, kept in the domain so that the admin modules of every
door (web, hl7, worklist) can use it: each save and delete goes through
ris/services/configuration.py with the admin user as actor, in the admin's
own transaction.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from ris.models import AuditEvent
from ris.records import Actor
from ris.services.configuration import config_delete, config_write


def admin_actor(request: HttpRequest) -> Actor:
    """The admin user behind a request."""
    return Actor(
        door=AuditEvent.Door.WEB,
        user=request.user,
        address=str(request.META.get("REMOTE_ADDR", "")),
        via=f"{request.method} {request.path}",
    )


class AuditedAdmin(admin.ModelAdmin):
    """save_model, delete_model and the bulk delete record CREATE, CHANGE, DELETE."""

    def save_model(self, request: HttpRequest, obj: Model, form: Any, change: bool) -> None:
        def write() -> Model:
            super(AuditedAdmin, self).save_model(request, obj, form, change)
            return obj

        config_write(actor=admin_actor(request), write=write, created=not change)

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        config_delete(actor=admin_actor(request), row=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Model]) -> None:
        actor = admin_actor(request)
        for row in queryset:
            config_delete(actor=actor, row=row)
