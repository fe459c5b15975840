"""The RIS domain model. Field comments cite where a value comes from."""

from .access import ApiToken, Capability, LoginAttempt, SavedFilter, StaffProfile
from .audit import AuditEvent
from .catalogue import Contrast, Procedure, ProtocolCode
from .dose import DiagnosticReferenceLevel, DoseAlert, DoseQuantity, DoseReport, IrradiationEvent
from .images import AvailableInstance, Discrepancy, InstanceNotification
from .mpps import PerformedProcedureStep, QuarantinedMpps
from .orders import ImagingOrder, RequestedProcedure, ScheduledProcedureStep
from .outbound import Destination, OutboundMessage
from .patients import Patient, PatientMerge
from .reading import CriticalResult, ReadingLock, ReportTemplate
from .reports import Report, ReportVersion
from .safety import SafetyAlert, SafetyItem, SafetyRecord
from .scheduling import Appointment, BlockedTime, OpeningHours, Room
from .stations import Station

__all__ = [
    "ApiToken",
    "Appointment",
    "AuditEvent",
    "AvailableInstance",
    "BlockedTime",
    "Capability",
    "Contrast",
    "CriticalResult",
    "Destination",
    "DiagnosticReferenceLevel",
    "Discrepancy",
    "DoseAlert",
    "DoseQuantity",
    "DoseReport",
    "ImagingOrder",
    "InstanceNotification",
    "IrradiationEvent",
    "LoginAttempt",
    "OpeningHours",
    "OutboundMessage",
    "Patient",
    "PatientMerge",
    "PerformedProcedureStep",
    "Procedure",
    "ProtocolCode",
    "QuarantinedMpps",
    "ReadingLock",
    "Report",
    "ReportTemplate",
    "ReportVersion",
    "RequestedProcedure",
    "Room",
    "SafetyAlert",
    "SafetyItem",
    "SafetyRecord",
    "SavedFilter",
    "ScheduledProcedureStep",
    "StaffProfile",
    "Station",
]
