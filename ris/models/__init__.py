"""The RIS domain model. Field comments cite where a value comes from."""
from .messages import InboundMessage
from .modalities import ModalityAE, WorklistQueryLog
from .orders import ImagingOrder, RequestedProcedure, ScheduledProcedureStep
from .patients import Patient
from .stations import Station

__all__ = [
    "ImagingOrder",
    "InboundMessage",
    "ModalityAE",
    "Patient",
    "RequestedProcedure",
    "ScheduledProcedureStep",
    "Station",
    "WorklistQueryLog",
]
