"""Domain refusals to HTTP, in one place: each becomes a 4xx with its reason."""
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from ris import exceptions as domain

HTTP_STATUS = [
    (domain.NotFound, status.HTTP_404_NOT_FOUND),
    (domain.UnknownOrder, status.HTTP_404_NOT_FOUND),
    (domain.InvalidInput, status.HTTP_400_BAD_REQUEST),
    (domain.DuplicateOrder, status.HTTP_409_CONFLICT),
    (domain.IllegalTransition, status.HTTP_409_CONFLICT),
    (domain.BookingRefused, status.HTTP_409_CONFLICT),
    (domain.LoginLocked, status.HTTP_429_TOO_MANY_REQUESTS),
    (domain.DomainError, status.HTTP_400_BAD_REQUEST),
]


def http_status_for(error: domain.DomainError) -> int:
    return next(code for kind, code in HTTP_STATUS if isinstance(error, kind))


def exception_handler(exc, context):
    if isinstance(exc, domain.DomainError):
        body = {"error": type(exc).__name__, "detail": str(exc)}
        if getattr(exc, "field", ""):
            body["field"] = exc.field
        return Response(body, status=http_status_for(exc))
    return drf_exception_handler(exc, context)
