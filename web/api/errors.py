"""DRF's exception handler, extended: a domain refusal becomes its 4xx with the reason."""

from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from ris.exceptions import DomainError
from web.errors import http_status_for


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        body = {"error": type(exc).__name__, "detail": str(exc)}
        if getattr(exc, "field", ""):
            body["field"] = exc.field
        return Response(body, status=http_status_for(exc))
    return drf_exception_handler(exc, context)
