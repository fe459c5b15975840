"""Hostile DICOM peers over real sockets: none of them keeps a modality from
its worklist, and none makes the process grow.

The hostile connections come from 127.0.0.2, the modality (dcmtk's findscu,
pynetdicom) from 127.0.0.1: the per-address limit is what keeps them apart.
"""

import contextlib
import socket
import struct
import threading
import time
from pathlib import Path

import pytest
from pydicom.dataset import Dataset
from pynetdicom import AE
from pynetdicom.sop_class import ModalityPerformedProcedureStep, Verification

from tests.mpps_scu import in_progress, scheduled_item
from tests.peers import findscu
from tests.worklist_builders import schedule
from worklist import scp

pytestmark = pytest.mark.slow
HOSTILE = "127.0.0.2"


@pytest.fixture
def guarded(transactional_db, settings):
    """A listener with a short ARTIM and small limits, so the tests are quick."""
    settings.RIS_DICOM_ARTIM_TIMEOUT = 1.0
    settings.RIS_DICOM_MAX_PER_ADDRESS = 8
    settings.RIS_DICOM_MAX_ASSOCIATIONS = 20
    settings.RIS_DICOM_MAX_DATASET = 64 * 1024
    server = scp.start("127.0.0.1", 0)
    yield server
    server.shutdown()


def _hostile_connection(port: int) -> socket.socket:
    sock = socket.socket()
    sock.bind((HOSTILE, 0))
    sock.settimeout(10)
    sock.connect(("127.0.0.1", port))
    return sock


def _closed_or_aborted(sock: socket.socket) -> bool:
    try:
        answer = sock.recv(64)
    except (ConnectionResetError, TimeoutError):
        return False
    return answer == b"" or answer[0] in (0x03, 0x07)  # closed, A-ASSOCIATE-RJ or A-ABORT


def _modality_finds(port: int) -> bool:
    responses, proc = findscu(port, ["ScheduledProcedureStepSequence[0].ScheduledProcedureStepID"])
    return proc.returncode == 0 and len(responses) == 1


def _association_rq_start() -> bytes:
    """The first bytes of an A-ASSOCIATE-RQ of 200 bytes that never comes whole."""
    return struct.pack(">BBL", 0x01, 0x00, 200) + b"\x00\x01\x00\x00RIS             "


def test_trickling_and_silent_connections_neither_hold_their_slots_nor_block_a_modality(guarded):
    schedule(sps_id="S1")
    port = guarded.server_address[1]
    silent = [_hostile_connection(port) for _ in range(10)]  # two over the per-address limit
    trickling = [_hostile_connection(port) for _ in range(4)]
    stop = threading.Event()

    def trickle():
        start = _association_rq_start()
        for n in range(len(start)):
            for sock in trickling:
                with contextlib.suppress(OSError):
                    sock.send(start[n : n + 1])
            if stop.wait(0.3):
                return

    threading.Thread(target=trickle, daemon=True).start()
    try:
        assert all(_modality_finds(port) for _ in range(3))
        # ARTIM: each hostile connection is dropped, however slowly it keeps sending
        assert all(_closed_or_aborted(sock) for sock in silent + trickling)
        assert _modality_finds(port)
    finally:
        stop.set()
        for sock in silent + trickling:
            sock.close()


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _push_split_header(port: int, megabytes: int) -> None:
    """A 4 GiB PDU announced with its six-byte header sent as 1 + 5 bytes, then data."""
    with _hostile_connection(port) as sock:
        sock.send(b"\x01")
        time.sleep(0.05)
        sock.send(b"\x00" + struct.pack(">L", 0xFFFFFFF0))
        block = b"\x00" * 65536
        try:
            for _ in range(megabytes * 16):
                sock.sendall(block)
        except OSError:
            pass  # aborted and closed, as it should be


def test_a_split_pdu_header_announcing_4_gib_is_aborted_and_memory_stays_flat(guarded):
    port = guarded.server_address[1]
    before = _rss_kib()
    pushers = [threading.Thread(target=_push_split_header, args=(port, 64)) for _ in range(2)]
    for pusher in pushers:
        pusher.start()
    for pusher in pushers:
        pusher.join(timeout=60)
    assert _rss_kib() - before < 32 * 1024  # the pushers offered 128 MiB
    schedule(sps_id="S1")
    assert _modality_finds(port)


def _mpps_ae() -> AE:
    ae = AE(ae_title="CT01")
    ae.add_requested_context(ModalityPerformedProcedureStep)
    ae.add_requested_context(Verification)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 10
    return ae


def test_more_associations_from_one_address_than_the_limit_are_rejected_local_limit_exceeded(guarded):
    port = guarded.server_address[1]
    held = [_mpps_ae().associate("127.0.0.1", port, ae_title="RIS") for _ in range(8)]
    try:
        assert all(assoc.is_established for assoc in held)
        refused = _mpps_ae().associate("127.0.0.1", port, ae_title="RIS")
        assert refused.is_rejected
        held.pop().release()
        time.sleep(0.2)
        again = _mpps_ae().associate("127.0.0.1", port, ae_title="RIS")
        assert again.is_established
        held.append(again)
    finally:
        for assoc in held:
            assoc.release()


def test_an_oversized_mpps_data_set_is_answered_0213_and_the_association_goes_on(guarded):
    port = guarded.server_address[1]
    ds = in_progress([scheduled_item("1.2.3.4")])
    ds.CommentsOnThePerformedProcedureStep = "x" * (200 * 1024)  # LT, over the 64 KiB cap
    assoc = _mpps_ae().associate("127.0.0.1", port, ae_title="RIS")
    try:
        status, _ = assoc.send_n_create(ds, ModalityPerformedProcedureStep, "1.2.3.4.5.6")
        assert status.Status == 0x0213
        assert assoc.send_c_echo().Status == 0x0000
    finally:
        assoc.release()


def test_an_oversized_c_find_identifier_is_answered_a700(guarded):
    from pynetdicom.sop_class import ModalityWorklistInformationFind

    query = Dataset()
    query.PatientName = ""
    query.PatientComments = "x" * (200 * 1024)
    ae = AE(ae_title="CT01")
    ae.add_requested_context(ModalityWorklistInformationFind)
    assoc = ae.associate("127.0.0.1", guarded.server_address[1], ae_title="RIS")
    try:
        answers = [s.Status for s, _ in assoc.send_c_find(query, ModalityWorklistInformationFind)]
        assert answers == [0xA700]
    finally:
        assoc.release()


def _raw_association(port: int) -> socket.socket:
    """An accepted association over a raw socket (the A-ASSOCIATE-RQ pynetdicom encodes)."""
    from pynetdicom.pdu import A_ASSOCIATE_RQ
    from pynetdicom.pdu_primitives import A_ASSOCIATE, MaximumLengthNotification
    from pynetdicom.presentation import build_context

    request = A_ASSOCIATE()
    request.application_context_name = "1.2.840.10008.3.1.1.1"
    request.calling_ae_title, request.called_ae_title = "SLOW", "RIS"
    context = build_context(Verification)
    context.context_id = 1
    request.presentation_context_definition_list = [context]
    maximum = MaximumLengthNotification()
    maximum.maximum_length_received = 16384
    request.user_information = [maximum]
    sock = _hostile_connection(port)
    sock.sendall(A_ASSOCIATE_RQ(request).encode())
    assert sock.recv(1) == b"\x02"  # A-ASSOCIATE-AC
    sock.recv(65536)
    return sock


def test_a_pdu_trickling_slower_than_the_minimum_rate_is_aborted(guarded):
    """4000 bytes at the default minimum of 1024 bytes/s are due within 3.9 s;
    100 bytes every 0.2 s would take 8 s. Only 3000 are ever sent."""
    port = guarded.server_address[1]
    with _raw_association(port) as sock:
        sock.sendall(struct.pack(">BBL", 0x04, 0x00, 4000))
        sock.settimeout(0.2)
        answer = None
        for _ in range(30):
            try:
                sock.send(b"\x00" * 100)
                answer = sock.recv(64)
                break
            except TimeoutError:
                continue
            except OSError:
                answer = b""
                break
        assert answer is not None and (answer == b"" or answer[0] == 0x07)
