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

from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from ris import selectors
from ris.actors import request_actor
from ris.exceptions import DomainError, InvalidInput
from ris.models import Appointment, Room
from ris.services.appointments import appointment_book, appointment_move, appointment_resize
from web.access import audit_page, requires
from web.errors import refusal_for


@requires("book_appointments")
def calendar_page(request):
    modality = request.GET.get("modality", "")
    rooms = selectors.active_rooms()
    context = {
        "rooms": rooms,
        "unbooked": selectors.unbooked_steps(modality=modality)[:100],
        "modality": modality,
        "day": _day(request.GET.get("day", "")),
    }
    return render(request, "web/calendar.html", context)


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
    appointments = list(selectors.appointments_between(start, end))
    audit_page(request, (a.patient for a in appointments), "calendar")
    events = [event_json(a) for a in appointments]
    blocked = [blocked_json(b) for b in selectors.blocked_between(start, end)]
    return JsonResponse(events + blocked, safe=False)


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
        "extendedProps": {"step": appointment.step_id, "status": appointment.step.status},
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
