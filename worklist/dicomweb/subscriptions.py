"""UPS-RS subscriptions (PS3.4 CC.2.3) and which event reports each
subscriber is to receive (read by the event channel, worklist/dicomweb/events.py):
per workitem, global (every workitem), filtered (the workitems a filter
matches), suspended; kept in the database (`UpsSubscription`)."""

from __future__ import annotations

from fnmatch import fnmatchcase

from django.db.models import Q
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from worklist.dicomweb.ups import (
    CANCELED,
    COMPLETED,
    FILTERED_SUBSCRIPTION,
    GLOBAL_SUBSCRIPTION,
    UpsRefused,
    report,
    state_info,
    workitem,
    workitem_dataset,
)
from worklist.models import UpsEvent, UpsSubscription, UpsWorkitem


def ups_subscribe(uid: str, ae_title: str, *, deletion_lock: bool, filter_parameters: dict[str, str]) -> int:
    """POST …/subscribers/{aetitle} (PS3.4 CC.2.3.1): 201 when new, 200 when changed."""
    ae_title = _ae_title(ae_title)
    target = "" if uid in (GLOBAL_SUBSCRIPTION, FILTERED_SUBSCRIPTION) else uid
    if target and workitem(target).state in (COMPLETED, CANCELED):  # 404 for an unknown one
        raise UpsRefused(409, "the workitem is final: nothing to subscribe to")
    _, created = UpsSubscription.objects.update_or_create(
        ae_title=ae_title,
        workitem_uid=target,
        defaults={
            "deletion_lock": deletion_lock,
            "filter": filter_parameters if uid == FILTERED_SUBSCRIPTION else {},
            "suspended": False,
        },
    )
    if target:  # the subscriber is told the workitem's state at once (PS3.4 CC.2.3.1)
        work = workitem(target)
        report(target, UpsEvent.Type.STATE_REPORT, state_info(work.state))
        UpsWorkitem.objects.filter(pk=work.item.pk).update(reported_state=work.state)
    return 201 if created else 200


def ups_unsubscribe(uid: str, ae_title: str) -> None:
    ae_title = _ae_title(ae_title)
    if uid in (GLOBAL_SUBSCRIPTION, FILTERED_SUBSCRIPTION):
        # CC.2.3.2: from the global subscription and every workitem it brought
        UpsSubscription.objects.filter(ae_title=ae_title).delete()
    else:
        UpsSubscription.objects.filter(ae_title=ae_title, workitem_uid=uid).delete()


def ups_suspend(ae_title: str) -> None:
    """…/subscribers/{aetitle}/suspend (CC.2.3.3): no new workitems; the ones held stay."""
    UpsSubscription.objects.filter(ae_title=_ae_title(ae_title), workitem_uid="").update(suspended=True)


def _ae_title(value: str) -> str:
    title = value.strip()
    if not title or len(title) > 16 or "\\" in title:
        raise UpsRefused(400, "the subscriber's AE title must be 1 to 16 characters")
    return title


def events_for(ae_title: str, after: int, *, limit: int = 100) -> list[UpsEvent]:
    """The events a subscriber is to receive after event `after`: those of the
    workitems it subscribed to, of every workitem while it holds an unsuspended
    global subscription, of the workitems its filter matches while it holds a
    filtered one, and the SCP's own."""
    subscriptions = list(
        UpsSubscription.objects.filter(ae_title=ae_title).values("workitem_uid", "suspended", "filter")
    )
    every = [s for s in subscriptions if not s["workitem_uid"] and not s["suspended"]]
    if any(not s["filter"] for s in every):
        return list(UpsEvent.objects.filter(pk__gt=after).order_by("pk")[:limit])
    named = Q(workitem_uid="") | Q(workitem_uid__in=[s["workitem_uid"] for s in subscriptions if s["workitem_uid"]])
    if not every:
        return list(UpsEvent.objects.filter(named, pk__gt=after).order_by("pk")[:limit])
    events = list(UpsEvent.objects.filter(pk__gt=after).order_by("pk")[:limit])
    held = {s["workitem_uid"] for s in subscriptions if s["workitem_uid"]}
    return [
        e
        for e in events
        if not e.workitem_uid or e.workitem_uid in held or _matches(e.workitem_uid, every[0]["filter"])
    ]


def _matches(uid: str, filter_parameters: dict[str, str]) -> bool:
    """A filtered subscription's keys (PS3.4 CC.2.3.1) against the workitem's
    attributes: each key, by keyword or tag, dotted into sequences, matches a
    single value or a wildcard (`*`, `?`); all keys must match."""
    try:
        ds = workitem_dataset(workitem(uid))
    except UpsRefused:
        return False
    return all(_key_matches(ds, key.split("."), pattern) for key, pattern in filter_parameters.items())


def _key_matches(ds: Dataset, path: list[str], pattern: str) -> bool:
    tag = _tag_of(path[0])
    if path[0] in ds:
        element = ds[path[0]]
    elif tag is not None and tag in ds:
        element = ds[tag]
    else:
        return False
    if len(path) > 1:
        items = element.value if element.VR == "SQ" else []
        return any(_key_matches(item, path[1:], pattern) for item in items)
    value = element.value
    values = [str(v) for v in value] if isinstance(value, list | MultiValue) else [str(value or "")]
    return not pattern or any(fnmatchcase(v, pattern) for v in values)


def _tag_of(name: str) -> int | None:
    try:
        return int(name, 16) if len(name) == 8 else None
    except ValueError:
        return None


def latest_event_id() -> int:
    last = UpsEvent.objects.order_by("-pk").values_list("pk", flat=True).first()
    return int(last or 0)
