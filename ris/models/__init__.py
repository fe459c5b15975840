"""The RIS domain model. Field comments cite where a value comes from."""
from .catalogue import CatalogueProcedure
from .messages import InboundMessage
from .orders import ImagingOrder, RequestedProcedure, ScheduledProcedureStep
from .patients import Patient
from .senders import HL7Sender, SenderStationRule
from .stations import Station

__all__ = [
    "CatalogueProcedure",
    "HL7Sender",
    "ImagingOrder",
    "InboundMessage",
    "Patient",
    "RequestedProcedure",
    "ScheduledProcedureStep",
    "SenderStationRule",
    "Station",
]
