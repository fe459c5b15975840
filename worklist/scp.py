"""The DICOM listener: Verification, Modality Worklist C-FIND and MPPS
(N-CREATE / N-SET, worklist/mpps.py).

pynetdicom runs every handler of an association (EVT_REQUESTED, EVT_C_FIND,
EVT_RELEASED, EVT_ABORTED) in that association's own thread, so the Django
connection (one per thread) is opened by the first query of an association,
reused by each of its C-FINDs and closed when the association ends.

Per association: one read of the modality registry. Per C-FIND: one query
for the worklist, one insert in the query log and one in the audit trail
(after the final response).
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
import weakref
from collections.abc import Iterator
from typing import Literal, overload

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone
from pydicom.dataset import Dataset
from pynetdicom import AE, evt
from pynetdicom.association import Association
from pynetdicom.events import Event, EventHandlerType

# pynetdicom defines its SOP classes at import time, out of its UID tables
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    ModalityPerformedProcedureStep,
    ModalityWorklistInformationFind,
    Verification,
)
from pynetdicom.transport import ThreadedAssociationServer

from infra.db import release_connection
from infra.tls import server_context
from ris.selectors.worklist import PATIENT
from ris.services.audit import worklist_query_view
from worklist import metrics, pdu_limit
from worklist.matching import InvalidKey
from worklist.mpps import association_actor, handle_n_create, handle_n_set
from worklist.query import IdentifierMismatch, build_query
from worklist.registry import ModalityPolicy, modality_policy, worklist_query_record
from worklist.response import Context, ResponsePlan

log = logging.getLogger(__name__)

# PS3.4 C.4.1.1.4 / K.4.1.1.4 C-FIND statuses
SUCCESS = 0x0000
PENDING = 0xFF00
PENDING_UNSUPPORTED_KEYS = 0xFF01
CANCELLED = 0xFE00
OUT_OF_RESOURCES = 0xA700
IDENTIFIER_DOES_NOT_MATCH = 0xA900
UNABLE_TO_PROCESS = 0xC000
# PS3.8 9.3.4: A-ASSOCIATE-RJ rejected-permanent, service user, calling AE not recognised
REJECT_UNKNOWN_CALLING_AE = (0x01, 0x01, 0x03)
REJECT_TRANSIENT = (0x02, 0x01, 0x01)

# A C-FIND response: the status and, while pending, the matching identifier.
Response = tuple[int, Dataset | None]


class WorklistSCP:
    """The event handlers, with the registry policy of each open association."""

    def __init__(self) -> None:
        self._policies: weakref.WeakKeyDictionary[Association, ModalityPolicy] = weakref.WeakKeyDictionary()

    @property
    def handlers(self) -> list[EventHandlerType]:
        return [
            (evt.EVT_REQUESTED, self.handle_requested),
            (evt.EVT_C_FIND, self.handle_find),
            (evt.EVT_N_CREATE, handle_n_create),
            (evt.EVT_N_SET, handle_n_set),
            (evt.EVT_RELEASED, self.handle_end),
            (evt.EVT_ABORTED, self.handle_end),
        ]

    def handle_requested(self, event: Event) -> None:
        """Look the calling AE up once; refuse it if the registry says so."""
        # EVT_REQUESTED fires once the A-ASSOCIATE-RQ primitive is stored; pynetdicom types it optional throughout
        calling = event.assoc.requestor.primitive.calling_ae_title.strip()  # type: ignore[union-attr]
        try:
            policy = modality_policy(ae_title=calling)
        except DatabaseError as exc:
            log.error("association from %s refused, database unavailable: %s", calling, exc)
            self._reject(event.assoc, REJECT_TRANSIENT)
            return
        finally:
            release_connection()
        if not policy.allowed:
            log.warning("association from %s refused: %s", calling, "not allowed" if policy.is_known else "unknown")
            self._reject(event.assoc, REJECT_UNKNOWN_CALLING_AE)
            return
        self._policies[event.assoc] = policy

    def _reject(self, assoc: Association, reason: tuple[int, int, int]) -> None:
        assoc.acse.send_reject(*reason)
        assoc.kill()  # waits until the DUL has sent the A-ASSOCIATE-RJ, as pynetdicom's own refusals do
        connection.close()

    def handle_end(self, event: Event) -> None:
        """EVT_RELEASED / EVT_ABORTED: the association's connection goes with it."""
        self._policies.pop(event.assoc, None)
        connection.close()

    def handle_find(self, event: Event) -> Iterator[Response]:
        """EVT_C_FIND: one pending response per matching step, then success."""
        policy = self._policies.get(event.assoc) or _unregistered(event.assoc.requestor.ae_title)
        outcome = FindOutcome(policy)
        try:
            yield from _answer(event, policy, outcome)
        finally:
            outcome.record(event)


def _answer(event: Event, policy: ModalityPolicy, outcome: FindOutcome) -> Iterator[Response]:
    """The responses, with every refusal mapped to its status (PS3.4 C.4.1.1.4)."""
    try:
        yield from _stream(event, policy, outcome)
    except IdentifierMismatch as exc:
        log.warning("C-FIND from %s refused: %s", policy.ae_title, exc)
        yield outcome.ends(IDENTIFIER_DOES_NOT_MATCH), None
    except InvalidKey as exc:
        log.warning("C-FIND from %s refused: %s", policy.ae_title, exc)
        yield outcome.ends(UNABLE_TO_PROCESS), None
    except DatabaseError as exc:
        log.error("C-FIND from %s failed, database unavailable: %s", policy.ae_title, exc)
        connection.close()
        yield outcome.ends(OUT_OF_RESOURCES), None
    except Exception:  # a broken identifier pydicom cannot decode, among others
        log.exception("C-FIND from %s failed", policy.ae_title)
        yield outcome.ends(UNABLE_TO_PROCESS), None


def _stream(event: Event, policy: ModalityPolicy, outcome: FindOutcome) -> Iterator[Response]:
    _drop_broken_connection()
    identifier = event.identifier
    query = build_query(identifier, own_station_ae_titles=_listed(policy.own_station_ae_titles))
    pending = PENDING_UNSUPPORTED_KEYS if query.unsupported_keys else PENDING
    plan, context = ResponsePlan(identifier, character_set=policy.character_set), Context(policy.ae_title)
    for row in query.rows():
        if event.is_cancelled:
            yield outcome.ends(CANCELLED), None
            return
        outcome.items += 1
        outcome.patient_ids.add(row[f"{PATIENT}patient_id"])
        yield pending, plan.build(row, context)
    yield outcome.ends(SUCCESS), None


class FindOutcome:
    """What one C-FIND did, written to the query log once it is answered."""

    def __init__(self, policy: ModalityPolicy):
        self.policy = policy
        self.at = timezone.now()
        self.started = time.perf_counter()
        self.items = 0
        self.patient_ids: set[str] = set()
        self.status: int | None = None
        self.elapsed_ms = 0.0

    def ends(self, status: int) -> int:
        self.status = status
        self.elapsed_ms = (time.perf_counter() - self.started) * 1000
        return status

    def record(self, event: Event) -> None:
        """Runs after the final response is sent (the generator is closed)."""
        status = CANCELLED if self.status is None else self.status
        log.info("C-FIND from %s: %d items, %04X, %.1f ms", self.policy.ae_title, self.items, status, self.elapsed_ms)
        _observe(status, self.elapsed_ms, self.items)
        try:
            if settings.RIS_MWL_LOG_QUERIES:
                worklist_query_record(
                    policy=self.policy,
                    at=self.at,
                    keys=_keys_asked(event),
                    items_returned=self.items,
                    duration_ms=self.elapsed_ms,
                    status=status,
                )
            worklist_query_view(
                actor=association_actor(event.assoc),
                items=self.items,
                patient_ids=self.patient_ids,
                status=f"{status:04X}",
            )
        except Exception:  # the log never takes the listener down
            log.exception("C-FIND from %s: query log or audit event not written", self.policy.ae_title)
        finally:
            release_connection()


_STATUS_LABELS = {
    SUCCESS: "success",
    CANCELLED: "cancelled",
    OUT_OF_RESOURCES: "out_of_resources",
    IDENTIFIER_DOES_NOT_MATCH: "identifier_does_not_match",
    UNABLE_TO_PROCESS: "unable_to_process",
}


def _observe(status: int, elapsed_ms: float, items: int) -> None:
    metrics.MWL_QUERIES.labels(_STATUS_LABELS.get(status, f"{status:04X}")).inc()
    metrics.MWL_QUERY_SECONDS.observe(elapsed_ms / 1000)
    if status == SUCCESS:
        metrics.MWL_RESULTS.observe(items)


def _unregistered(ae_title: str) -> ModalityPolicy:
    """Only if EVT_REQUESTED left no policy (it always does for an accepted association)."""
    return ModalityPolicy(ae_title.strip(), character_set=settings.RIS_MWL_CHARACTER_SET)


def _listed(titles: tuple[str, ...] | None) -> list[str] | None:
    return list(titles) if titles is not None else None


def _keys_asked(event: Event) -> str:
    try:
        return "\n".join(_key_lines(event.identifier))
    except Exception:
        return "(identifier could not be decoded)"


def _key_lines(dataset: Dataset, prefix: str = "") -> Iterator[str]:
    for element in dataset:
        if element.VR == "SQ":
            for item in element.value[:1]:
                yield from _key_lines(item, f"{prefix}{element.keyword}/")
            if not element.value:
                yield f"{prefix}{element.keyword}="
        else:
            yield f"{prefix}{element.keyword or element.tag}={'' if element.is_empty else element.value}"


def _drop_broken_connection() -> None:
    """Reuse the association's connection unless an error left it unusable."""
    if connection.connection is not None and connection.errors_occurred and not connection.is_usable():
        connection.close()


def make_ae(ae_title: str | None = None) -> AE:
    # A peer may announce any PDU size; read none larger than this.
    pdu_limit.install(max(settings.RIS_DICOM_MAX_PDU, 1024 * 1024))
    ae = AE(ae_title=ae_title or settings.RIS_DICOM_AE_TITLE)
    ae.add_supported_context(Verification)
    ae.add_supported_context(ModalityWorklistInformationFind)
    ae.add_supported_context(ModalityPerformedProcedureStep)
    ae.maximum_pdu_size = settings.RIS_DICOM_MAX_PDU
    ae.network_timeout = settings.RIS_DICOM_IDLE_TIMEOUT
    ae.acse_timeout = 30
    ae.dimse_timeout = settings.RIS_DICOM_IDLE_TIMEOUT
    ae.maximum_associations = 64
    return ae


class NoDelayServer(ThreadedAssociationServer):
    """Sends each PDU at once: without TCP_NODELAY, Nagle's algorithm and the
    peer's delayed ACK hold a C-FIND response back by tens of milliseconds."""

    def get_request(self) -> tuple[socket.socket, tuple[str, int]]:
        client, address = super().get_request()
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return client, address


@overload
def start(
    host: str,
    port: int,
    *,
    block: Literal[False] = False,
    ae_title: str | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> ThreadedAssociationServer: ...
@overload
def start(
    host: str,
    port: int,
    *,
    block: Literal[True],
    ae_title: str | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> None: ...
def start(
    host: str, port: int, *, block: bool = False, ae_title: str | None = None, ssl_context: ssl.SSLContext | None = None
) -> ThreadedAssociationServer | None:
    """Start the SCP; returns the server (non-blocking) for `.shutdown()`."""
    ae = make_ae(ae_title)
    context = ssl_context or server_context(
        settings.RIS_DICOM_TLS_CERT, settings.RIS_DICOM_TLS_KEY, settings.RIS_DICOM_TLS_CA
    )
    server = ae.make_server(
        (host, port), evt_handlers=WorklistSCP().handlers, server_class=NoDelayServer, ssl_context=context
    )
    ae._servers.append(server)  # as AE.start_server does: shutdown() removes it
    if block:
        try:
            server.serve_forever()
        finally:
            server.shutdown()
        return None
    threading.Thread(target=server.serve_forever, name="dicom-scp", daemon=True).start()
    return server
