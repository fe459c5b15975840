"""Errors of the domain. Each door maps them to its wire in one place
(hl7/errors.py for HL7 ERR codes, worklist/ for DICOM statuses)."""


class DomainError(Exception):
    """Base of every refusal the domain makes on purpose."""


class InvalidInput(DomainError):
    """A value the domain cannot accept (missing identifier, bad date...)."""

    def __init__(self, message: str, *, field: str = ""):
        super().__init__(message)
        self.field = field


class DuplicatePatient(InvalidInput):
    """A person registers a patient whose identifier and issuer are taken."""

    def __init__(self, message: str, *, patient: object = None):
        super().__init__(message, field="patient_id")
        self.patient = patient  # the patient who has that identifier


class UnknownOrder(DomainError):
    pass


class UnknownPatient(DomainError):
    """No patient has the identifier a message names (e.g. ADT A47's MRG-1)."""

    def __init__(self, message: str, *, field: str = "patient_id"):
        super().__init__(message)
        self.field = field


class MergedPatient(UnknownPatient):
    """A sender names an identifier merged into another patient: it is no
    longer a key of any patient (HL7 table 0357 code 204)."""


class DuplicateOrder(DomainError):
    def __init__(self, message: str, *, field: str = ""):
        super().__init__(message)
        self.field = field  # which identifier is taken


class IllegalTransition(DomainError):
    pass


class DuplicatePerformedStep(DomainError):
    """An MPPS instance with this SOP Instance UID already exists."""


class UnknownPerformedStep(DomainError):
    """No MPPS instance has this SOP Instance UID."""


class PerformedStepNotYours(DomainError):
    """The MPPS was created by another AE, and the sender may not change it."""


class PerformedStepFinal(DomainError):
    """The MPPS is COMPLETED or DISCONTINUED and can no longer change."""


class InvalidStatus(DomainError):
    """A status value the operation does not accept (e.g. MPPS created not IN PROGRESS)."""


class FieldsNotModifiable(DomainError):
    """Values that were fixed at creation were sent with a different value."""

    def __init__(self, message: str, *, fields: list[str]):
        super().__init__(message)
        self.fields = fields


class FieldsMissing(DomainError):
    """Values required for the requested state are empty."""

    def __init__(self, message: str, *, fields: list[str]):
        super().__init__(message)
        self.fields = fields


class NotFound(DomainError):
    """A referenced row (room, step, appointment...) does not exist."""


class LoginLocked(DomainError):
    """Too many failed logins for this user name or address; try later."""


class StillInUse(DomainError):
    """A configuration row others still point at (a room with bookings) is not deleted."""


class BookingRefused(DomainError):
    """A booking, move or resize breaks a scheduling rule; the message says which."""


class RoomClosed(BookingRefused):
    pass


class RoomBlocked(BookingRefused):
    pass


class RoomFull(BookingRefused):
    pass


class PatientDoubleBooked(BookingRefused):
    pass


class ProcedureNotPossibleInRoom(BookingRefused):
    pass


class StepNotBookable(BookingRefused):
    pass


class BookingInPast(BookingRefused):
    pass


class OrderNotVetted(StepNotBookable):
    """The order waits for vetting (or was returned for information): not bookable yet."""


class SafetyRuleBroken(BookingRefused):
    """A booking or a start breaks a safety screening rule; an override with a reason may allow it."""

    def __init__(self, message: str, *, rules: list[str] | None = None):
        super().__init__(message)
        self.rules = rules or []


class OverrideNotAllowed(DomainError):
    """An override of a safety rule by someone without the capability to override."""


class UnknownSender(DomainError):
    """A sending application not in the configured list."""


class ReadingLocked(DomainError):
    """Another radiologist holds the exam's reading lock; it is taken over only explicitly."""

    def __init__(self, message: str, *, holder: str, since: object):
        super().__init__(message)
        self.holder = holder  # the holder's name as people see it
        self.since = since  # an aware datetime


class DoseReportConflict(DomainError):
    """A dose report with this SOP Instance UID is stored already, with other content."""
