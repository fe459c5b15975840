"""What every page's layout needs: the menu (each role's pages, its home
first) and, for those who look after the interfaces, the dead-letter alert."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ris.roles import permission
from ris.selectors.outbox import outbox_dead_letter_count

# (capability, URL name, label): the menu, in the order a day uses it.
MENU = [
    ("write_reports", "reporting:worklist", _("Reading list")),
    ("vet_orders", "vetting_queue", _("Vetting")),
    ("write_reports", "reporting:critical", _("Critical results")),
    ("view_patients", "order_queue", _("Orders")),
    ("book_appointments", "calendar", _("Calendar")),
    ("view_status_board", "board", _("Status board")),
    ("view_status_board", "turnaround", _("Turnaround")),
    ("view_patients", "patient_search", _("Patients")),
    ("enter_orders", "order_entry", _("New order")),
    ("manage_resources", "admin_rooms", _("Rooms & catalogue")),
    ("reconcile", "reconciliation", _("Reconciliation")),
    ("view_messages", "console:home", _("Integration")),
    ("manage_users", "admin_users", _("Users & roles")),
    ("view_dose", "dose_home", _("Dose")),
    ("view_audit", "audit_log", _("Audit")),
]


def layout(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    menu: list[dict[str, Any]] = [
        {"url": url, "label": label, "active": False}
        for capability, name, label in MENU
        if user.has_perm(permission(capability)) and (url := reverse(name))
    ]
    # The entry whose address is the longest start of this page's is the current one.
    current = max(
        (item for item in menu if request.path.startswith(item["url"])), key=lambda i: len(i["url"]), default=None
    )
    if current is not None:
        current["active"] = True
    context: dict[str, Any] = {"menu": menu}
    if user.has_perm(permission("configure_interfaces")):
        context["dead_letters"] = outbox_dead_letter_count()
    return context
