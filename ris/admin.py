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


class OpeningHoursInline(admin.TabularInline):
    model = models.OpeningHours
    extra = 0


@admin.register(models.Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "modality", "station", "capacity", "is_active")
    inlines = [OpeningHoursInline]


@admin.register(models.BlockedTime)
class BlockedTimeAdmin(admin.ModelAdmin):
    list_display = ("room", "start", "end", "reason")
    list_filter = ("room",)


@admin.register(models.Procedure)
class CatalogueProcedureAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "modality", "default_duration_minutes")
    search_fields = ("code", "name")


@admin.register(models.Appointment)
class AppointmentAdmin(admin.ModelAdmin):
    """Read-only: bookings change only through the appointment services (their rules)."""

    list_display = ("start", "end", "room", "patient", "step", "booked_by")
    list_filter = ("room",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(models.AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The trail is never edited; search and export it on /audit/."""

    list_display = ("at", "actor", "door", "action", "patient", "object_type", "object_id")
    list_filter = ("door", "action")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
