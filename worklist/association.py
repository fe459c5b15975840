"""One association as acceptor: the upper-layer state machine (PS3.8 9.2)
and DIMSE message assembly (PS3.7 6, PS3.8 E), on one blocking thread.

States, as the acceptor meets them: Sta2 (transport open, ARTIM running,
waiting for the A-ASSOCIATE-RQ), Sta6 (established), Sta13 (A-ASSOCIATE-RJ,
A-RELEASE-RP or A-ABORT sent, waiting for the peer to close, ARTIM
running). We never request a release, so Sta7 and the release collisions do
not arise. Every PDU unexpected in its state is answered A-ABORT (AA-1).
"""

from __future__ import annotations

import contextlib
import logging
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from io import BytesIO
from typing import Any, Protocol

from pydicom.dataset import Dataset
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)
from pynetdicom.dsutils import decode, encode
from pynetdicom.pdu_primitives import A_ASSOCIATE, UserIdentityNegotiation
from pynetdicom.presentation import PresentationContext

from worklist import upper_layer as ul
from worklist.encoding import encode_response
from worklist.negotiation import Accepted, accept, decode_request

log = logging.getLogger(__name__)

# PS3.7 E.1 command fields
C_ECHO_RQ, C_FIND_RQ, C_CANCEL_RQ = 0x0030, 0x0020, 0x0FFF
C_STORE_RQ = 0x0001
N_CREATE_RQ, N_SET_RQ = 0x0140, 0x0120
RESPONSE_BIT = 0x8000
NO_DATASET = 0x0101
UNRECOGNIZED_OPERATION = 0x0211  # PS3.7 C.4.2
FLUSH_AFTER = 0.005
REJECT_DELAY = 0.05  # seconds before an A-ASSOCIATE-RJ (see _establish)
WRITE_SIZE = (
    256 * 1024
)  # bytes of responses gathered for one write  # seconds a built response may wait for more to fill its PDU


@dataclass
class Peer:
    """The calling side of one association, as the services see it."""

    ae_title: str
    address: str
    port: int
    user_identity: UserIdentityNegotiation | None = None
    state: Any = None  # what the services keep for this association (the registry policy)


@dataclass
class Message:
    """One received DIMSE message: its command set and its data set's bytes."""

    command: Dataset
    context: PresentationContext
    dataset_bytes: bytes | None = None
    oversized: bool = False  # the data set passed the cap; its bytes were dropped

    @property
    def message_id(self) -> int:
        return int(self.command.get("MessageID", 0))

    def dataset(self) -> Dataset:
        """The data set, decoded in the context's transfer syntax (lazily: pydicom
        decodes values on access)."""
        syntax = self.context.transfer_syntax[0]
        implicit, little = syntax == ImplicitVRLittleEndian, syntax != ExplicitVRBigEndian
        deflated = syntax == DeflatedExplicitVRLittleEndian
        return decode(BytesIO(self.dataset_bytes or b""), implicit, little, deflated)


class Encodable(Protocol):
    """A response that may encode itself faster than pydicom would."""

    def encoded(self, syntax: str) -> bytes | None: ...
    def dataset(self) -> Dataset: ...


Responses = Iterator[tuple[int, "Dataset | Encodable | None"]]


class Services(Protocol):
    """What the DICOM door does with an association (worklist/scp.py)."""

    def admit(self, peer: Peer, request: A_ASSOCIATE) -> tuple[int, int, int] | None: ...
    def find(self, peer: Peer, message: Message, cancelled: Callable[[], bool]) -> Responses: ...
    def n_create(self, peer: Peer, message: Message) -> tuple[Dataset, Dataset | None]: ...
    def n_set(self, peer: Peer, message: Message) -> tuple[Dataset, Dataset | None]: ...
    def c_store(self, peer: Peer, message: Message) -> tuple[Dataset, None]: ...
    def oversized(self, peer: Peer, message: Message) -> Dataset: ...
    def ended(self, peer: Peer) -> None: ...


class Abort(Exception):
    """Answer A-ABORT (AA-1) and close."""

    def __init__(self, reason: int, why: str):
        super().__init__(why)
        self.reason = reason


class Association:
    """Runs one connection to its end; `run` never raises."""

    def __init__(self, transport: ul.Transport, peer: Peer, services: Services):
        self.transport = transport
        self.limits = transport.limits
        self.peer = peer
        self.services = services
        self.accepted: Accepted | None = None
        self._assembly: _Assembly | None = None
        self._deferred: list[tuple[int, bytes]] = []
        self._cancelled_ids: set[int] = set()

    def run(self) -> None:
        try:
            self._run()
        except Abort as exc:
            log.warning("DICOM peer %s:%s aborted: %s", self.peer.address, self.peer.port, exc)
            self._send_quietly(ul.abort_pdu(exc.reason))
        except ul.PDUTooLarge as exc:
            log.warning(
                "DICOM peer %s announced a %d-byte PDU (limit %d): aborted",
                self.peer.address,
                exc.length,
                self.limits.max_pdu,
            )
            self._send_quietly(ul.abort_pdu(ul.ABORT_INVALID_PARAMETER))
        except ul.TimedOut:
            state = "established" if self.accepted else "before its A-ASSOCIATE-RQ was complete"
            log.info("DICOM peer %s:%s timed out %s", self.peer.address, self.peer.port, state)
            self._send_quietly(ul.abort_pdu())
        except ul.PeerGone:
            pass
        except Exception:
            log.exception("DICOM association from %s failed", self.peer.address)
            self._send_quietly(ul.abort_pdu())
        finally:
            self.transport.close()
            if self.accepted is not None:
                self.services.ended(self.peer)

    def _run(self) -> None:
        if not self._establish():
            self._linger()
            return
        while True:
            pdu_type, body = self._next_pdu()
            if pdu_type == ul.P_DATA_TF:
                self._on_data(body)
            elif pdu_type == ul.A_RELEASE_RQ:
                self.transport.send(ul.RELEASE_RP)
                self._linger()
                return
            elif pdu_type == ul.A_ABORT:
                return
            else:
                raise Abort(
                    ul.ABORT_UNEXPECTED_PDU if pdu_type in ul.PDU_TYPES else ul.ABORT_UNRECOGNISED_PDU,
                    f"PDU type {pdu_type:#04x} in Sta6",
                )

    # Sta2 -> Sta6 or Sta13
    def _establish(self) -> bool:
        deadline = time.monotonic() + self.limits.artim  # ARTIM: the whole request, however slowly it comes
        pdu_type, body = self.transport.read_pdu(deadline, body_deadline=deadline)
        if pdu_type != ul.A_ASSOCIATE_RQ:
            raise Abort(ul.ABORT_UNEXPECTED_PDU, f"PDU type {pdu_type:#04x} before an A-ASSOCIATE-RQ")
        try:
            request = decode_request(body)
        except Exception as exc:
            raise Abort(ul.ABORT_INVALID_PARAMETER, f"undecodable A-ASSOCIATE-RQ: {exc}") from exc
        self.peer.ae_title = request.calling_ae_title.strip()
        identities = [i for i in request.user_information if isinstance(i, UserIdentityNegotiation)]
        self.peer.user_identity = identities[0] if identities else None
        refusal = self.services.admit(self.peer, request)
        if refusal is not None:
            # A pynetdicom 3 requestor takes an A-ASSOCIATE-RJ that comes back within
            # microseconds for a lost connection (it checks its socket after the RJ
            # has closed it); refusals are rare, so they wait a little.
            time.sleep(REJECT_DELAY)
            self.transport.send(ul.reject_pdu(*refusal))
            return False
        self.accepted = accept(request, self.limits.announced_pdu)
        self.transport.send(self.accepted.ac_pdu)
        return True

    def _linger(self) -> None:
        """Sta13: the peer closes; whatever it still sends is dropped (AA-6)."""
        deadline = time.monotonic() + self.limits.artim
        while True:
            self.transport.read_pdu(deadline, body_deadline=deadline)

    def _next_pdu(self) -> tuple[int, bytes]:
        if self._deferred:
            return self._deferred.pop(0)
        return self.transport.read_pdu(time.monotonic() + self.limits.idle)

    # P-DATA: DIMSE assembly
    def _on_data(self, body: bytes) -> None:
        for message in self._messages(body):
            self._dispatch(message)

    def _messages(self, body: bytes) -> Iterator[Message]:
        contexts = self.accepted.contexts if self.accepted else {}
        try:
            pdvs = list(ul.parse_pdvs(body))
        except ValueError as exc:
            raise Abort(ul.ABORT_INVALID_PARAMETER, str(exc)) from exc
        for context_id, control, fragment in pdvs:
            if context_id not in contexts:
                raise Abort(ul.ABORT_INVALID_PARAMETER, f"P-DATA on presentation context {context_id}, not accepted")
            if self._assembly is None:
                self._assembly = _Assembly(contexts[context_id], self.limits.max_dataset)
            done = self._assembly.add(control, fragment)
            if done is not None:
                self._assembly = None
                yield done

    def _dispatch(self, message: Message) -> None:
        field_ = int(message.command.get("CommandField", 0))
        if field_ == C_ECHO_RQ:
            self._respond(message, 0x0000, None)
        elif field_ == C_FIND_RQ:
            self._find(message)
        elif field_ == C_CANCEL_RQ:
            pass  # for a C-FIND already answered: nothing to stop (PS3.7 9.3.2.3)
        elif field_ == C_STORE_RQ:  # answers an oversized data set itself (A700)
            self._respond_status(message, *self.services.c_store(self.peer, message))
        elif message.oversized:
            self._respond_status(message, self.services.oversized(self.peer, message), None)
        elif field_ == N_CREATE_RQ:
            self._respond_status(message, *self.services.n_create(self.peer, message))
        elif field_ == N_SET_RQ:
            self._respond_status(message, *self.services.n_set(self.peer, message))
        else:
            self._respond(message, UNRECOGNIZED_OPERATION, None)

    # Responses
    def _find(self, message: Message) -> None:
        """Each response in as few PDUs as the peer's max PDU allows, the
        responses written together: when a write's worth has gathered, when the
        answer is complete, or when a slow answer has kept a response waiting
        (so that a C-CANCEL can follow it). A PDU carries fragments of one
        message only: pynetdicom and dcmtk peers drop or crash on more."""
        context, max_pdu = message.context, self._peer_max_pdu()
        context_id = int(context.context_id or 0)
        commands: dict[int, bytes] = {}  # one encoding per status: every pending response's command set is the same
        out: list[bytes] = []
        size, since = 0, 0.0
        # The peer's input is looked at before the first response and after each
        # write: a C-CANCEL comes right after the request or in answer to what it
        # has received; between two writes there is nothing new to look for.
        look = [True]

        def cancelled() -> bool:
            if not look[0]:
                return message.message_id in self._cancelled_ids
            look[0] = False
            return self._cancel_arrived(message.message_id)

        for status, identifier in self.services.find(self.peer, message, cancelled):
            if status not in commands:
                commands[status] = find_response_command(message, status, identifier is not None)
            data = _encode(identifier, context) if identifier is not None else None
            out.append(ul.pack(ul.fragments(context_id, commands[status], data, max_pdu), max_pdu))
            size += len(out[-1])
            since = since or time.monotonic()
            if size >= WRITE_SIZE or time.monotonic() - since >= FLUSH_AFTER:
                self.transport.send(b"".join(out))
                out, size, since = [], 0, 0.0
                look[0] = True
        if out:
            self.transport.send(b"".join(out))
        self._cancelled_ids.discard(message.message_id)

    def _cancel_arrived(self, message_id: int) -> bool:
        """Between two responses: read what the peer sent meanwhile, without waiting."""
        while message_id not in self._cancelled_ids and self.transport.has_input():
            pdu_type, body = self.transport.read_pdu(time.monotonic() + self.limits.idle)
            if pdu_type != ul.P_DATA_TF:
                if pdu_type == ul.A_ABORT:
                    raise ul.PeerGone("A-ABORT during a C-FIND")
                self._deferred.append((pdu_type, body))
                return False
            for other in self._messages(body):
                if int(other.command.get("CommandField", 0)) == C_CANCEL_RQ:
                    self._cancelled_ids.add(int(other.command.get("MessageIDBeingRespondedTo", -1)))
                else:  # beyond the window of one operation (PS3.7 D.3.3.3): answered after this one
                    self._deferred.append((ul.P_DATA_TF, _reencode(other)))
        return message_id in self._cancelled_ids

    def _respond(self, message: Message, status: int, dataset: Dataset | None) -> None:
        answer = Dataset()
        answer.Status = status
        self._respond_status(message, answer, dataset)

    def _respond_status(self, message: Message, answer: Dataset, dataset: Dataset | None) -> None:
        data = _encode(dataset, message.context) if dataset is not None else None
        command = response_command(message, int(answer.Status), data is not None, extra=answer, dataset=dataset)
        max_pdu = self._peer_max_pdu()
        self.transport.send(
            ul.pack(ul.fragments(int(message.context.context_id or 0), command, data, max_pdu), max_pdu)
        )

    def _peer_max_pdu(self) -> int:
        peer = self.accepted.peer_max_pdu if self.accepted else 0
        if peer == 0:  # no limit (PS3.8 D.1)
            return 1 << 24
        return max(peer, 64)  # room for a PDV header and some bytes of its fragment

    def _send_quietly(self, data: bytes) -> None:
        with contextlib.suppress(ul.PeerGone):
            self.transport.send(data)


class _Assembly:
    """The fragments of one DIMSE message; the data set counted against its cap."""

    def __init__(self, context: PresentationContext, max_dataset: int):
        self.context = context
        self.max_dataset = max_dataset
        self.command_parts: list[bytes] = []
        self.command: Dataset | None = None
        self.data_parts: list[bytes] = []
        self.data_size = 0
        self.oversized = False

    def add(self, control: int, fragment: memoryview) -> Message | None:
        if control & ul.COMMAND:
            if self.command is not None:
                raise Abort(ul.ABORT_INVALID_PARAMETER, "command fragment after the command set")
            self.command_parts.append(bytes(fragment))
            if sum(map(len, self.command_parts)) > 65536:
                raise Abort(ul.ABORT_INVALID_PARAMETER, "command set larger than 64 KiB")
            if control & ul.LAST:
                return self._command_done()
            return None
        if self.command is None:
            raise Abort(ul.ABORT_INVALID_PARAMETER, "data set fragment before the command set")
        self.data_size += len(fragment)
        if self.data_size > self.max_dataset:
            self.oversized, self.data_parts = True, []  # dropped as it comes: memory stays at the cap
        else:
            self.data_parts.append(bytes(fragment))
        return self._message() if control & ul.LAST else None

    def _command_done(self) -> Message | None:
        try:
            self.command = decode(BytesIO(b"".join(self.command_parts)), True, True)
            has_dataset = int(self.command.get("CommandDataSetType", NO_DATASET)) != NO_DATASET
        except Exception as exc:
            raise Abort(ul.ABORT_INVALID_PARAMETER, f"undecodable command set: {exc}") from exc
        return None if has_dataset else self._message()

    def _message(self) -> Message:
        assert self.command is not None
        data = None if self.oversized else b"".join(self.data_parts)
        has_dataset = int(self.command.get("CommandDataSetType", NO_DATASET)) != NO_DATASET
        return Message(self.command, self.context, data if has_dataset else None, self.oversized)


_RESPONSE_CLASS_KEY = {N_SET_RQ: "RequestedSOPClassUID"}
_RESPONSE_INSTANCE_KEY = {N_CREATE_RQ: "AffectedSOPInstanceUID", N_SET_RQ: "RequestedSOPInstanceUID"}


def response_command(
    message: Message, status: int, has_dataset: bool, *, extra: Dataset | None = None, dataset: Dataset | None = None
) -> bytes:
    """The response's command set, Implicit VR Little Endian (PS3.7 9.3, 10.3)."""
    request = message.command
    request_field = int(request.get("CommandField", 0))
    command = Dataset()
    sop_class = request.get(_RESPONSE_CLASS_KEY.get(request_field, "AffectedSOPClassUID"))
    if sop_class:
        command.AffectedSOPClassUID = sop_class
    command.CommandField = request_field | RESPONSE_BIT
    command.MessageIDBeingRespondedTo = message.message_id
    command.CommandDataSetType = 0x0001 if has_dataset else NO_DATASET
    command.Status = status
    instance = _response_instance(request, request_field, dataset)
    if instance:
        command.AffectedSOPInstanceUID = instance
    for element in extra or ():
        if element.tag.group == 0 and element.keyword != "Status":
            command[element.tag] = element
    return _with_group_length(command)


_UL = struct.Struct("<HHLL")
_US = struct.Struct("<HHLH")


def find_response_command(message: Message, status: int, has_dataset: bool) -> bytes:
    """`response_command` of a C-FIND response, packed directly: its five
    elements are the same for every response but the status (PS3.7 9.3.2.2)."""
    sop_class = message.command.get("AffectedSOPClassUID")
    uid = str(sop_class or "").encode("ascii")
    if len(uid) % 2:
        uid += b"\x00"
    body = b"".join(
        (
            struct.pack("<HHL", 0x0000, 0x0002, len(uid)) + uid if uid else b"",
            _US.pack(0x0000, 0x0100, 2, C_FIND_RQ | RESPONSE_BIT),
            _US.pack(0x0000, 0x0120, 2, message.message_id),
            _US.pack(0x0000, 0x0800, 2, 0x0001 if has_dataset else NO_DATASET),
            _US.pack(0x0000, 0x0900, 2, status),
        )
    )
    return _UL.pack(0x0000, 0x0000, 4, len(body)) + body


def _response_instance(request: Dataset, request_field: int, dataset: Dataset | None) -> str | None:
    key = _RESPONSE_INSTANCE_KEY.get(request_field)
    given = request.get(key) if key else None
    if dataset is not None and "AffectedSOPInstanceUID" in dataset:
        given = given or dataset.AffectedSOPInstanceUID  # assigned by the SCP (PS3.7 10.1.5.1.4)
        del dataset.AffectedSOPInstanceUID
    return str(given) if given else None


def _with_group_length(command: Dataset) -> bytes:
    body = encode(command, True, True) or b""
    group = Dataset()
    group.CommandGroupLength = len(body)
    return (encode(group, True, True) or b"") + body


def _encode(response: Dataset | Encodable, context: PresentationContext) -> bytes:
    syntax = context.transfer_syntax[0]
    if isinstance(response, Dataset):
        dataset = response
    else:
        encoded = response.encoded(syntax)
        if encoded is not None:
            return encoded
        dataset = response.dataset()
    implicit, little = syntax == ImplicitVRLittleEndian, syntax != ExplicitVRBigEndian
    if syntax in (ImplicitVRLittleEndian, ExplicitVRLittleEndian):
        fast = encode_response(dataset, implicit=implicit)
        if fast is not None:
            return fast
    encoded = encode(dataset, implicit, little, syntax == DeflatedExplicitVRLittleEndian)
    if encoded is None:
        raise ValueError("data set could not be encoded")
    return encoded


def _reencode(message: Message) -> bytes:
    """A message read ahead, back as a P-DATA-TF body to be handled in turn."""
    command = _with_group_length(_without_group_length(message.command))
    items = ul.fragments(int(message.context.context_id or 0), command, message.dataset_bytes, 1 << 30)
    return b"".join(item for item, _ in items)


def _without_group_length(command: Dataset) -> Dataset:
    copy = Dataset(command)
    if "CommandGroupLength" in copy:
        del copy.CommandGroupLength
    return copy
