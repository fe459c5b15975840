from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect

from ris.roles import permission

# The first page of each capability, most specific first.
START_PAGES = [
    ("book_appointments", "calendar"),
    ("change_step_status", "board"),
    ("write_reports", "reporting:worklist"),
    ("view_patients", "patient_search"),
    ("view_messages", "console:home"),
    ("manage_users", "admin_users"),
    ("view_audit", "audit_log"),
]


@login_required
def home(request):
    """Send each user to the page their role works in."""
    for capability, page in START_PAGES:
        if request.user.has_perm(permission(capability)):
            return redirect(page)
    return redirect("no_role")
