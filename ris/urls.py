from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from django.views.generic import TemplateView

from ris import health
from ris.views import access, audit, board, calendar, home, messages, modalities, orders, patients, resources

admin.site.login_form = access.ThrottledAdminLoginForm

urlpatterns = [
    path("", home.home, name="home"),
    path("login/", access.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("no-role/", login_required(TemplateView.as_view(template_name="ris/no_role.html")), name="no_role"),
    path("orders/", orders.order_queue, name="order_queue"),
    path("orders/new/", orders.order_entry, name="order_entry"),
    path("orders/filters/", orders.saved_filter_save, name="saved_filter_save"),
    path("orders/filters/<int:pk>/delete/", orders.saved_filter_delete, name="saved_filter_delete"),
    path("steps/<int:pk>/book/", orders.step_book, name="step_book"),
    path("calendar/", calendar.calendar_page, name="calendar"),
    path("calendar/resources/", calendar.calendar_resources, name="calendar_resources"),
    path("calendar/events/", calendar.calendar_events, name="calendar_events"),
    path("calendar/book/", calendar.calendar_book, name="calendar_book"),
    path("calendar/appointments/<int:pk>/move/", calendar.calendar_move, name="calendar_move"),
    path("calendar/appointments/<int:pk>/resize/", calendar.calendar_resize, name="calendar_resize"),
    path("board/", board.board_page, name="board"),
    path("board/rows/", board.board_rows, name="board_rows"),
    path("board/steps/<int:pk>/status/", board.board_step_status, name="board_step_status"),
    path("patients/", patients.patient_search, name="patient_search"),
    path("patients/<int:pk>/", patients.patient_page, name="patient"),
    path("messages/", messages.message_log, name="message_log"),
    path("messages/<int:pk>/", messages.message_detail, name="message_detail"),
    path("modalities/", modalities.modalities, name="modalities"),
    path("audit/", audit.audit_log, name="audit_log"),
    path("audit/export.csv", audit.audit_export, name="audit_export"),
    path("manage/<str:kind>/", resources.resource_list, name="resource_list"),
    path("manage/<str:kind>/new/", resources.resource_edit, name="resource_new"),
    path("manage/<str:kind>/<int:pk>/", resources.resource_edit, name="resource_edit"),
    path("manage/<str:kind>/<int:pk>/delete/", resources.resource_delete, name="resource_delete"),
    path("api/", include("ris.api.urls")),
    path("admin/", admin.site.urls),
    path("health/live", health.live, name="health-live"),
    path("health/ready", health.ready, name="health-ready"),
    path("metrics", health.metrics, name="metrics"),
    path("fhir/", include("fhir.urls")),
    path("reporting/", include("ris.reporting.urls")),
]
