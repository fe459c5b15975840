"""The resource calendar: a column per room; drag to book, move and resize.

The browser shows site-local wall times: events go out as naive local ISO
strings and drops come back the same way, so the calendar does not depend on
the browser's time zone. A refusal comes back with its status (web/errors.py)
and `{"reason", "error"}`.
"""

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from ris import selectors
from ris.actors import request_actor
from ris.exceptions import DomainError, InvalidInput
from ris.models import Appointment, Room
from ris.selectors.scheduling import SlotFinder
from ris.services.appointments import appointment_book, appointment_move, appointment_resize
from web.access import requires
from web.errors import refusal_for

TO_BOOK_PAGE = 15


@requires("book_appointments")
def calendar_page(request):
    rooms = list(selectors.active_rooms().prefetch_related("opening_hours"))
    slot_min, slot_max = grid_hours(rooms)
    day = _day(request.GET.get("day", ""))
    context = {
        **to_book_context(request),
        "rooms": rooms,
        "day": day,
        "slot_min": slot_min,
        "slot_max": slot_max,
        "scroll_time": scroll_time(day, slot_min),
    }
    return render(request, "web/calendar.html", context)


@requires("book_appointments")
def calendar_to_book(request):
    """The list to book, refreshed by htmx polling while others book."""
    return render(request, "web/_to_book.html", to_book_context(request))


def to_book_context(request) -> dict[str, Any]:
    """A page of the list to book, each with its next free slot."""
    modality = request.GET.get("modality", "")
    page = Paginator(selectors.unbooked_steps(modality=modality), TO_BOOK_PAGE).get_page(request.GET.get("page"))
    finder = SlotFinder()  # one read of rooms, hours, blocks and bookings for the whole page
    for step in page:
        step.suggestion = finder.next_free_slot(step)  # type: ignore[attr-defined]
    return {"unbooked": page, "modality": modality}


def scroll_time(day: str, slot_min: str) -> str:
    """Where the grid opens: an hour before now on today, else the first opening (07:00 for a 24 h grid)."""
    if day == timezone.localdate().isoformat():
        return f"{max(timezone.localtime().hour - 1, int(slot_min[:2])):02d}:00"
    return "07:00" if slot_min == "00:00" else slot_min


def grid_hours(rooms: list[Room]) -> tuple[str, str]:
    """The calendar's first and last hour: from the earliest opening to the
    latest closing of the rooms; the whole day when one is open past midnight."""
    periods = [p for room in rooms for p in room.opening_hours.all()]
    if not periods or any(p.overnight for p in periods):
        return "00:00", "24:00"
    first = min(p.opens for p in periods).hour
    last = max(p.closes for p in periods)
    return f"{first:02d}:00", f"{last.hour + (1 if last.minute else 0):02d}:00"


def _day(text: str) -> str:
    """The day to open on: ?day=YYYY-MM-DD, else today in the site zone."""
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        return timezone.localdate().isoformat()


@requires("book_appointments")
def calendar_resources(request):
    rooms = [{"id": str(r.pk), "title": f"{r.code} · {r.name}"} for r in selectors.active_rooms()]
    return JsonResponse(rooms, safe=False)


@requires("book_appointments")
def calendar_events(request: HttpRequest) -> JsonResponse:
    try:
        start, end = local_datetime(request.GET.get("start")), local_datetime(request.GET.get("end"))
    except InvalidInput as exc:
        return _refused(exc)
    events = [event_json(a) for a in selectors.appointments_between(start, end)]
    blocked = [blocked_json(b) for b in selectors.blocked_between(start, end)]
    closed = [
        closed_json(room, begin, finish)
        for room in selectors.active_rooms().prefetch_related("opening_hours")
        for begin, finish in closed_intervals(room, start, end)
    ]
    return JsonResponse(events + blocked + closed, safe=False)


def closed_intervals(room: Room, start: dt.datetime, end: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    """The parts of [start, end) the room is not open: the calendar greys them."""
    closed, cursor = [], start
    for begin, finish in room.open_intervals(start, end):
        if begin > cursor:
            closed.append((cursor, begin))
        cursor = max(cursor, finish)
    if cursor < end:
        closed.append((cursor, end))
    return closed


def closed_json(room: Room, start: dt.datetime, end: dt.datetime) -> dict:
    return {
        "id": f"closed-{room.pk}-{start:%Y%m%d%H%M}",
        "resourceIds": [str(room.pk)],
        "display": "background",
        "start": wall_time(start),
        "end": wall_time(end),
        "title": "closed",
        "classNames": ["ris-closed"],
    }


def blocked_json(block) -> dict:
    """Blocked time as a background event: seen, not draggable."""
    return {
        "id": f"blocked-{block.pk}",
        "resourceIds": [str(block.room_id)],
        "display": "background",
        "start": wall_time(block.start),
        "end": wall_time(block.end),
        "title": block.reason or "blocked",
        "classNames": ["ris-blocked"],
    }


def event_json(appointment: Appointment) -> dict[str, object]:
    order = appointment.step.requested_procedure.order
    patient = appointment.patient.person_name.display()
    return {
        "id": str(appointment.pk),
        "resourceIds": [str(appointment.room_id)],
        "start": wall_time(appointment.start),
        "end": wall_time(appointment.end),
        "title": f"{patient} · {appointment.step.description} · {order.accession_number}",
        "extendedProps": {
            "step": appointment.step_id,
            "status": appointment.step.status,
            "url": reverse("step_book", args=[appointment.step_id]),
        },
        "classNames": [f"ris-status-{appointment.step.status}"],
    }


@require_POST
@requires("book_appointments")
def calendar_book(request):
    def book(body):
        step = get_object_or_404(selectors.steps_with_context(), pk=body.get("step"))
        room = _room(body)
        if room is None:
            raise InvalidInput("choose a room", field="room")
        return appointment_book(
            step=step,
            room=room,
            start=local_datetime(body.get("start")),
            duration_minutes=body.get("duration_minutes"),
            actor=request_actor(request),
        )

    return _answer(request, book)


@require_POST
@requires("book_appointments")
def calendar_move(request, pk: int):
    def move(body):
        appointment = get_object_or_404(Appointment, pk=pk)
        return appointment_move(
            appointment=appointment,
            room=_room(body),
            start=local_datetime(body.get("start")),
            actor=request_actor(request),
        )

    return _answer(request, move)


@require_POST
@requires("book_appointments")
def calendar_resize(request, pk: int):
    def resize(body):
        appointment = get_object_or_404(Appointment, pk=pk)
        return appointment_resize(
            appointment=appointment, duration_minutes=_minutes(body), actor=request_actor(request)
        )

    return _answer(request, resize)


def _answer(request: HttpRequest, change: Callable[[dict[str, Any]], Appointment]) -> JsonResponse:
    """Run one change; 200 with the event, or 4xx with the reason to show."""
    try:
        appointment = change(_json_body(request))
    except DomainError as exc:
        return _refused(exc)
    return JsonResponse(event_json(appointment))


def _refused(exc: DomainError) -> JsonResponse:
    refusal = refusal_for(exc)
    return JsonResponse({"reason": refusal.detail, "error": refusal.error}, status=refusal.status)


def _json_body(request: HttpRequest) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        raise InvalidInput("the request body is not JSON") from None
    if not isinstance(body, dict):
        raise InvalidInput("the request body is not a JSON object")
    return body


def _room(body: dict) -> Room | None:
    if not body.get("room"):
        return None
    return get_object_or_404(Room, pk=body["room"])


def _minutes(body: dict[str, Any]) -> int:
    value: Any = body.get("duration_minutes")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidInput("duration_minutes must be a number", field="duration_minutes") from None


def local_datetime(text: str | None) -> dt.datetime:
    """An ISO date-time from the browser; naive ones are site-local wall times."""
    try:
        value = dt.datetime.fromisoformat(text or "")
    except ValueError:
        raise InvalidInput(f"not a date and time: {text!r}", field="start") from None
    return value if value.tzinfo else timezone.make_aware(value)


def wall_time(value: dt.datetime) -> str:
    return timezone.localtime(value).replace(tzinfo=None).isoformat(timespec="minutes")
