"""Reads for the administration of rooms: what blocking time would hit."""

import datetime as dt

from django.db.models import QuerySet

from ris.models import Appointment, Room
from ris.states import StepStatus


def bookings_in(room: Room, start: dt.datetime, end: dt.datetime) -> QuerySet[Appointment]:
    """The live bookings of a room that overlap [start, end)."""
    return (
        Appointment.objects.filter(room=room, start__lt=end, end__gt=start)
        .exclude(step__status__in=StepStatus.STOPPED)
        .select_related("patient", "step__requested_procedure__order")
        .order_by("start")
    )
