"""Roles are Django groups; each grants some capabilities (ris.models.Capability).

The data migration `ris/migrations/0002_roles.py` creates the groups with these permissions;
administrators may adjust them later in the admin.
"""

SCHEDULER = "scheduler"
TECHNOLOGIST = "technologist"
RADIOLOGIST = "radiologist"
INTEGRATION_ENGINEER = "integration engineer"
ADMINISTRATOR = "administrator"
MEDICAL_PHYSICIST = "medical physicist"

ROLE_CAPABILITIES: dict[str, set[str]] = {
    SCHEDULER: {"view_patients", "enter_orders", "book_appointments", "manage_resources", "view_status_board"},
    TECHNOLOGIST: {"view_patients", "view_status_board", "change_step_status", "record_screening", "reconcile"},
    RADIOLOGIST: {
        "view_patients",
        "view_status_board",
        "write_reports",
        "vet_orders",
        "record_screening",
        "override_safety",
    },
    INTEGRATION_ENGINEER: {"view_messages", "configure_interfaces", "reconcile"},
    MEDICAL_PHYSICIST: {"view_dose", "export_research"},
    ADMINISTRATOR: {
        "view_patients",
        "enter_orders",
        "book_appointments",
        "manage_resources",
        "view_status_board",
        "change_step_status",
        "view_messages",
        "view_audit",
        "write_reports",
        "configure_interfaces",
        "manage_users",
        "vet_orders",
        "record_screening",
        "override_safety",
        "view_dose",
        "store_dose",
        "export_research",
        "reconcile",
    },
}


def permission(capability: str) -> str:
    """The permission string Django checks: `ris.<capability>`."""
    return f"ris.{capability}"


def ensure_roles() -> None:
    """Create any missing role group with its capabilities (the migration does
    this once; tests that flush the database and `ensure_admin` call it again)."""
    from django.contrib.auth.models import Group, Permission

    for role, capabilities in ROLE_CAPABILITIES.items():
        group, created = Group.objects.get_or_create(name=role)
        if created:
            group.permissions.set(Permission.objects.filter(content_type__app_label="ris", codename__in=capabilities))
