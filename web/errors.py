"""Refusals to HTTP, in one place for every HTTP door: the pages, the REST API
and the FHIR read API.

`REFUSALS` gives each kind of refusal its HTTP status and a reason; the first
row the exception is an instance of answers. The reasons are FHIR issue types
(R4 valueset-issue-type), which the FHIR API shows as the issue's `code`.

The REST API answers 400 as DRF's validation errors do (each input at fault
with its messages, `non_field_errors` for the whole body), whichever layer
found the fault, and every other refusal as `{"error", "detail"[, "field"]}`.
The FHIR views (`errors_as_operation_outcome`) answer an OperationOutcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import set_rollback

from fhir.builders import operation_outcome
from ris import exceptions as domain

REFUSALS: list[tuple[type[Exception], int, str]] = [
    # The domain's refusals.
    (domain.NotFound, 404, "not-found"),
    (domain.UnknownOrder, 404, "not-found"),
    (domain.InvalidInput, 400, "invalid"),
    (domain.DuplicateOrder, 409, "duplicate"),
    (domain.IllegalTransition, 409, "conflict"),
    (domain.BookingRefused, 409, "business-rule"),
    (domain.StillInUse, 409, "conflict"),
    (domain.ReadingLocked, 409, "lock-error"),
    (domain.LoginLocked, 429, "throttled"),
    (domain.OverrideNotAllowed, 403, "forbidden"),
    (domain.DomainError, 400, "invalid"),
    # HTTP's own, raised by DRF; DRF sets their status per view (a missing
    # login is 401 where an authenticator asks for credentials, else 403).
    (drf.NotAuthenticated, 401, "login"),
    (drf.AuthenticationFailed, 401, "login"),
    (drf.PermissionDenied, 403, "forbidden"),
    (drf.NotFound, 404, "not-found"),
    (drf.MethodNotAllowed, 405, "not-supported"),
    (drf.NotAcceptable, 406, "not-supported"),
    (drf.UnsupportedMediaType, 415, "not-supported"),
    (drf.Throttled, 429, "throttled"),
    (drf.ValidationError, 400, "invalid"),
    (drf.ParseError, 400, "invalid"),
    (drf.APIException, 500, "exception"),
]

Refusable = domain.DomainError | drf.APIException


@dataclass(frozen=True)
class Refusal:
    """What an HTTP door answers to one refused request."""

    status: int  # the HTTP status code
    reason: str  # a FHIR issue type: "invalid", "conflict", "not-found"...
    error: str  # the refusal's name, for programs: "RoomFull", "NotFound"
    detail: str  # the sentence for people
    field: str = ""  # the input at fault, when one is


def refusal_for(exc: Refusable) -> Refusal:
    status, reason = next((status, reason) for kind, status, reason in REFUSALS if isinstance(exc, kind))
    if isinstance(exc, drf.APIException):
        return Refusal(exc.status_code, reason, type(exc).__name__, _text(exc.detail))
    return Refusal(status, reason, type(exc).__name__, str(exc), getattr(exc, "field", ""))


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's exception handler for the REST and FHIR APIs (settings REST_FRAMEWORK)."""
    exc = _as_drf(exc)
    if not isinstance(exc, Refusable):
        return None  # a fault, not a refusal: Django answers 500 and logs it
    set_rollback()
    refusal = refusal_for(exc)
    if getattr(context.get("view"), "errors_as_operation_outcome", False):
        body: Any = operation_outcome(refusal.reason, refusal.detail)
    else:
        body = _api_body(exc, refusal)
    return Response(body, status=refusal.status, headers=_headers(exc))


def _as_drf(exc: Exception) -> Exception:
    """Django's 404 and 403 as DRF's, as DRF's own handler does."""
    if isinstance(exc, Http404):
        return drf.NotFound(*exc.args)
    if isinstance(exc, DjangoPermissionDenied):
        return drf.PermissionDenied(*exc.args)
    return exc


def _api_body(exc: Refusable, refusal: Refusal) -> Any:
    if isinstance(exc, drf.ValidationError):
        return exc.detail if isinstance(exc.detail, dict) else {api_settings.NON_FIELD_ERRORS_KEY: exc.detail}
    if refusal.status == 400:
        return {refusal.field or api_settings.NON_FIELD_ERRORS_KEY: [refusal.detail]}
    body = {"error": refusal.error, "detail": refusal.detail}
    return {**body, "field": refusal.field} if refusal.field else body


def _headers(exc: Refusable) -> dict[str, str]:
    headers: dict[str, str] = {}
    if isinstance(exc, drf.APIException):
        if authenticate := getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = authenticate
        if wait := getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(wait))
    return headers


def _text(detail: Any) -> str:
    """DRF's detail (a string, or lists and dicts of them) as one sentence."""
    if isinstance(detail, dict):
        return "; ".join(f"{name}: {_text(value)}" for name, value in detail.items())
    if isinstance(detail, list):
        return "; ".join(_text(item) for item in detail)
    return str(detail)
