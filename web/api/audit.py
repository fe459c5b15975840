"""Reads over REST are audited like the pages': one event per list answer,
naming the patients on the page (the query is the event's request), and one
per record fetched."""

from __future__ import annotations

from typing import Any

from django.db.models import Model
from rest_framework.request import Request
from rest_framework.response import Response

from ris.actors import request_actor
from ris.models import AuditEvent, Patient
from ris.services.audit import audit_view, audit_view_many


def patient_at(row: Any, path: str) -> Patient | None:
    """The patient `path` ("order.patient"; "" for a patient itself) leads to from `row`."""
    found = row
    for name in filter(None, path.split(".")):
        found = getattr(found, name, None)
    return found if isinstance(found, Patient) else None


class AuditedReads:
    """Viewset mixin: list and retrieve record what they showed. `patient_path`
    leads from a row to its patient; None for rows that hold no patient data."""

    patient_path: str | None = None

    def paginate_queryset(self, queryset: Any) -> Any:
        page = super().paginate_queryset(queryset)  # type: ignore[misc]
        self._shown = page
        return page

    def get_object(self) -> Any:
        self._object = super().get_object()  # type: ignore[misc]
        return self._object

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """A page of records; the answer is recorded in the audit trail with the patients it showed."""
        self._shown = None
        response: Response = super().list(request, *args, **kwargs)  # type: ignore[misc]
        if self.patient_path is not None and response.status_code == 200:
            rows = self._shown if self._shown is not None else []
            audit_view_many(
                actor=request_actor(request, AuditEvent.Door.API),
                patients=[patient_at(row, self.patient_path) for row in rows],
                object_type=self._kind(),
                detail="API list",
            )
        return response

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """One record; the answer is recorded in the audit trail with its patient."""
        response: Response = super().retrieve(request, *args, **kwargs)  # type: ignore[misc]
        row: Model = self._object
        if self.patient_path is not None and response.status_code == 200:
            audit_view(
                actor=request_actor(request, AuditEvent.Door.API), patient=patient_at(row, self.patient_path), obj=row
            )
        return response

    def _kind(self) -> str:
        model = getattr(getattr(self, "queryset", None), "model", None)
        return (model._meta.model_name or "") if model is not None else ""
