"""The RIS domain model. Field comments cite where a value comes from."""
from .messages import InboundMessage
from .mpps import PerformedProcedureStep
from .outbound import Destination, OutboundMessage
from .orders import ImagingOrder, RequestedProcedure, ScheduledProcedureStep
from .patients import Patient
from .reports import Report, ReportVersion
from .stations import Station

__all__ = [
    "Destination",
    "OutboundMessage",
    "PerformedProcedureStep",
    "ImagingOrder",
    "InboundMessage",
    "Patient",
    "Report",
    "ReportVersion",
    "RequestedProcedure",
    "ScheduledProcedureStep",
    "Station",
]
