"""The resource types the read API serves: which rows, how to find one, how to render it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db.models import Model, Q, QuerySet

from fhir import builders
from ris.models import ImagingOrder, Patient, Report, RequestedProcedure
from ris.states import ReportStatus

M = TypeVar("M", bound=Model)


def local_ref(kind: str, row: Any) -> str:
    """A reference on this server: `Type/id` (a report's id is its stable uid)."""
    return f"{kind}/{row.uid}" if kind == "DiagnosticReport" else f"{kind}/{row.pk}"


@dataclass(frozen=True)
class Kind(Generic[M]):
    name: str
    rows: Callable[[], QuerySet[M]]
    to_resource: Callable[[M], dict[str, Any]]
    id_field: str = "pk"
    patient: Callable[[Any], Patient] = lambda row: row.order.patient  # whose data a row shows

    def patient_of(self, row: object) -> Patient:
        return self.patient(row)

    def render(self, row: M) -> dict[str, Any]:
        return self.to_resource(row)

    def find(self, resource_id: str) -> M | None:
        if not _valid_id(self.id_field, resource_id):
            return None
        return self.rows().filter(**{self.id_field: resource_id}).first()

    def search(self, where: Q, *, ids: list[str]) -> QuerySet[M]:
        rows = self.rows().filter(where)
        for value in ids:
            wanted = [i for i in value.split(",") if _valid_id(self.id_field, i)]
            rows = rows.filter(**{f"{self.id_field}__in": wanted})
        return rows.distinct().order_by("pk")


def _valid_id(field: str, value: str) -> bool:
    if field == "pk":
        return value.isdigit()
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _report(report: Report) -> dict[str, Any]:
    version = report.latest_signed()
    if version is None:  # a report past DRAFT has a signed version
        raise ValueError(f"report {report.uid} has no signed version")
    return builders.diagnostic_report_resource(version, local_ref)


KINDS: dict[str, Kind[Any]] = {
    kind.name: kind
    for kind in (
        Kind(
            "Patient",
            lambda: Patient.objects.all(),
            lambda row: builders.patient_resource(row, local_ref),
            patient=lambda row: row,
        ),
        Kind(
            "ServiceRequest",
            lambda: ImagingOrder.objects.select_related("patient"),
            lambda row: builders.service_request_resource(row, local_ref),
            patient=lambda row: row.patient,
        ),
        Kind(
            "ImagingStudy",
            lambda: RequestedProcedure.objects.select_related("order__patient"),
            lambda row: builders.imaging_study_resource(row, local_ref),
        ),
        Kind(
            "DiagnosticReport",
            lambda: Report.objects.exclude(status=ReportStatus.DRAFT).select_related("order__patient", "procedure"),
            _report,
            id_field="uid",
        ),
    )
}
