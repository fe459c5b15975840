"""The RIS domain model. Field comments cite where a value comes from."""
from .access import Capability, LoginAttempt, SavedFilter
from .audit import AuditEvent
from .catalogue import Procedure
from .messages import InboundMessage
from .orders import ImagingOrder, RequestedProcedure, ScheduledProcedureStep
from .patients import Patient
from .scheduling import Appointment, BlockedTime, OpeningHours, Room
from .stations import Station

__all__ = [
    "Appointment",
    "AuditEvent",
    "BlockedTime",
    "Capability",
    "ImagingOrder",
    "InboundMessage",
    "LoginAttempt",
    "OpeningHours",
    "Patient",
    "Procedure",
    "RequestedProcedure",
    "Room",
    "SavedFilter",
    "ScheduledProcedureStep",
    "Station",
]
