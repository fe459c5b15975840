"""Appointment notifications (IHE RAD-48): each change of a booking queued
for the systems that list the "appointment" event (Destination.OPT_IN_EVENTS),
in the transaction of the change.

The event records the booking as it is at the change (room, start, end),
so a cancelled booking, whose row may be gone, is told with its times, and
messages built later still tell each change in turn. The HL7 door builds
SIU^S12..S26 from it (hl7/write_siu.py).
"""

from __future__ import annotations

from ris.models import Appointment
from ris.services.outbox import outbox_enqueue

APPOINTMENT_EVENT = "appointment"

# What happened to a booking; the names are HL7's SIU trigger events (2.5.1 ch. 10),
# the vocabulary IHE RAD-48 uses for them.
BOOKED = "S12"  # new appointment
RESCHEDULED = "S13"  # moved to another time or room
MODIFIED = "S14"  # changed otherwise (its length)
CANCELLED = "S15"  # unbooked, or its exam cancelled
NO_SHOW = "S26"  # the patient did not come


def appointment_notify(appointment: Appointment, change: str) -> None:
    step = appointment.step
    order = step.requested_procedure.order
    context = {
        "change": change,
        "appointment_id": appointment.pk,
        "step_id": step.pk,
        "room": appointment.room.code,
        "start": appointment.start.isoformat(),
        "end": appointment.end.isoformat(),
    }
    outbox_enqueue(event=APPOINTMENT_EVENT, context=context, order=order)
