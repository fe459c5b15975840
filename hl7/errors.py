"""HL7 errors and the one place where domain errors become ERR codes."""

from typing import NamedTuple

from ris import exceptions

# HL7 2.5.1 table 0357, message error condition codes
SEGMENT_SEQUENCE_ERROR = 100
REQUIRED_FIELD_MISSING = 101
DATA_TYPE_ERROR = 102
TABLE_VALUE_NOT_FOUND = 103
UNSUPPORTED_MESSAGE_TYPE = 200
UNSUPPORTED_EVENT_CODE = 201
UNSUPPORTED_PROCESSING_ID = 202
UNSUPPORTED_VERSION_ID = 203
UNKNOWN_KEY_IDENTIFIER = 204
DUPLICATE_KEY_IDENTIFIER = 205
APPLICATION_RECORD_LOCKED = 206
APPLICATION_INTERNAL_ERROR = 207

# HL7 2.5.1 ch. 2.9: AR for what the receiver cannot take at all (type, event,
# processing ID, version, or the system being unavailable), AE for content errors.
_REJECT_CODES = {
    UNSUPPORTED_MESSAGE_TYPE,
    UNSUPPORTED_EVENT_CODE,
    UNSUPPORTED_PROCESSING_ID,
    UNSUPPORTED_VERSION_ID,
    APPLICATION_INTERNAL_ERROR,
}


class Location(NamedTuple):
    """ERR-2 error location: segment ID, sequence, field, component. A
    tuple: the readers make one for each value they may refuse, before
    knowing whether they will."""

    segment: str = ""
    sequence: int = 1
    field: int = 0
    component: int = 0


class HL7Error(Exception):
    def __init__(self, code: int, text: str, location: Location | None = None, severity: str = "E", ack_code: str = ""):
        super().__init__(text)
        self._ack_code = ack_code
        self.code = code
        self.text = text
        self.location = location or Location()
        self.severity = severity

    @property
    def ack_code(self) -> str:
        if self._ack_code:
            return self._ack_code
        return "AR" if self.code in _REJECT_CODES else "AE"


# Where a domain field comes from, for ERR-2 when the domain refuses it.
_FIELD_LOCATIONS = {
    "patient_id": Location("PID", 1, 3, 1),
    "modality": Location("OBR", 1, 24),
    "prior_patient_id": Location("MRG", 1, 1, 1),
    "placer_number": Location("ORC", 1, 2),
    "accession_number": Location("OBR", 1, 18),
    "study_instance_uid": Location("ZDS", 1, 1),
}


def from_domain(exc: exceptions.DomainError, location: Location | None = None) -> HL7Error:
    """Map a refusal of the domain to its HL7 error code."""
    if isinstance(exc, exceptions.UnknownSender):  # not content: the sender is not accepted at all
        return HL7Error(UNKNOWN_KEY_IDENTIFIER, str(exc), location or Location("MSH", 1, 3), ack_code="AR")
    if isinstance(exc, (exceptions.InvalidInput, exceptions.DuplicateOrder, exceptions.UnknownPatient)):
        location = location or _FIELD_LOCATIONS.get(exc.field)
    if isinstance(exc, exceptions.UnknownPatient):  # a merged identifier too: it is no patient's key now
        code = UNKNOWN_KEY_IDENTIFIER
    elif isinstance(exc, exceptions.UnknownOrder):
        code = UNKNOWN_KEY_IDENTIFIER
        location = location or Location("ORC", 1, 2)  # ORC-2/ORC-3 name the order
    elif isinstance(exc, (exceptions.DuplicateOrder, exceptions.DuplicatePatient)):
        code = DUPLICATE_KEY_IDENTIFIER
    elif isinstance(exc, exceptions.InvalidInput):
        code = REQUIRED_FIELD_MISSING
    else:  # an illegal status change is a content error: AE, not AR
        return HL7Error(APPLICATION_INTERNAL_ERROR, str(exc), location, ack_code="AE")
    return HL7Error(code, str(exc), location)
