"""Every page and endpoint of the HTTP door, with the capability each needs.

The pages of the HL7 and DICOM doors (message log, modality registry) are
their own views; they are routed, and their access checked, here.
"""

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from django.views.generic import TemplateView

from hl7 import views as hl7_views
from web import access
from web.views import (
    administration,
    audit,
    board,
    calendar,
    console,
    critical,
    dose,
    home,
    orders,
    patients,
    reconciliation,
    reporting,
    resources,
    safety,
    tokens,
    turnaround,
)
from worklist import views as worklist_views

admin.site.login_form = access.ThrottledAdminLoginForm

reporting_patterns = (
    [
        path("", reporting.worklist, name="worklist"),
        path("critical/", critical.critical_list, name="critical"),
        path("critical/<int:pk>/", critical.critical_record, name="critical_record"),
        path("procedures/<int:procedure_id>/", reporting.editor, name="editor"),
        path("procedures/<int:procedure_id>/versions/", reporting.versions, name="versions"),
        path("procedures/<int:procedure_id>/versions/<int:number>/", reporting.versions, name="version"),
        path("procedures/<int:procedure_id>/report.pdf", reporting.version_pdf, name="pdf"),
        path(
            "procedures/<int:procedure_id>/versions/<int:number>/report.pdf", reporting.version_pdf, name="version_pdf"
        ),
    ],
    "reporting",
)

console_patterns = (
    [
        path("", console.console_home, name="home"),
        path("inbound/", console.inbound_list, name="inbound"),
        path("inbound/<int:pk>/", console.inbound_detail, name="inbound_detail"),
        path("inbound/<int:pk>/reprocess/", console.inbound_reprocess, name="inbound_reprocess"),
        path("outbound/", console.outbound_list, name="outbound"),
        path("outbound/resend-dead/", console.outbound_resend_dead, name="outbound_resend_dead"),
        path("outbound/<int:pk>/", console.outbound_detail, name="outbound_detail"),
        path("outbound/<int:pk>/resend/", console.outbound_resend, name="outbound_resend"),
        path("<str:kind>/", console.config_list, name="config_list"),
        path("<str:kind>/new/", console.config_edit, name="config_new"),
        path("<str:kind>/<int:pk>/", console.config_edit, name="config_edit"),
        path("<str:kind>/<int:pk>/delete/", console.config_remove, name="config_remove"),
    ],
    "console",
)

urlpatterns = [
    path("", home.home, name="home"),
    path("login/", access.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("no-role/", login_required(TemplateView.as_view(template_name="web/no_role.html")), name="no_role"),
    path("orders/", orders.order_queue, name="order_queue"),
    path("orders/new/", orders.order_entry, name="order_entry"),
    path("orders/filters/", orders.saved_filter_save, name="saved_filter_save"),
    path("orders/filters/<int:pk>/delete/", orders.saved_filter_delete, name="saved_filter_delete"),
    path("steps/<int:pk>/book/", orders.step_book, name="step_book"),
    path("steps/<int:pk>/cancel/", orders.step_lifecycle, {"action": "cancel"}, name="step_cancel"),
    path("steps/<int:pk>/unbook/", orders.step_lifecycle, {"action": "unbook"}, name="step_unbook"),
    path("steps/<int:pk>/no-show/", orders.step_lifecycle, {"action": "no-show"}, name="step_no_show"),
    path("vetting/", safety.vetting_queue, name="vetting_queue"),
    path("vetting/orders/<int:pk>/", safety.vetting_decide, name="vetting_decide"),
    path("orders/<int:pk>/screening/", safety.screening, name="screening"),
    path("safety-alerts/<int:pk>/acknowledge/", safety.safety_alert_ack, name="safety_alert_ack"),
    path("calendar/", calendar.calendar_page, name="calendar"),
    path("calendar/resources/", calendar.calendar_resources, name="calendar_resources"),
    path("calendar/to-book/", calendar.calendar_to_book, name="calendar_to_book"),
    path("calendar/events/", calendar.calendar_events, name="calendar_events"),
    path("calendar/book/", calendar.calendar_book, name="calendar_book"),
    path("calendar/appointments/<int:pk>/move/", calendar.calendar_move, name="calendar_move"),
    path("calendar/appointments/<int:pk>/resize/", calendar.calendar_resize, name="calendar_resize"),
    path("board/", board.board_page, name="board"),
    path("board/rows/", board.board_rows, name="board_rows"),
    path("board/steps/<int:pk>/status/", board.board_step_status, name="board_step_status"),
    path("board/steps/<int:pk>/started/", board.board_step_started, name="board_step_started"),
    path("turnaround/", turnaround.turnaround_page, name="turnaround"),
    path("patients/", patients.patient_search, name="patient_search"),
    path("patients/<int:pk>/", patients.patient_page, name="patient"),
    path("patients/<int:pk>/edit/", patients.patient_edit_page, name="patient_edit"),
    path("patients/<int:pk>/merge/", patients.patient_merge_page, name="patient_merge"),
    path("patients/<int:pk>/merges/<int:merge_pk>/undo/", patients.patient_unmerge_page, name="patient_unmerge"),
    path(
        "messages/",
        access.door_page("view_messages", hl7_views.message_log, search="message log"),
        name="message_log",
    ),
    path("messages/<int:pk>/", access.door_page("view_messages", hl7_views.message_detail), name="message_detail"),
    path("modalities/", access.door_page("view_messages", worklist_views.modalities), name="modalities"),
    path("account/tokens/", tokens.token_list, name="token_list"),
    path("dose/", dose.dose_home, name="dose_home"),
    path("dose/table.csv", dose.dose_table_csv, name="dose_table_csv"),
    path("dose/observations.json", dose.dose_table_fhir, name="dose_table_fhir"),
    path("research-export/", dose.research_export_page, name="research_export"),
    path("audit/", audit.audit_log, name="audit_log"),
    path("audit/export.csv", audit.audit_export, name="audit_export"),
    path("audit/export.xml", audit.audit_export_atna, name="audit_export_atna"),
    path("reconciliation/", reconciliation.workbench, name="reconciliation"),
    path(
        "reconciliation/<int:pk>/<str:action>/",
        reconciliation.resolve,
        name="reconciliation_resolve",
    ),
    path("console/", include(console_patterns)),
    path("i18n/", include("django.conf.urls.i18n")),
    path("administration/users/", administration.user_list, name="admin_users"),
    path("administration/users/new/", administration.user_edit, name="admin_user_new"),
    path("administration/users/<int:pk>/", administration.user_edit, name="admin_user_edit"),
    path("administration/users/<int:pk>/password/", administration.user_password, name="admin_user_password"),
    path("administration/users/<int:pk>/active/", administration.user_active, name="admin_user_active"),
    path("administration/roles/", administration.role_list, name="admin_roles"),
    path("administration/roles/<int:pk>/", administration.role_edit, name="admin_role_edit"),
    path("manage/rooms/", resources.room_list, name="admin_rooms"),
    path("manage/rooms/<int:pk>/hours/", resources.room_week, name="admin_room_week"),
    path("manage/<str:kind>/", resources.resource_list, name="resource_list"),
    path("manage/<str:kind>/new/", resources.resource_edit, name="resource_new"),
    path("manage/<str:kind>/<int:pk>/", resources.resource_edit, name="resource_edit"),
    path("manage/<str:kind>/<int:pk>/delete/", resources.resource_delete, name="resource_delete"),
    path("api/", include("web.api.urls")),
    path("admin/", admin.site.urls),
    path("fhir/", include("fhir.urls")),
    path("reporting/", include(reporting_patterns)),
]
if settings.RIS_OIDC_ENABLED:  # sign-on through the hospital's OpenID Connect provider
    urlpatterns.append(path("oidc/", include("mozilla_django_oidc.urls")))
