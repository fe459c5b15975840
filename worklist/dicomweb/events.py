"""The UPS-RS event channel (PS3.18 11.12, 6.8): a WebSocket per subscriber
at ws://{host}:{RIS_DICOMWEB_EVENTS_PORT}/dicomweb/subscribers/{AETitle},
delivering each event report of the workitems it subscribed to as one text
message of DICOM JSON.

Events are rows (`UpsEvent`), written by whichever process changed the
workitem in the transaction of the change; each connection reads those
after the last one it sent, every RIS_DICOMWEB_EVENTS_POLL_SECONDS, so any
number of web and channel processes work together and nothing depends on
one process's memory. A subscriber is told what happened while it is
connected; the state it missed is read with a retrieve.

The connection is authenticated as the HTTP services are: an API token
(`Authorization: Token <key>`), an OAuth2 bearer token of the configured
issuer (`Bearer <JWT>`, infra/bearer.py; without an issuer, `Bearer <key>`
is read as an API token) or Basic, and the role
must allow viewing patients. Refusals are HTTP 401/403/404 before the upgrade.
"""

from __future__ import annotations

import asyncio
import base64
import http
import json
import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.core.exceptions import PermissionDenied
from django.db import close_old_connections
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from infra.bearer import InvalidBearer, bearer_enabled, bearer_user
from ris.roles import permission
from ris.services.tokens import token_user
from worklist.dicomweb import subscriptions, ups

log = logging.getLogger(__name__)
# connection -> the last event before it opened (set by _check, taken by _deliver)
_cursors: dict[int, int] = {}
PATH = re.compile(r"^/dicomweb/subscribers/(?P<ae>[^/?]{1,16})$")


def _user_of(headers: Headers) -> Any:
    """The user behind the Authorization header, or None (sync: runs in a thread)."""
    close_old_connections()
    scheme, _, credentials = str(headers.get("Authorization", "")).partition(" ")
    if scheme.lower() == "bearer" and credentials and bearer_enabled():
        try:
            return bearer_user(credentials.strip())
        except InvalidBearer:
            return None
    if scheme.lower() in ("token", "bearer") and credentials:
        return token_user(key=credentials.strip())[0]
    if scheme.lower() == "basic" and credentials:
        try:
            name, _, password = base64.b64decode(credentials).decode("utf-8").partition(":")
            return authenticate(username=name, password=password)
        except (ValueError, UnicodeDecodeError, PermissionDenied):
            return None
    return None


def _allowed(headers: Headers) -> int:
    user = _user_of(headers)
    if user is None:
        return 401
    return 200 if user.has_perm(permission("view_patients")) else 403


async def _check(connection: ServerConnection, request: Request) -> Response | None:
    if PATH.match(request.path.split("?")[0]) is None:
        return connection.respond(http.HTTPStatus.NOT_FOUND, "no such event channel\n")
    status = await asyncio.to_thread(_allowed, request.headers)
    if status == 401:
        response = connection.respond(http.HTTPStatus.UNAUTHORIZED, "credentials required\n")
        response.headers["WWW-Authenticate"] = 'Token, Basic realm="RIS"'
        return response
    if status == 403:
        return connection.respond(http.HTTPStatus.FORBIDDEN, "your role does not allow this\n")
    # Where delivery starts, fixed before the upgrade is answered: an event
    # written once the subscriber sees the channel open is delivered.
    _cursors[id(connection)] = await asyncio.to_thread(_latest)
    return None


def _events(ae_title: str, after: int) -> list[tuple[int, str]]:
    close_old_connections()
    return [(event.pk, json.dumps(event.report)) for event in subscriptions.events_for(ae_title, after)]


def _latest() -> int:
    close_old_connections()
    return subscriptions.latest_event_id()


async def _deliver(connection: ServerConnection) -> None:
    match = PATH.match((connection.request.path if connection.request else "").split("?")[0])
    if match is None:
        return
    ae_title = match["ae"]
    cursor = _cursors.pop(id(connection), 0)
    poll = float(settings.RIS_DICOMWEB_EVENTS_POLL_SECONDS)
    log.info("event channel opened for %s at event %d", ae_title, cursor)
    closed = asyncio.ensure_future(connection.wait_closed())
    try:
        while not closed.done():
            for pk, message in await asyncio.to_thread(_events, ae_title, cursor):
                await connection.send(message)
                cursor = pk
            await asyncio.wait([closed], timeout=poll)
    finally:
        closed.cancel()
        log.info("event channel closed for %s", ae_title)


class EventChannel:
    """The WebSocket server in a thread of its own, with its event loop."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._server: Server | None = None
        self._thread = threading.Thread(target=self._run, name="ups-events", daemon=True)

    def start(self) -> EventChannel:
        self._thread.start()
        if not self._ready.wait(timeout=30) or self._server is None:
            raise RuntimeError("the UPS event channel did not start")
        _status_change("RESTARTED")
        return self

    @property
    def server_port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        async with serve(_deliver, self.host, self.port, process_request=_check) as server:
            self._server = server
            self._ready.set()
            await server.wait_closed()

    def shutdown(self) -> None:
        _status_change("GOING DOWN")
        # one poll and a little more, so that each open connection sends it before the close
        time.sleep(min(max(2 * float(settings.RIS_DICOMWEB_EVENTS_POLL_SECONDS), 1.0), 3.0))
        if self._server is not None:
            self._loop.call_soon_threadsafe(self._server.close)
        self._thread.join(timeout=10)


def _status_change(status: str) -> None:
    """SCP Status Change to every subscriber (PS3.4 CC.2.4.2); never stops the channel."""
    try:
        close_old_connections()
        ups.scp_status_change(status)
    except Exception:
        log.exception("SCP status change %s not recorded", status)


def start(host: str, port: int) -> Callable[[], None]:
    """Start the channel; returns its shutdown."""
    return EventChannel(host, port).start().shutdown
