"""The turnaround dashboard: order → booked → performed → preliminary → final, per exam."""

import datetime as dt

from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ris.selectors.turnaround import medians, report_targets, turnaround_rows
from web.access import requires

DEFAULT_DAYS = 7
LABELS = {
    "order to booked": _("order to booked"),
    "order to performed": _("order to performed"),
    "performed to preliminary": _("performed to preliminary"),
    "performed to final": _("performed to final"),
    "order to final": _("order to final"),
}


@requires("view_status_board")
def turnaround_page(request):
    days = _days(request.GET.get("days", ""))
    modality = request.GET.get("modality", "").strip().upper()[:16]
    until = timezone.now()
    rows = turnaround_rows(since=until - dt.timedelta(days=days), until=until, modality=modality)
    context = {
        "rows": rows,
        "medians": [(LABELS.get(label, label), median, n) for label, median, n in medians(rows)],
        "overdue": [r for r in rows if r.overdue],
        "days": days,
        "modality": modality,
        "targets": [(priority.label, target) for priority, target in report_targets().items()],
    }
    return render(request, "web/turnaround.html", context)


def _days(text: str) -> int:
    try:
        return min(max(int(text), 1), 90)
    except ValueError:
        return DEFAULT_DAYS
