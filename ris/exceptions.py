"""Errors of the domain. Each door maps them to its wire in one place
(hl7/errors.py for HL7 ERR codes, worklist/ for DICOM statuses)."""


class DomainError(Exception):
    """Base of every refusal the domain makes on purpose."""


class InvalidInput(DomainError):
    """A value the domain cannot accept (missing identifier, bad date...)."""

    def __init__(self, message: str, *, field: str = ""):
        super().__init__(message)
        self.field = field


class UnknownOrder(DomainError):
    pass


class DuplicateOrder(DomainError):
    def __init__(self, message: str, *, field: str = ""):
        super().__init__(message)
        self.field = field  # which identifier is taken


class IllegalTransition(DomainError):
    pass


class UnknownSender(DomainError):
    """A sending application not in the configured list."""
