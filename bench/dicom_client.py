"""A replay client for the benchmark: one blocking socket, the A-ASSOCIATE-RQ
and the C-FIND-RQ encoded once, responses read as whole PDUs and only their
status looked at. It costs a few tens of microseconds per response, so the
server, not the client, is what is measured (pynetdicom as a client sleeps
in 1 ms poll loops at every hop)."""

from __future__ import annotations

import socket
import struct
import time

from pydicom.dataset import Dataset
from pydicom.uid import ImplicitVRLittleEndian
from pynetdicom.dsutils import encode
from pynetdicom.pdu import A_ASSOCIATE_RQ
from pynetdicom.pdu_primitives import A_ASSOCIATE, ImplementationClassUIDNotification, MaximumLengthNotification
from pynetdicom.presentation import PresentationContext

MWL_FIND = "1.2.840.10008.5.1.4.31"
HEADER = struct.Struct(">BBL")
STATUS_TAG = struct.pack("<HH", 0x0000, 0x0900)


def association_rq(calling: str, called: str) -> bytes:
    primitive = A_ASSOCIATE()
    primitive.application_context_name = "1.2.840.10008.3.1.1.1"
    primitive.calling_ae_title = calling
    primitive.called_ae_title = called
    context = PresentationContext()
    context.context_id = 1
    context.abstract_syntax = MWL_FIND
    context.transfer_syntax = [ImplicitVRLittleEndian]
    primitive.presentation_context_definition_list = [context]
    maximum = MaximumLengthNotification()
    maximum.maximum_length_received = 65536
    implementation = ImplementationClassUIDNotification()
    implementation.implementation_class_uid = "2.25.243012849716391574128805093542263125462"
    primitive.user_information = [maximum, implementation]
    return A_ASSOCIATE_RQ(primitive).encode()


def find_rq(identifier: Dataset, message_id: int = 1) -> bytes:
    command = Dataset()
    command.AffectedSOPClassUID = MWL_FIND
    command.CommandField = 0x0020
    command.MessageID = message_id
    command.Priority = 0
    command.CommandDataSetType = 0x0001
    body = encode(command, True, True) or b""
    group = Dataset()
    group.CommandGroupLength = len(body)
    command_bytes = (encode(group, True, True) or b"") + body
    data = encode(identifier, True, True) or b""
    pdvs = struct.pack(">LBB", len(command_bytes) + 2, 1, 0x03) + command_bytes
    pdvs += struct.pack(">LBB", len(data) + 2, 1, 0x02) + data
    return HEADER.pack(0x04, 0, len(pdvs)) + pdvs


RELEASE_RQ = HEADER.pack(0x05, 0, 4) + b"\x00" * 4


class Client:
    def __init__(self, port: int, calling: str = "BENCH", called: str = "RIS", timeout: float = 600):
        started = time.perf_counter()
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""
        self.name = str(port)
        self.sock.sendall(association_rq(calling, called))
        pdu_type, _ = self._pdu()
        if pdu_type != 0x02:
            raise RuntimeError(f"association not accepted (PDU type {pdu_type})")
        self.open_seconds = time.perf_counter() - started

    def _pdu(self) -> tuple[int, bytes]:
        header = self._exact(6)
        pdu_type, _, length = HEADER.unpack(header)
        return pdu_type, self._exact(length)

    def _exact(self, size: int) -> bytes:
        while len(self.buffer) < size:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("closed by the server")
            self.buffer += chunk
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def find(self, request: bytes) -> tuple[int, int]:
        """(pending responses, final status) of one C-FIND."""
        self.sock.sendall(request)
        pending = 0
        while True:
            pdu_type, body = self._pdu()
            if pdu_type != 0x04:
                raise RuntimeError(f"{self.name}: PDU type {pdu_type} during a C-FIND: {body[:64]!r}")
            for status in _statuses(body):
                if status in (0xFF00, 0xFF01):
                    pending += 1
                else:
                    return pending, status

    def release(self) -> None:
        try:
            self.sock.sendall(RELEASE_RQ)
            self._pdu()
        finally:
            self.sock.close()

    def close(self) -> None:
        self.sock.close()


def _statuses(body: bytes):  # type: ignore[no-untyped-def]
    offset = 0
    while offset < len(body):
        length, _context, control = struct.unpack_from(">LBB", body, offset)
        if control & 0x03 == 0x03:  # the last fragment of a command set: it holds the Status
            fragment = body[offset + 6 : offset + 4 + length]
            at = fragment.find(STATUS_TAG)
            if at >= 0:
                yield struct.unpack_from("<H", fragment, at + 8)[0]
        offset += 4 + length
