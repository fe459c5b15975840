"""TLS on both listeners, with certificates made by openssl for the test."""

import shutil
import socket
import ssl

import pytest
from pynetdicom import AE
from pynetdicom.sop_class import Verification

from hl7 import server as mllp_server
from hl7.models import InboundMessage
from infra.tls import server_context
from tests.certificates import self_signed
from tests.hl7_builders import orm_new_order
from tests.peers import ack_segments, mllp_frame
from worklist import scp

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command"),
]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tls")
    return self_signed(folder)


def _client_context(cert: str) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=cert)
    return context


def test_mllp_over_tls_acks_an_order_and_refuses_plain_tcp(transactional_db, certificate):
    cert, key = certificate
    server, _ = mllp_server.start_in_thread("127.0.0.1", 0, idle_timeout=5, ssl_context=server_context(cert, key))
    try:
        assert ack_segments(_tls_exchange(server.port, cert, "TLS1"))["MSA"][1:3] == ["AA", "TLS1"]
        assert _plain_answer(server.port, mllp_frame(orm_new_order("TLS2"))) == b""
        assert not InboundMessage.objects.filter(control_id="TLS2").exists()
    finally:
        server.stop()


def test_peers_that_never_finish_their_tls_handshake_hold_up_no_other_sender(transactional_db, certificate):
    cert, key = certificate
    server, _ = mllp_server.start_in_thread("127.0.0.1", 0, idle_timeout=30, ssl_context=server_context(cert, key))
    stalled = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(mllp_server.WORKERS + 4)]
    try:
        for sock in stalled:
            sock.sendall(b"\x16\x03\x01")  # the start of a ClientHello, and then nothing
        assert ack_segments(_tls_exchange(server.port, cert, "TLS3"))["MSA"][1:3] == ["AA", "TLS3"]
    finally:
        for sock in stalled:
            sock.close()
        server.stop()


def _tls_exchange(port: int, cert: str, control_id: str) -> bytes:
    """One order over TLS; its ACK without the MLLP frame."""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        _client_context(cert).wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        tls.sendall(mllp_frame(orm_new_order(control_id)))
        return tls.recv(65536)[1:-2]


def _plain_answer(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as plain:
        plain.sendall(data)
        try:
            return plain.recv(65536)
        except ConnectionResetError:
            return b""


def test_dicom_over_tls_answers_c_echo(transactional_db, certificate):
    cert, key = certificate
    server = scp.start("127.0.0.1", 0, ssl_context=server_context(cert, key))
    try:
        ae = AE(ae_title="TLSSCU")
        ae.add_requested_context(Verification)
        assoc = ae.associate(
            "127.0.0.1", server.server_address[1], ae_title="RIS", tls_args=(_client_context(cert), "127.0.0.1")
        )
        assert assoc.is_established
        assert assoc.send_c_echo().Status == 0x0000
        assoc.release()
    finally:
        server.shutdown()
