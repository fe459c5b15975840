"""Domain refusals to HTTP status codes, in one place for both HTTP doors
(the pages in ris/views/ and the REST API in ris/api/)."""

from ris import exceptions as domain

HTTP_STATUS = [
    (domain.NotFound, 404),
    (domain.UnknownOrder, 404),
    (domain.InvalidInput, 400),
    (domain.DuplicateOrder, 409),
    (domain.IllegalTransition, 409),
    (domain.BookingRefused, 409),
    (domain.LoginLocked, 429),
    (domain.DomainError, 400),
]


def http_status_for(error: domain.DomainError) -> int:
    return next(code for kind, code in HTTP_STATUS if isinstance(error, kind))
