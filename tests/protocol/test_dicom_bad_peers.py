"""Bad DICOM peers: each is refused with a failure status or an abort, and
the listener goes on serving the others."""

import socket
import struct
import time

import pytest
from pydicom.dataset import Dataset
from pynetdicom import AE
from pynetdicom.sop_class import ModalityWorklistInformationFind, Verification

pytestmark = pytest.mark.slow


def _associate(port: int, context=ModalityWorklistInformationFind):
    ae = AE(ae_title="BADPEER")
    ae.add_requested_context(context)
    assoc = ae.associate("127.0.0.1", port, ae_title="RIS")
    assert assoc.is_established
    return assoc


def _echo_works(port: int) -> bool:
    assoc = _associate(port, Verification)
    ok = assoc.send_c_echo().Status == 0x0000
    assoc.release()
    return ok


def _find_statuses(port: int, query: Dataset) -> list[tuple[int, Dataset | None]]:
    assoc = _associate(port)
    answers = [(s.Status, ident) for s, ident in assoc.send_c_find(query, ModalityWorklistInformationFind)]
    assoc.release()
    return answers


def test_invalid_date_key_gets_c000_without_identifier(dicom):
    query = Dataset()
    item = Dataset()
    item.ScheduledProcedureStepStartDate = "2026-13-45"
    query.ScheduledProcedureStepSequence = [item]
    [(status, identifier)] = _find_statuses(dicom, query)
    assert status == 0xC000
    assert identifier is None
    assert _echo_works(dicom)


def test_two_items_in_the_step_sequence_get_a900(dicom):
    query = Dataset()
    query.ScheduledProcedureStepSequence = [Dataset(), Dataset()]
    [(status, identifier)] = _find_statuses(dicom, query)
    assert status == 0xA900 and identifier is None  # PS3.4 K.6.1.2.2: one item only


def _abort_received_for(port: int, pdu: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(pdu)
        try:
            return sock.recv(64)
        except ConnectionResetError:
            return b""


def test_a_pdu_announcing_more_than_the_limit_is_aborted_before_it_is_read(dicom):
    header = struct.pack(">BBL", 0x01, 0x00, 512 * 1024 * 1024)  # an A-ASSOCIATE-RQ of 512 MiB
    answer = _abort_received_for(dicom, header + b"\x00" * 1024)
    assert answer == b"" or answer[0] == 0x07  # closed, or A-ABORT
    assert _echo_works(dicom)


def test_garbage_instead_of_a_pdu_is_aborted_and_others_are_served(dicom):
    answer = _abort_received_for(dicom, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert answer == b"" or answer[0] == 0x07
    assert _echo_works(dicom)


def test_an_idle_association_is_closed_after_the_timeout(transactional_db, settings):
    from worklist import scp

    settings.RIS_DICOM_IDLE_TIMEOUT = 1
    server = scp.start("127.0.0.1", 0)
    try:
        assoc = _associate(server.server_address[1], Verification)
        time.sleep(3)
        assert not assoc.is_established
    finally:
        server.shutdown()
