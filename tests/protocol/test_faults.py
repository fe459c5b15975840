"""Faults: a listener killed mid-stream, the database going away."""

import signal
import time

import pytest
from django.db import connection
from pydicom.dataset import Dataset
from pynetdicom import AE
from pynetdicom.sop_class import ModalityWorklistInformationFind

from hl7.models import InboundMessage
from ris.models import ImagingOrder, Patient
from tests.hl7_builders import orm_new_order
from tests.peers import MllpClient, ack_segments, mllp_frame
from tests.processes import TcpProxy, database_url, free_port, start_command, stop

pytestmark = pytest.mark.slow


def _order(n: int) -> str:
    return orm_new_order(f"CR{n:03d}", patient_id=f"CRP{n}", placer=f"CRPL{n}", accession=f"CRA{n}")


def _stream_until_killed(port: int, count: int, proc, kill_after: int) -> dict[str, str]:
    """Pipeline all orders on one connection; SIGKILL the listener after some ACKs."""
    acks: dict[str, str] = {}
    client = MllpClient(port, timeout=10)
    client.send_raw(b"".join(mllp_frame(_order(n)) for n in range(count)))
    try:
        while len(acks) < count:
            msa = ack_segments(client.read_ack())["MSA"]
            acks[msa[2]] = msa[1]
            if len(acks) == kill_after:
                proc.send_signal(signal.SIGKILL)
    except (ConnectionError, OSError):
        pass
    finally:
        client.close()
    return acks


def test_listener_killed_mid_stream_loses_no_acked_order_and_applies_none_twice(transactional_db):
    port, count = free_port(), 40
    proc = start_command(["mllp", "--port", str(port)], port)
    acks = _stream_until_killed(port, count, proc, kill_after=12)
    proc.wait(timeout=10)
    assert 12 <= len(acks) < count, "the kill must land mid-stream"

    proc = start_command(["mllp", "--port", str(port)], port)
    try:
        with MllpClient(port) as client:  # the sender resends all it has no AA for
            for n in range(count):
                if acks.get(f"CR{n:03d}") != "AA":
                    assert ack_segments(client.exchange(_order(n)))["MSA"][1] == "AA"
    finally:
        stop(proc)
    applied = InboundMessage.objects.filter(status=InboundMessage.Status.APPLIED)
    assert {m.control_id for m in applied} == {f"CR{n:03d}" for n in range(count)}
    assert applied.count() == count  # none applied twice
    assert ImagingOrder.objects.count() == count
    assert Patient.objects.count() == count


REJECTED_TRANSIENT = -2


def _until(attempt, seconds: float = 60) -> bool:
    """The listeners recover by themselves: a sender that tries again gets through."""
    deadline = time.monotonic() + seconds
    while not attempt():
        if time.monotonic() > deadline:
            return False
        time.sleep(1)
    return True


def _find(port: int) -> list[int]:
    ae = AE(ae_title="FAULTSCU")
    ae.add_requested_context(ModalityWorklistInformationFind)
    assoc = ae.associate("127.0.0.1", port, ae_title="RIS")
    if assoc.is_rejected:  # the registry could not be read: A-ASSOCIATE-RJ, rejected-transient
        return [REJECTED_TRANSIENT]
    assert assoc.is_established
    query = Dataset()
    query.PatientID = ""
    statuses = [status.Status for status, _ in assoc.send_c_find(query, ModalityWorklistInformationFind)]
    assoc.release()
    return statuses


def test_database_down_gives_ar_and_dicom_failure_and_both_recover(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("needs a database server to take away (CI runs on PostgreSQL)")
    settings = connection.settings_dict
    proxy = TcpProxy((settings.get("HOST") or "127.0.0.1", int(settings.get("PORT") or 5432)))
    env = {"DATABASE_URL": database_url(proxy.port)}
    mllp_port, dicom_port = free_port(), free_port()
    mllp = start_command(["mllp", "--port", str(mllp_port)], mllp_port, env=env)
    dicom = start_command(["dicomscp", "--port", str(dicom_port)], dicom_port, env=env)
    try:
        with MllpClient(mllp_port, timeout=40) as client:
            assert ack_segments(client.exchange(_order(1)))["MSA"][1] == "AA"
            assert _find(dicom_port)[-1] == 0x0000
            proxy.down()
            down_ack = ack_segments(client.exchange(_order(2)))
            assert down_ack["MSA"][1] == "AR" and "ERR" in down_ack
            assert _find(dicom_port)[-1] in (0xA700, REJECTED_TRANSIENT)
            proxy.up()
            assert _until(lambda: ack_segments(client.exchange(_order(3)))["MSA"][1] == "AA")
            assert _until(lambda: _find(dicom_port)[-1] == 0x0000)
        with MllpClient(mllp_port) as again:  # the refused one, resent, is applied now
            assert ack_segments(again.exchange(_order(2)))["MSA"][1] == "AA"
    finally:
        stop(mllp)
        stop(dicom)
        proxy.down()
    assert ImagingOrder.objects.count() == 3
