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


# The inbound message log is registered by the HL7 door (hl7/admin.py): its
# parsed view and reprocessing know the wire format, the domain does not.


class StationRuleInline(admin.TabularInline):
    model = models.SenderStationRule
    extra = 1


@admin.register(models.HL7Sender)
class HL7SenderAdmin(admin.ModelAdmin):
    list_display = ("application", "facility", "mrn_authority", "is_active", "description")
    list_filter = ("is_active",)
    search_fields = ("application", "facility", "description")
    inlines = [StationRuleInline]


@admin.register(models.SenderStationRule)
class SenderStationRuleAdmin(admin.ModelAdmin):
    list_display = ("sender", "procedure_code", "modality", "station")
    list_filter = ("sender", "modality")


@admin.register(models.CatalogueProcedure)
class CatalogueProcedureAdmin(admin.ModelAdmin):
    list_display = ("code_value", "code_scheme", "description", "modality", "default_duration_minutes", "station")
    list_filter = ("modality",)
    search_fields = ("code_value", "description")
