"""The modality registry and the worklist query log in the admin."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from ris.actors import AuditedAdmin
from worklist.models import ModalityAE, WorklistQueryLog
from worklist.registry_pages import LastQuery, modality_aes_with_last_query

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

    # ModelAdmin is generic in django-stubs only; at runtime it takes no subscript.
    WorklistQueryLogAdminBase = admin.ModelAdmin[WorklistQueryLog]
else:
    WorklistQueryLogAdminBase = admin.ModelAdmin


@admin.register(ModalityAE)
class ModalityAEAdmin(AuditedAdmin):
    """The modality registry; the last query comes from the query log."""

    list_display = (
        "ae_title",
        "description",
        "allowed",
        "character_set",
        "own_worklist_when_unspecified",
        "may_change_any_mpps",
        "last_query_at",
        "last_query_items",
    )
    list_filter = ("allowed", "character_set", "may_change_any_mpps")
    search_fields = ("ae_title", "description", "stations__ae_title")
    filter_horizontal = ("stations",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[ModalityAE]:
        return modality_aes_with_last_query()

    @admin.display(description="last query", ordering="last_query_at")
    def last_query_at(self, obj: WithAnnotations[ModalityAE, LastQuery]) -> dt.datetime | None:
        return obj.last_query_at

    @admin.display(description="items returned")
    def last_query_items(self, obj: WithAnnotations[ModalityAE, LastQuery]) -> int | None:
        return obj.last_query_items


@admin.register(WorklistQueryLog)
class WorklistQueryLogAdmin(WorklistQueryLogAdminBase):
    list_display = ("at", "calling_ae_title", "items_returned", "duration_ms", "status")
    list_filter = ("calling_ae_title", "status")
    date_hierarchy = "at"
    readonly_fields = [f.name for f in WorklistQueryLog._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
