"""The escalation of a critical result nobody acknowledged in time, as HL7.

The event "critical_overdue" (ris/services/critical_results.py) goes to
every destination that wants it: to the EHR, or to a destination kept for
alerts (a paging or notification interface listening for HL7), chosen by
the destination's event list. It is the flagged report again as ORU^R01
(OBX-8 as first sent) with an NTE that says it is overdue and since when;
its own MSH-10 per escalation, so a receiver's duplicate check keeps it.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from hl7.write_oru import CATEGORY_NOTE, load_version, oru_r01
from ris.models import CriticalResult, Destination
from ris.outbox import Built
from ris.states import CriticalCategory


def build_critical_overdue(destination: Destination, context: dict[str, Any]) -> Built:
    """The outbox builder for (HL7_MLLP, "critical_overdue")."""
    result = CriticalResult.objects.get(pk=context["critical_result_id"])
    version = load_version(context["report_version_id"])
    level = int(context["level"])
    control_id = f"C{result.pk}E{level}D{destination.pk}"
    return Built(oru_r01(version, destination, control_id, notes=(overdue_note(result, level),)), control_id)


def overdue_note(result: CriticalResult, level: int) -> str:
    due = timezone.localtime(result.due_at)
    return (
        f"{CATEGORY_NOTE[CriticalCategory(result.category)]} NOT YET COMMUNICATED: due {due:%Y-%m-%d %H:%M}, "
        f"escalation {level}; call the reporting radiologist"
    )
