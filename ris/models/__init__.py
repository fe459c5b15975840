"""The RIS domain model. Field comments cite where a value comes from."""

from .access import ApiToken, Capability, LoginAttempt, SavedFilter, StaffProfile
from .audit import AuditEvent
from .catalogue import Procedure
from .images import AvailableInstance, Discrepancy, InstanceNotification
from .mpps import PerformedProcedureStep, QuarantinedMpps
from .orders import ImagingOrder, RequestedProcedure, ScheduledProcedureStep
from .outbound import Destination, OutboundMessage
from .patients import Patient
from .reports import Report, ReportVersion
from .scheduling import Appointment, BlockedTime, OpeningHours, Room
from .stations import Station

__all__ = [
    "ApiToken",
    "Appointment",
    "AuditEvent",
    "AvailableInstance",
    "BlockedTime",
    "Capability",
    "Destination",
    "Discrepancy",
    "ImagingOrder",
    "InstanceNotification",
    "LoginAttempt",
    "OpeningHours",
    "OutboundMessage",
    "Patient",
    "PerformedProcedureStep",
    "Procedure",
    "QuarantinedMpps",
    "Report",
    "ReportVersion",
    "RequestedProcedure",
    "Room",
    "SavedFilter",
    "ScheduledProcedureStep",
    "StaffProfile",
    "Station",
]
