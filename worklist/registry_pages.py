"""The modality registry with what each AE last asked (one query each)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, TypedDict

from django.db.models import OuterRef, QuerySet, Subquery

from worklist.models import ModalityAE, WorklistQueryLog

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


class LastQuery(TypedDict):
    """What an AE last asked, from the query log (None: never asked)."""

    last_query_at: dt.datetime | None
    last_query_items: int | None
    last_query_ms: float | None


def modality_aes_with_last_query() -> QuerySet[WithAnnotations[ModalityAE, LastQuery]]:
    latest = WorklistQueryLog.objects.filter(calling_ae_title=OuterRef("ae_title")).order_by("-at")
    return ModalityAE.objects.prefetch_related("stations").annotate(
        last_query_at=Subquery(latest.values("at")[:1]),
        last_query_items=Subquery(latest.values("items_returned")[:1]),
        last_query_ms=Subquery(latest.values("duration_ms")[:1]),
    )


def worklist_queries_latest(limit: int = 50) -> QuerySet[WorklistQueryLog]:
    return WorklistQueryLog.objects.order_by("-at")[:limit]
