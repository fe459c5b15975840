"""The DICOM listener's services: Verification, Modality Worklist C-FIND,
MPPS (N-CREATE / N-SET, worklist/mpps.py) and Instance Availability
Notification (N-CREATE, worklist/ian.py), on our own upper layer
(worklist/listener.py, association.py, upper_layer.py).

Per association: the calling AE's registry policy, from the process's cache
(worklist/registry.cached_modality_policy). Per C-FIND: one query for the
worklist, whose rows are read at once and the database connection released
before a response is built; the query log and the audit event are handed to
a background writer after the final response (worklist/query_log.py).
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from io import BytesIO
from types import SimpleNamespace
from typing import Literal, cast, overload

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom.events import Event
from pynetdicom.pdu_primitives import A_ASSOCIATE

from infra.db import HeldConnections, release_connection
from infra.tls import server_context
from ris.models import AuditEvent
from ris.records import Actor
from ris.selectors.worklist import PATIENT
from worklist import encoding, metrics
from worklist.association import Message, Peer
from worklist.ian import INSTANCE_AVAILABILITY_NOTIFICATION, handle_ian_n_create
from worklist.listener import Listener
from worklist.matching import InvalidKey
from worklist.mpps import handle_n_create, handle_n_set
from worklist.processes import Dispatcher, Spawn, Worker
from worklist.query import IdentifierMismatch, build_query
from worklist.query_log import Entry, writer
from worklist.registry import ModalityPolicy, cached_modality_policy, forget_policies
from worklist.response import Context, ResponsePlan
from worklist.store import handle_c_store
from worklist.upper_layer import Limits

log = logging.getLogger(__name__)

# PS3.4 C.4.1.1.4 / K.4.1.1.4 C-FIND statuses
SUCCESS = 0x0000
PENDING = 0xFF00
PENDING_UNSUPPORTED_KEYS = 0xFF01
CANCELLED = 0xFE00
OUT_OF_RESOURCES = 0xA700
IDENTIFIER_DOES_NOT_MATCH = 0xA900
UNABLE_TO_PROCESS = 0xC000
RESOURCE_LIMITATION = 0x0213  # PS3.7 C.5.20, for N-CREATE and N-SET
# PS3.8 9.3.4: A-ASSOCIATE-RJ rejected-permanent, service user, calling AE not recognised
REJECT_UNKNOWN_CALLING_AE = (0x01, 0x01, 0x03)
REJECT_TRANSIENT = (0x02, 0x01, 0x01)

# A C-FIND response: the status and, while pending, the matching identifier.
Response = tuple[int, "RowResponse | Dataset | None"]


class WorklistSCP:
    """What each association asks of the door (worklist.association.Services)."""

    def __init__(self) -> None:
        # The worklist query's connections (PostgreSQL): shared by the associations, never held by one.
        self.held = HeldConnections(settings.RIS_DICOM_QUERY_CONNECTIONS)

    def admit(self, peer: Peer, request: A_ASSOCIATE) -> tuple[int, int, int] | None:
        """Look the calling AE up; refuse it if the registry says so."""
        try:
            policy = cached_modality_policy(ae_title=peer.ae_title)
        except DatabaseError as exc:
            log.error("association from %s refused, database unavailable: %s", peer.ae_title, exc)
            connection.close()
            return REJECT_TRANSIENT
        finally:
            release_connection()
        if not policy.allowed:
            log.warning(
                "association from %s refused: %s", peer.ae_title, "not allowed" if policy.is_known else "unknown"
            )
            return REJECT_UNKNOWN_CALLING_AE
        peer.state = policy
        return None

    def ended(self, peer: Peer) -> None:
        """The association's connection goes with it."""
        connection.close()

    def find(self, peer: Peer, message: Message, cancelled: Callable[[], bool]) -> Iterator[Response]:
        """One pending response per matching step, then success."""
        policy = peer.state or _unregistered(peer.ae_title)
        outcome = FindOutcome(policy, peer)
        try:
            if message.oversized:
                yield outcome.ends(OUT_OF_RESOURCES), None
                return
            yield from _answer(FindRequest(message, cancelled), policy, outcome, self.held)
        finally:
            outcome.record()

    def n_create(self, peer: Peer, message: Message) -> tuple[Dataset, Dataset | None]:
        if message.command.get("AffectedSOPClassUID") == INSTANCE_AVAILABILITY_NOTIFICATION:
            return handle_ian_n_create(peer, message)
        return handle_n_create(cast(Event, MppsEvent(peer, message)))  # the attributes worklist/mpps.py reads

    def n_set(self, peer: Peer, message: Message) -> tuple[Dataset, Dataset | None]:
        return handle_n_set(cast(Event, MppsEvent(peer, message)))

    def c_store(self, peer: Peer, message: Message) -> tuple[Dataset, None]:
        return handle_c_store(peer, message)  # radiation dose SRs only (worklist/store.py)

    def oversized(self, peer: Peer, message: Message) -> Dataset:
        """A data set over RIS_DICOM_MAX_DATASET: dropped as it came, answered
        0213 resource limitation (PS3.7 C.5.20) with the association kept."""
        log.warning("DIMSE data set from %s over %d bytes refused", peer.ae_title, settings.RIS_DICOM_MAX_DATASET)
        answer = Dataset()
        answer.Status = RESOURCE_LIMITATION
        answer.ErrorComment = "data set too large"
        return answer


class FindRequest:
    """A C-FIND-RQ as the worklist handlers read it (the shape of pynetdicom's event)."""

    def __init__(self, message: Message, cancelled: Callable[[], bool]):
        self.message = message
        self._cancelled = cancelled
        self._identifier: Dataset | None = None

    @property
    def identifier(self) -> Dataset:
        if self._identifier is None:
            self._identifier = self.message.dataset()
        return self._identifier

    @property
    def is_cancelled(self) -> bool:
        return self._cancelled()


class MppsEvent:
    """An N-CREATE or N-SET as worklist/mpps.py reads it: pynetdicom's event
    attributes (`assoc.requestor`, `request`, `attribute_list`, `modification_list`)."""

    def __init__(self, peer: Peer, message: Message):
        self.assoc = SimpleNamespace(
            requestor=SimpleNamespace(ae_title=peer.ae_title, address=peer.address, port=peer.port)
        )
        command = message.command
        received = BytesIO(message.dataset_bytes or b"")  # as pynetdicom's request carries it
        self.request = SimpleNamespace(
            AttributeList=received,
            ModificationList=received,
            **{
                k: command.get(k)
                for k in (
                    "AffectedSOPClassUID",
                    "AffectedSOPInstanceUID",
                    "RequestedSOPClassUID",
                    "RequestedSOPInstanceUID",
                    "MessageID",
                )
            },
        )
        self.message = message
        self._dataset: Dataset | None = None

    @property
    def attribute_list(self) -> Dataset:
        return self.dataset

    @property
    def modification_list(self) -> Dataset:
        return self.dataset

    @property
    def dataset(self) -> Dataset:
        if self._dataset is None:
            self._dataset = self.message.dataset()
        return self._dataset


def _answer(
    request: FindRequest, policy: ModalityPolicy, outcome: FindOutcome, held: HeldConnections | None = None
) -> Iterator[Response]:
    """The responses, with every refusal mapped to its status (PS3.4 C.4.1.1.4)."""
    try:
        yield from _stream(request, policy, outcome, held)
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


def _stream(
    request: FindRequest, policy: ModalityPolicy, outcome: FindOutcome, held: HeldConnections | None
) -> Iterator[Response]:
    _drop_broken_connection()
    identifier = request.identifier
    outcome.identifier = identifier
    query = build_query(identifier, own_station_ae_titles=_listed(policy.own_station_ae_titles))
    pending = PENDING_UNSUPPORTED_KEYS if query.unsupported_keys else PENDING
    plan, context = ResponsePlan(identifier, character_set=policy.character_set), Context(policy.ae_title)
    try:
        rows = list(query.rows(held))
    finally:
        release_connection()  # the rows are read: the connection is not needed while they are sent
    for row in rows:
        if request.is_cancelled:
            yield outcome.ends(CANCELLED), None
            return
        outcome.items += 1
        outcome.patient_ids.add(row[f"{PATIENT}patient_id"])
        yield pending, RowResponse(plan, row, context)
    yield outcome.ends(SUCCESS), None


class RowResponse:
    """A pending response not yet encoded: straight from the plan to bytes
    when the transfer syntax and character set allow (worklist/encoding.py),
    else through a pydicom Dataset."""

    def __init__(self, plan: ResponsePlan, row: dict[str, object], context: Context):
        self.plan, self.row, self.context = plan, row, context

    def encoded(self, syntax: str) -> bytes | None:
        if syntax not in (ImplicitVRLittleEndian, ExplicitVRLittleEndian):
            return None
        return encoding.encode_row(self.plan, self.row, self.context, implicit=syntax == ImplicitVRLittleEndian)

    def dataset(self) -> Dataset:
        return self.plan.build(self.row, self.context)


class FindOutcome:
    """What one C-FIND did, handed to the query log once it is answered."""

    def __init__(self, policy: ModalityPolicy, peer: Peer):
        self.policy = policy
        self.peer = peer
        self.at = timezone.now()
        self.started = time.perf_counter()
        self.items = 0
        self.patient_ids: set[str] = set()
        self.status: int | None = None
        self.elapsed_ms = 0.0
        self.identifier: Dataset | None = None

    def ends(self, status: int) -> int:
        self.status = status
        self.elapsed_ms = (time.perf_counter() - self.started) * 1000
        return status

    def record(self) -> None:
        """Runs once the final response is built (the generator is closed)."""
        status = CANCELLED if self.status is None else self.status
        log.info("C-FIND from %s: %d items, %04X, %.1f ms", self.policy.ae_title, self.items, status, self.elapsed_ms)
        _observe(status, self.elapsed_ms, self.items)
        try:
            writer.put(
                Entry(
                    policy=self.policy,
                    actor=peer_actor(self.peer),
                    at=self.at,
                    keys=_keys_asked(self.identifier),
                    items=self.items,
                    duration_ms=self.elapsed_ms,
                    status=status,
                    patient_ids=self.patient_ids,
                )
            )
        except Exception:  # the log never takes the listener down
            log.exception("C-FIND from %s: query log entry not kept", self.policy.ae_title)


def peer_actor(peer: Peer) -> Actor:
    """The peer of an association as the services' actor: its calling AE title and address."""
    return Actor(door=AuditEvent.Door.DICOM, name=peer.ae_title, address=peer.address)


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


def _keys_asked(identifier: Dataset | None) -> str:
    if identifier is None:
        return "(identifier could not be decoded)"
    try:
        return "\n".join(_key_lines(identifier))
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


@overload
def start(
    host: str,
    port: int,
    *,
    block: Literal[False] = False,
    ae_title: str | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> Listener: ...
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
) -> Listener | None:
    """Start the SCP; returns the listener (non-blocking) for `.shutdown()`.

    Any called AE title is accepted (docs/dicom-conformance.md 1.2); `ae_title`
    is kept for the commands' interface."""
    context = ssl_context or server_context(
        settings.RIS_DICOM_TLS_CERT, settings.RIS_DICOM_TLS_KEY, settings.RIS_DICOM_TLS_CA
    )
    forget_policies()  # what an earlier listener in this process cached may be stale
    services = WorklistSCP()

    def stopped() -> None:
        writer.flush()
        services.held.close()

    listener = Listener(host, port, services, Limits.from_settings(), ssl_context=context, on_shutdown=stopped)
    if block:
        try:
            listener.serve_forever()
        finally:
            listener.shutdown()
        return None
    threading.Thread(target=listener.serve_forever, name="dicom-scp", daemon=True).start()
    return listener


def serve_worker(channel_fd: int) -> None:
    """A worker process of `dicomscp --processes N` (worklist/processes.py):
    the associations its parent hands over, until the parent goes."""
    context = server_context(settings.RIS_DICOM_TLS_CERT, settings.RIS_DICOM_TLS_KEY, settings.RIS_DICOM_TLS_CA)
    services = WorklistSCP()

    def stopped() -> None:
        writer.flush()
        services.held.close()

    worker = Worker(
        socket.socket(fileno=channel_fd), services, Limits.from_settings(), ssl_context=context, on_shutdown=stopped
    )
    try:
        worker.serve_forever()
    finally:
        worker.shutdown()


def start_processes(host: str, port: int, processes: int, spawn: Spawn, *, block: bool = True) -> Dispatcher:
    """The parent of `dicomscp --processes N`: accepts and hands connections
    to N worker processes it starts with `spawn` and watches."""
    dispatcher = Dispatcher(host, port, processes, spawn, Limits.from_settings())
    if not block:
        threading.Thread(target=dispatcher.serve_forever, name="dicom-dispatcher", daemon=True).start()
        return dispatcher
    try:
        dispatcher.serve_forever()
    finally:
        dispatcher.shutdown()
    return dispatcher
