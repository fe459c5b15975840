"""The message log for integration engineers: raw text, parsed view, ACKs
sent, status, linked order; reprocess a refused message."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from hl7 import inspect
from hl7.intake import reprocess
from hl7.models import HL7Sender, InboundMessage, SenderStationRule
from ris.actors import AuditedAdmin, ViewAuditedAdmin

if TYPE_CHECKING:
    # TabularInline is generic in django-stubs only; at runtime it takes no subscript.
    StationRuleInlineBase = admin.TabularInline[SenderStationRule, HL7Sender]
else:
    StationRuleInlineBase = admin.TabularInline


@admin.register(InboundMessage)
class InboundMessageAdmin(ViewAuditedAdmin):
    patient_path = "order.patient"
    list_display = (
        "received_at",
        "message_type",
        "control_id",
        "sending_application",
        "status",
        "ack_code",
        "order_link",
    )
    list_filter = ("status", "message_type", "sending_application", "ack_code", "received_at")
    date_hierarchy = "received_at"
    search_fields = ("control_id", "sending_application", "sending_facility", "peer", "order__accession_number")
    list_select_related = ("order",)
    actions = ["reprocess_messages"]
    fields = (
        "received_at",
        "peer",
        "protocol",
        "sending_application",
        "sending_facility",
        "message_type",
        "control_id",
        "version",
        "status",
        "ack_code",
        "error",
        "order_link",
        "message_text",
        "parsed",
        "ack_text",
        "commit_ack_text",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # messages arrive over the wire only

    def has_change_permission(self, request: HttpRequest, obj: InboundMessage | None = None) -> bool:
        return False

    @admin.display(description="order")
    def order_link(self, obj: InboundMessage) -> str:
        order = obj.order
        if order is None:
            return "-"
        url = reverse("admin:ris_imagingorder_change", args=[order.pk])
        return format_html('<a href="{}">{}</a>', url, order.accession_number)

    @admin.display(description="raw message")
    def message_text(self, obj: InboundMessage) -> SafeString:
        return format_html("<pre>{}</pre>", inspect.message_text(bytes(obj.raw)))

    @admin.display(description="parsed view")
    def parsed(self, obj: InboundMessage) -> SafeString:
        rows = [
            (name, field.reference, field.value)
            for name, fields in inspect.segment_views(bytes(obj.raw))
            for field in fields
        ]
        body = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", rows)
        return format_html("<table><tr><th>segment</th><th>field</th><th>value</th></tr>{}</table>", body)

    @admin.display(description="ACK sent (application)")
    def ack_text(self, obj: InboundMessage) -> SafeString:
        return format_html("<pre>{}</pre>", obj.ack.replace("\r", "\n"))

    @admin.display(description="commit ACK sent (enhanced mode)")
    def commit_ack_text(self, obj: InboundMessage) -> str:
        return format_html("<pre>{}</pre>", obj.commit_ack.replace("\r", "\n")) if obj.commit_ack else "-"

    @admin.action(description="Reprocess the selected rejected messages")
    def reprocess_messages(self, request: HttpRequest, queryset: QuerySet[InboundMessage]) -> None:
        rejected = queryset.filter(status=InboundMessage.Status.REJECTED)
        for message in rejected:
            code = reprocess(message)
            message.refresh_from_db()
            self.message_user(request, f"{message} reprocessed: {code}", messages.INFO)
        skipped = queryset.count() - len(rejected)
        if skipped:
            self.message_user(request, f"{skipped} message(s) not rejected, left alone", messages.WARNING)


class StationRuleInline(StationRuleInlineBase):
    model = SenderStationRule
    extra = 1


@admin.register(HL7Sender)
class HL7SenderAdmin(AuditedAdmin):
    list_display = ("application", "facility", "mrn_authority", "may_merge_patients", "is_active", "description")
    list_filter = ("is_active", "may_merge_patients")
    search_fields = ("application", "facility", "description")
    inlines = [StationRuleInline]


@admin.register(SenderStationRule)
class SenderStationRuleAdmin(AuditedAdmin):
    list_display = ("sender", "procedure_code", "modality", "station")
    list_filter = ("sender", "modality")
