"""The roles (Django groups) with their capabilities, as ris/roles.py defines them.

The permissions are created here rather than left to post_migrate, which runs
only after every migration: the groups need them now. Administrators may
adjust the groups later in the admin.
"""

from django.db import migrations

CAPABILITIES = {
    "view_patients": "View patients, orders and exams",
    "enter_orders": "Enter orders by hand",
    "book_appointments": "Book, move and resize appointments",
    "manage_resources": "Manage rooms, opening hours, blocked time and the procedure catalogue",
    "view_status_board": "View the technologists' status board",
    "change_step_status": "Check in patients and change exam status",
    "view_messages": "View the HL7 message log",
    "view_audit": "View and export the audit log",
    "write_reports": "Write, sign, correct and add to reports",
}
ROLES = {
    "scheduler": ["view_patients", "enter_orders", "book_appointments", "manage_resources", "view_status_board"],
    "technologist": ["view_patients", "view_status_board", "change_step_status"],
    "radiologist": ["view_patients", "view_status_board", "write_reports"],
    "integration engineer": ["view_messages"],
    "administrator": list(CAPABILITIES),
}


def create_roles(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    content_type, _ = ContentType.objects.get_or_create(app_label="ris", model="capability")
    permissions = {
        codename: Permission.objects.get_or_create(
            content_type=content_type, codename=codename, defaults={"name": name}
        )[0]
        for codename, name in CAPABILITIES.items()
    }
    for role, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.add(*(permissions[c] for c in codenames))


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("ris", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
