from django.contrib import admin

from ris import models
from ris.selectors.modalities import modality_aes_with_last_query


class StepInline(admin.TabularInline):
    model = models.ScheduledProcedureStep
    extra = 0


class ProcedureInline(admin.TabularInline):
    model = models.RequestedProcedure
    extra = 0
    show_change_link = True


@admin.register(models.Patient)
class PatientAdmin(admin.ModelAdmin):
    list_display = ("patient_id", "issuer", "name", "birth_date", "sex")
    search_fields = ("patient_id", "name")


@admin.register(models.ImagingOrder)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("accession_number", "patient", "placer_number", "priority", "status", "created_at")
    list_filter = ("status", "priority")
    search_fields = ("accession_number", "placer_number", "patient__patient_id", "patient__name")
    inlines = [ProcedureInline]


@admin.register(models.RequestedProcedure)
class ProcedureAdmin(admin.ModelAdmin):
    list_display = ("requested_procedure_id", "description", "study_instance_uid", "order")
    inlines = [StepInline]


@admin.register(models.ScheduledProcedureStep)
class StepAdmin(admin.ModelAdmin):
    list_display = ("sps_id", "modality", "station_ae_title", "start", "status")
    list_filter = ("status", "modality", "station_ae_title")


@admin.register(models.Station)
class StationAdmin(admin.ModelAdmin):
    list_display = ("ae_title", "modality", "station_name", "location", "is_default_for_modality")


@admin.register(models.InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    list_display = ("received_at", "message_type", "control_id", "sending_application", "status", "ack_code")
    list_filter = ("status", "message_type", "sending_application")
    search_fields = ("control_id",)
    readonly_fields = [f.name for f in models.InboundMessage._meta.fields]


@admin.register(models.ModalityAE)
class ModalityAEAdmin(admin.ModelAdmin):
    """The modality registry; the last query comes from the query log."""

    list_display = (
        "ae_title", "modality", "station_name", "location", "allowed", "character_set",
        "own_worklist_when_unspecified", "last_query_at", "last_query_items",
    )
    list_filter = ("allowed", "modality", "character_set")
    search_fields = ("ae_title", "station_name", "location")
    filter_horizontal = ("stations",)

    def get_queryset(self, request):
        return modality_aes_with_last_query()

    @admin.display(description="last query", ordering="last_query_at")
    def last_query_at(self, obj):
        return obj.last_query_at

    @admin.display(description="items returned")
    def last_query_items(self, obj):
        return obj.last_query_items


@admin.register(models.WorklistQueryLog)
class WorklistQueryLogAdmin(admin.ModelAdmin):
    list_display = ("at", "calling_ae_title", "items_returned", "duration_ms", "status")
    list_filter = ("calling_ae_title", "status")
    date_hierarchy = "at"
    readonly_fields = [f.name for f in models.WorklistQueryLog._meta.fields]

    def has_add_permission(self, request):
        return False
