"""The modality registry as the worklist door sees it: one read per calling
AE per `RIS_DICOM_REGISTRY_TTL` (cached in the process, dropped at once on
any change of a modality AE or a station here), query log rows in batches."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypedDict

from django.conf import settings

from ris.models import Station
from ris.records import Actor, PerformedStepSender
from ris.services.configuration import config_save
from worklist.models import UTF8, ModalityAE, WorklistQueryLog


@dataclass(frozen=True)
class ModalityPolicy:
    """What the registry says about a calling AE title."""

    ae_title: str
    registered_id: int | None = None
    allowed: bool = True
    character_set: str = ""
    # The station AE titles its queries are limited to when they name none.
    own_station_ae_titles: tuple[str, ...] | None = None

    @property
    def is_known(self) -> bool:
        return self.registered_id is not None


class _Row(TypedDict):
    """A modality AE with one of its stations, as `.values()` gives it."""

    pk: int
    allowed: bool
    character_set: str
    own_worklist_when_unspecified: bool
    stations__ae_title: str  # None from the LEFT JOIN when the AE has no station


_cache: dict[str, tuple[float, ModalityPolicy]] = {}
_cache_lock = threading.Lock()


def cached_modality_policy(*, ae_title: str) -> ModalityPolicy:
    """`modality_policy`, from this process's cache while it is fresh.

    Several listener processes each keep their own: a change made in another
    process (the admin, another listener) is seen within the TTL; one made in
    this process at once (`forget_policies`, on the models' signals)."""
    key, now = ae_title.strip(), time.monotonic()
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None and now - hit[0] < settings.RIS_DICOM_REGISTRY_TTL:
        return hit[1]
    policy = modality_policy(ae_title=key)
    with _cache_lock:
        _cache[key] = (now, policy)
    return policy


def forget_policies(**_: object) -> None:
    """Signal receiver: a modality AE, a station or their links changed."""
    with _cache_lock:
        _cache.clear()


def modality_policy(*, ae_title: str) -> ModalityPolicy:
    """One query: the AE and its stations (a LEFT JOIN, one row per station)."""
    rows = list(
        ModalityAE.objects.filter(ae_title=ae_title.strip()).values(
            "pk", "allowed", "character_set", "own_worklist_when_unspecified", "stations__ae_title"
        )
    )
    if not rows:
        refuse = settings.RIS_MWL_REFUSE_UNKNOWN_AE
        return ModalityPolicy(ae_title, allowed=not refuse, character_set=settings.RIS_MWL_CHARACTER_SET)
    return _policy_of(ae_title.strip(), rows)


def _policy_of(ae_title: str, rows: Sequence[_Row]) -> ModalityPolicy:
    first = rows[0]
    stations = tuple(row["stations__ae_title"] for row in rows if row["stations__ae_title"])
    own = (stations or (ae_title,)) if first["own_worklist_when_unspecified"] else None
    return ModalityPolicy(ae_title, first["pk"], first["allowed"], first["character_set"], own_station_ae_titles=own)


@dataclass(frozen=True)
class MppsPolicy:
    """What the registry says about the sender of an MPPS operation."""

    sender: PerformedStepSender
    # Not in a registry that has entries: its MPPS are quarantined, not applied.
    # An empty registry (a fresh installation) quarantines nothing.
    quarantined: bool = False


def mpps_policy(*, ae_title: str) -> MppsPolicy:
    """One query for a registered AE (its stations by a LEFT JOIN), one more
    for an unknown one (is the registry empty?)."""
    title = ae_title.strip()
    rows = list(ModalityAE.objects.filter(ae_title=title).values("may_change_any_mpps", "stations__ae_title"))
    if not rows:
        return MppsPolicy(PerformedStepSender(title), quarantined=ModalityAE.objects.exists())
    stations = frozenset(row["stations__ae_title"] for row in rows if row["stations__ae_title"])
    return MppsPolicy(PerformedStepSender(title, rows[0]["may_change_any_mpps"], stations))


def worklist_query_record(
    *, policy: ModalityPolicy, at: dt.datetime, keys: str, items_returned: int, duration_ms: float, status: int
) -> None:
    """The query log: one INSERT, nothing read back."""
    query_log_row(
        policy=policy, at=at, keys=keys, items_returned=items_returned, duration_ms=duration_ms, status=status
    ).save()


def query_log_row(
    *, policy: ModalityPolicy, at: dt.datetime, keys: str, items_returned: int, duration_ms: float, status: int
) -> WorklistQueryLog:
    return WorklistQueryLog(
        at=at,
        calling_ae_title=policy.ae_title[:16],
        modality_ae_id=policy.registered_id,
        keys=keys,
        items_returned=items_returned,
        duration_ms=duration_ms,
        status=f"{status:04X}",
    )


def query_log_write(rows: Sequence[WorklistQueryLog]) -> None:
    """Many query log rows in one INSERT."""
    WorklistQueryLog.objects.bulk_create(rows)


def modality_register(
    *,
    ae_title: str,
    actor: Actor,
    allowed: bool = True,
    character_set: str = UTF8,
    own_worklist_when_unspecified: bool = True,
    station_ae_titles: tuple[str, ...] = (),
    may_change_any_mpps: bool = False,
) -> ModalityAE:
    """Add a modality to the registry (the admin does the same by hand)."""
    modality_ae = ModalityAE(
        ae_title=ae_title,
        allowed=allowed,
        character_set=character_set,
        own_worklist_when_unspecified=own_worklist_when_unspecified,
        may_change_any_mpps=may_change_any_mpps,
    )

    def set_stations() -> None:
        modality_ae.stations.set(Station.objects.filter(ae_title__in=station_ae_titles))

    config_save(actor=actor, row=modality_ae, save_related=set_stations)
    return modality_ae
