"""The admin of the domain's models.

Configuration rows (stations, destinations, rooms, blocked time, the
catalogue) are edited here, each save audited (`AuditedAdmin`). Clinical
records (patients, orders, procedures, steps, MPPS and quarantined MPPS, reports, bookings,
outbound messages, the audit trail) are shown and never edited here: they
change only through the services, with their state machines, rules and
audit, which the admin's actions call (check in, ready, reconcile, send again).
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.http import HttpRequest

from ris import models
from ris.actors import AuditedAdmin, ViewAuditedAdmin, request_actor
from ris.exceptions import DomainError


class ViewOnly:
    """Shown, never added, changed or deleted in the admin (see the module's docstring)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class StepInline(ViewOnly, admin.TabularInline):
    model = models.ScheduledProcedureStep
    extra = 0


class ProcedureInline(ViewOnly, admin.TabularInline):
    model = models.RequestedProcedure
    extra = 0
    show_change_link = True


@admin.register(models.Patient)
class PatientAdmin(ViewOnly, ViewAuditedAdmin):
    list_display = ("patient_id", "issuer", "name", "birth_date", "sex")
    search_fields = ("patient_id", "name")


@admin.register(models.ImagingOrder)
class OrderAdmin(ViewOnly, ViewAuditedAdmin):
    patient_path = "patient"
    list_display = ("accession_number", "patient", "placer_number", "priority", "status", "created_at")
    list_filter = ("status", "priority")
    search_fields = ("accession_number", "placer_number", "patient__patient_id", "patient__name")
    inlines = [ProcedureInline]


@admin.register(models.RequestedProcedure)
class ProcedureAdmin(ViewOnly, ViewAuditedAdmin):
    patient_path = "order.patient"
    list_display = ("requested_procedure_id", "description", "study_instance_uid", "order")
    inlines = [StepInline]


def _each(request, queryset, service, done: str) -> None:
    """Call a service per selected row; a refusal is shown, not raised."""
    for row in queryset:
        try:
            service(row)
        except DomainError as exc:
            messages.error(request, f"{row}: {exc}")
        else:
            messages.success(request, f"{row}: {done}")


@admin.action(description="Check in (ARRIVED)")
def check_in(modeladmin, request, queryset):
    from ris.services.steps import step_check_in

    _each(request, queryset, lambda step: step_check_in(step=step, actor=request_actor(request)), "checked in")


@admin.action(description="Ready at the modality (READY)")
def ready(modeladmin, request, queryset):
    from ris.services.steps import step_ready

    _each(request, queryset, lambda step: step_ready(step=step, actor=request_actor(request)), "ready")


def _performed_summary(pps: models.PerformedProcedureStep) -> str:
    parts = [f"{pps.pps_id} {pps.status}"]
    if pps.discontinuation_reason:
        parts.append(f"reason {pps.discontinuation_reason}")
    parts += [f"{label} {value}" for label, value in dose_values(pps) if value is not None]
    return ", ".join(parts)


def dose_values(pps: models.PerformedProcedureStep) -> list[tuple[str, object]]:
    return [
        ("fluoroscopy s", pps.fluoroscopy_time_seconds),
        ("exposures", pps.exposure_count),
        ("entrance dose mGy", pps.entrance_dose_mgy),
        ("DAP dGy*cm2", pps.area_dose_product),
    ]


@admin.register(models.ScheduledProcedureStep)
class StepAdmin(ViewOnly, ViewAuditedAdmin):
    patient_path = "requested_procedure.order.patient"
    list_display = ("sps_id", "modality", "station_ae_title", "start", "status", "performed")
    list_filter = ("status", "modality", "station_ae_title")
    readonly_fields = ("status", "performed")
    actions = [check_in, ready]

    @admin.display(description="performed (MPPS: status, discontinuation reason, dose)")
    def performed(self, step):
        return "; ".join(_performed_summary(pps) for pps in step.performed_steps.all()) or "-"


class ReconcileForm(ActionForm):
    accession_number = forms.CharField(required=False, label="accession number (to link)")


@admin.action(description="Link to the order with the accession number given")
def link_to_order(modeladmin, request, queryset):
    from ris.services.mpps import mpps_link_to_order

    order = models.ImagingOrder.objects.filter(accession_number=request.POST.get("accession_number", "")).first()
    if order is None:
        messages.error(request, "no order has that accession number")
        return
    _each(
        request,
        queryset,
        lambda pps: mpps_link_to_order(pps=pps, order=order, actor=request_actor(request)),
        f"linked to {order}",
    )


@admin.action(description="Register as a new unscheduled exam")
def register_unscheduled_exam(modeladmin, request, queryset):
    from ris.services.mpps import mpps_register_unscheduled_exam

    _each(
        request,
        queryset,
        lambda pps: mpps_register_unscheduled_exam(pps=pps, actor=request_actor(request)),
        "registered as a new exam",
    )


@admin.register(models.PerformedProcedureStep)
class PerformedProcedureStepAdmin(ViewOnly, ViewAuditedAdmin):
    list_display = (
        "pps_id",
        "modality",
        "station_ae_title",
        "patient_id",
        "start",
        "end",
        "status",
        "unscheduled",
        "discontinuation_reason",
        "dose",
    )
    list_filter = ("status", "unscheduled", "modality", "station_ae_title")
    search_fields = ("sop_instance_uid", "pps_id", "patient_id", "patient_name")
    action_form = ReconcileForm
    actions = [link_to_order, register_unscheduled_exam]
    readonly_fields = [f.name for f in models.PerformedProcedureStep._meta.fields] + ["linked_steps"]
    exclude = ("steps",)

    @admin.display(description="dose")
    def dose(self, pps):
        return ", ".join(f"{label} {value}" for label, value in dose_values(pps) if value is not None) or "-"

    @admin.display(description="linked steps")
    def linked_steps(self, pps):
        return ", ".join(str(step) for step in pps.steps.all()) or "none (unscheduled)"


@admin.register(models.QuarantinedMpps)
class QuarantinedMppsAdmin(ViewOnly, ViewAuditedAdmin):
    """MPPS operations from AEs outside the modality registry, kept aside and
    never applied; read-only until the reconciliation queue takes them."""

    list_display = ("received_at", "operation", "calling_ae_title", "address", "sop_instance_uid", "answered", "reason")
    list_filter = ("operation", "calling_ae_title", "answered")
    search_fields = ("sop_instance_uid", "calling_ae_title", "address")
    date_hierarchy = "received_at"
    readonly_fields = [f.name for f in models.QuarantinedMpps._meta.fields]


@admin.register(models.Station)
class StationAdmin(AuditedAdmin):
    list_display = ("ae_title", "modality", "station_name", "location", "is_default_for_modality")


@admin.register(models.Destination)
class DestinationAdmin(AuditedAdmin):
    list_display = ("name", "kind", "role", "enabled", "host", "port", "ae_title", "base_url", "hl7_version")
    exclude = ("lease_until", "lease_owner")


@admin.action(description="Send again")
def resend(modeladmin, request, queryset):
    from ris.services.outbox import outbox_resend

    actor = request_actor(request)
    for message in queryset:
        outbox_resend(message=message, actor=actor)


@admin.register(models.OutboundMessage)
class OutboundMessageAdmin(ViewOnly, ViewAuditedAdmin):
    patient_path = "order.patient"
    list_display = ("created_at", "event", "destination", "control_id", "status", "attempts", "last_error")
    list_filter = ("status", "event", "destination")
    search_fields = ("control_id",)
    actions = [resend]
    readonly_fields = [f.name for f in models.OutboundMessage._meta.fields]


class ReportVersionInline(ViewOnly, admin.TabularInline):
    model = models.ReportVersion
    extra = 0
    can_delete = False
    fields = ("number", "status", "author", "signer", "signed_at")
    readonly_fields = fields


@admin.register(models.Report)
class ReportAdmin(ViewOnly, ViewAuditedAdmin):
    """Reports change through the reporting page and the API (the services)."""

    patient_path = "order.patient"
    list_display = ("order", "procedure", "status", "updated_at")
    list_filter = ("status",)
    search_fields = ("order__accession_number", "order__patient__patient_id")
    readonly_fields = ("order", "procedure", "uid", "status")
    inlines = [ReportVersionInline]


class OpeningHoursInline(admin.TabularInline):
    model = models.OpeningHours
    extra = 0


@admin.register(models.Room)
class RoomAdmin(AuditedAdmin):
    list_display = ("code", "name", "modality", "station", "capacity", "is_active")
    inlines = [OpeningHoursInline]


@admin.register(models.BlockedTime)
class BlockedTimeAdmin(AuditedAdmin):
    list_display = ("room", "start", "end", "reason")
    list_filter = ("room",)


@admin.register(models.Procedure)
class CatalogueProcedureAdmin(AuditedAdmin):
    list_display = (
        "code",
        "code_scheme",
        "name",
        "modality",
        "default_duration_minutes",
        "station",
        "needs_vetting",
        "contrast",
        "mr_checklist",
    )
    list_filter = ("modality", "needs_vetting", "contrast")
    search_fields = ("code", "name")


@admin.register(models.ProtocolCode)
class ProtocolCodeAdmin(AuditedAdmin):
    """The protocols a vetting radiologist may assign, per catalogue procedure."""

    list_display = ("procedure", "code_value", "code_scheme", "code_meaning", "is_default")
    list_filter = ("procedure__modality",)
    search_fields = ("code_value", "code_meaning", "procedure__code")


@admin.register(models.Appointment)
class AppointmentAdmin(ViewOnly, ViewAuditedAdmin):
    """Bookings change only through the appointment services (their rules)."""

    patient_path = "patient"
    list_display = ("start", "end", "room", "patient", "step", "booked_by")
    list_filter = ("room",)


@admin.register(models.AuditEvent)
class AuditEventAdmin(ViewOnly, admin.ModelAdmin):
    """The trail is never edited nor deleted; search and export it on /audit/."""

    list_display = ("at", "actor", "door", "action", "patient", "object_type", "object_id")
    list_filter = ("door", "action")

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(models.ApiToken)
class ApiTokenAdmin(ViewOnly, admin.ModelAdmin):
    """API tokens: who holds which, until when; revoked here, never made or
    edited (a key is shown once, on /account/tokens/ or POST /api/token/)."""

    list_display = ("prefix", "user", "name", "created_at", "expires_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("user__username", "prefix", "name")
    exclude = ("digest",)
    actions = ["revoke"]

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: Any) -> None:
        from ris.services.tokens import token_revoke

        actor = request_actor(request)
        for token in queryset:
            token_revoke(actor=actor, token_id=token.pk, visible=queryset, reason=f"revoked by {request.user}")
        messages.success(request, f"{queryset.count()} token(s) revoked.")
