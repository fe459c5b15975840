"""The modality registry and the worklist query log in the admin."""

from django.contrib import admin

from ris.admin_audit import AuditedAdmin
from worklist.models import ModalityAE, WorklistQueryLog
from worklist.registry_pages import modality_aes_with_last_query


@admin.register(ModalityAE)
class ModalityAEAdmin(AuditedAdmin):
    """The modality registry; the last query comes from the query log."""

    list_display = (
        "ae_title",
        "description",
        "allowed",
        "character_set",
        "own_worklist_when_unspecified",
        "last_query_at",
        "last_query_items",
    )
    list_filter = ("allowed", "character_set")
    search_fields = ("ae_title", "description", "stations__ae_title")
    filter_horizontal = ("stations",)

    def get_queryset(self, request):
        return modality_aes_with_last_query()

    @admin.display(description="last query", ordering="last_query_at")
    def last_query_at(self, obj):
        return obj.last_query_at

    @admin.display(description="items returned")
    def last_query_items(self, obj):
        return obj.last_query_items


@admin.register(WorklistQueryLog)
class WorklistQueryLogAdmin(admin.ModelAdmin):
    list_display = ("at", "calling_ae_title", "items_returned", "duration_ms", "status")
    list_filter = ("calling_ae_title", "status")
    date_hierarchy = "at"
    readonly_fields = [f.name for f in WorklistQueryLog._meta.fields]

    def has_add_permission(self, request):
        return False
