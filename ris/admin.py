from django.contrib import admin

from ris import models


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


@admin.register(models.Destination)
class DestinationAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "enabled", "host", "port", "base_url", "hl7_version")
    exclude = ("lease_until", "lease_owner")


@admin.action(description="Send again")
def resend(modeladmin, request, queryset):
    from ris.services.outbox import outbox_resend

    for message in queryset:
        outbox_resend(message=message)


@admin.register(models.OutboundMessage)
class OutboundMessageAdmin(admin.ModelAdmin):
    list_display = ("created_at", "event", "destination", "control_id", "status", "attempts", "last_error")
    list_filter = ("status", "event", "destination")
    search_fields = ("control_id",)
    actions = [resend]
    readonly_fields = [f.name for f in models.OutboundMessage._meta.fields]


class ReportVersionInline(admin.TabularInline):
    model = models.ReportVersion
    extra = 0
    can_delete = False
    fields = ("number", "status", "author", "signer", "signed_at")
    readonly_fields = fields


@admin.register(models.Report)
class ReportAdmin(admin.ModelAdmin):
    """Read-only: reports change through the reporting page and the API (the services)."""

    list_display = ("order", "procedure", "status", "updated_at")
    list_filter = ("status",)
    search_fields = ("order__accession_number", "order__patient__patient_id")
    readonly_fields = ("order", "procedure", "uid", "status")
    inlines = [ReportVersionInline]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
