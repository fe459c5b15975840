"""The status loop: ORM in over MLLP, the worklist, MPPS, and ORC-5 back to a real EHR listener."""

import datetime as dt
import socket
import time

import pytest
from django.utils import timezone
from pydicom.uid import generate_uid

from ris.models import Destination, OutboundMessage
from ris.services.outbox import outbox_deliver
from tests.ehr import FakeEhr
from tests.hl7_builders import orm_new_order
from tests.mpps_scu import MppsScu, final, in_progress, scheduled_item
from tests.peers import MllpClient, ack_segments, findscu
from tests.workers import running_worker

pytestmark = pytest.mark.slow
Status = OutboundMessage.Status
STUDY_UID = "1.2.826.0.1.3680043.8.498.6001"
ITEM = {"study_uid": STUDY_UID, "accession": "ACC1001", "rp_id": "RP1001", "sps_id": "SPS1001"}


@pytest.fixture
def ehr():
    server = FakeEhr()
    yield server
    server.stop()


def _destination(port: int, version: str = "2.3.1") -> Destination:
    return Destination.objects.create(
        name="EHR",
        kind=Destination.Kind.HL7_MLLP,
        host="127.0.0.1",
        port=port,
        hl7_version=version,
        events=["order_status"],
        timeout_seconds=2,
        receiving_application="EHR",
        receiving_facility="HOSP",
    )


def _place_order(mllp_port: int) -> None:
    with MllpClient(mllp_port) as client:
        ack = client.exchange(orm_new_order("ORD1", study_uid=STUDY_UID))
    assert ack_segments(ack)["MSA"][1:3] == ["AA", "ORD1"]


def _worklist(port: int) -> list[str]:
    responses, proc = findscu(port, ["PatientID=PAT1001", "ScheduledProcedureStepSequence[0].ScheduledProcedureStepID"])
    assert proc.returncode == 0, proc.stderr
    return [r.ScheduledProcedureStepSequence[0].ScheduledProcedureStepID for r in responses]


def _orc(message: str) -> list[str]:
    return next(line for line in message.split("\r") if line.startswith("ORC")).split("|")


def _wait_for(ehr: FakeEhr, count: int, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while len(ehr.received) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(ehr.received) >= count, f"the EHR received {len(ehr.received)} of {count} messages"


def _wait_until_acked(count: int, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while OutboundMessage.objects.filter(status=Status.ACKED).count() < count and time.monotonic() < deadline:
        time.sleep(0.05)


def test_orm_in_mpps_in_progress_and_completed_send_ip_then_cm_to_the_ehr(mllp, dicom, ehr):

    _destination(ehr.port)
    uid = generate_uid()
    with running_worker():
        _place_order(mllp.port)
        assert _worklist(dicom) == ["SPS1001"]
        with MppsScu(dicom) as scu:
            assert scu.create(in_progress([scheduled_item(**ITEM)]), uid)[0].Status == 0x0000
            assert _worklist(dicom) == []  # STARTED is off the default worklist
            _wait_for(ehr, 1)
            assert _orc(ehr.received[0])[1] == "SC" and _orc(ehr.received[0])[5] == "IP"
            assert scu.set(uid, final())[0].Status == 0x0000
        _wait_for(ehr, 2)
        _wait_until_acked(2)
    assert _orc(ehr.received[1])[5] == "CM"
    assert all(m.split("\r")[0].split("|")[8] == "ORM^O01" for m in ehr.received)
    rows = list(OutboundMessage.objects.order_by("id"))
    assert [row.status for row in rows] == [Status.ACKED, Status.ACKED]
    assert [row.control_id for row in rows] == ehr.control_ids()
    assert all(f"MSA|AA|{row.control_id}" in row.response for row in rows)
    assert all(row.order.accession_number == "ACC1001" for row in rows)


def _unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ehr_down_keeps_status_messages_retries_with_backoff_and_delivers_them_in_order(mllp, dicom):
    destination = _destination(_unused_port(), version="2.5.1")
    uid = generate_uid()
    _place_order(mllp.port)
    with MppsScu(dicom) as scu:
        scu.create(in_progress([scheduled_item(**ITEM)]), uid)
        scu.set(uid, final())
    waits = [_failed_attempt(destination) for _ in range(2)]
    assert 4 < waits[0] <= 5 and 9 < waits[1] <= 10  # exponential backoff: 5 s, then 10 s
    ip, cm = OutboundMessage.objects.order_by("id")
    assert (ip.status, ip.attempts, cm.status) == (Status.RETRYING, 2, Status.PENDING)  # CM waits behind IP

    ehr = FakeEhr()
    try:
        Destination.objects.filter(pk=destination.pk).update(port=ehr.port)
        OutboundMessage.objects.update(next_attempt_at=timezone.now() - dt.timedelta(seconds=1))
        assert outbox_deliver(destination_id=destination.pk) == 2
        assert [_orc(m)[5] for m in ehr.received] == ["IP", "CM"]
        cm.refresh_from_db()  # built on its first attempt, just now; IP was built before its first failure
        assert ehr.control_ids() == [ip.control_id, cm.control_id]  # MSH-10 kept across retries
        assert all("OMI^O23" in m.split("\r")[0] for m in ehr.received)
    finally:
        ehr.stop()
    assert set(OutboundMessage.objects.values_list("status", flat=True)) == {Status.ACKED}


def _failed_attempt(destination: Destination) -> float:
    """One delivery attempt to the closed port; returns the seconds until the retry."""
    OutboundMessage.objects.filter(next_attempt_at__isnull=False).update(next_attempt_at=timezone.now())
    assert outbox_deliver(destination_id=destination.pk) == 0
    first = OutboundMessage.objects.order_by("id").first()
    assert "ConnectionRefusedError" in first.last_error
    return (first.next_attempt_at - timezone.now()).total_seconds()
