"""Group commit (hl7/group_commit.py): the statements of messages that came
on several connections while the listener's database lane was busy go
together, as one transaction; each message is still answered for what it
is: a statement that fails among them gets its own answer, and the others
are applied all the same."""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest
from django.db import connection

from hl7 import group_commit, metrics
from hl7.models import InboundMessage
from infra.db import HeldConnection, _connect_params
from tests.hl7_builders import orm_new_order
from tests.peers import MllpClient, ack_segments, mllp_frame

pytestmark = pytest.mark.slow


@pytest.fixture
def clients(mllp) -> Iterator[list[MllpClient]]:
    if connection.vendor != "postgresql":
        pytest.skip("the one-statement path, and its lanes, are PostgreSQL's")
    opened = [MllpClient(mllp.port) for _ in range(4)]
    try:
        for number, client in enumerate(opened):  # a connection's first message reads its sender's rules
            assert ack_segments(client.exchange(_order(f"GC-W{number}")))["MSA"][1] == "AA"
        yield opened
    finally:
        for client in opened:
            client.close()


def _order(control_id: str, placer: str | None = None) -> str:
    return orm_new_order(control_id, patient_id=f"P{control_id}", placer=placer or f"PL{control_id}", accession="")


class _HeldBack:
    """The log's table locked from another session, so that the lane's
    next statement waits on it until `release`."""

    def __init__(self) -> None:
        self.session = psycopg.connect(**_connect_params())
        self.session.execute(f"LOCK TABLE {InboundMessage._meta.db_table} IN SHARE ROW EXCLUSIVE MODE")

    def wait_for_the_lane(self) -> None:
        for _ in range(500):
            self.session.execute("SELECT pg_stat_clear_snapshot()")  # else read once per transaction
            row = self.session.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s AND wait_event_type = 'Lock'",
                [group_commit.APPLICATION_NAME],
            ).fetchone()
            if row and row[0]:
                return
            time.sleep(0.01)
        raise AssertionError("the lane's statement never waited on the lock")

    def release(self) -> None:
        self.session.rollback()
        self.session.close()


def _held_back_then_three(clients: list[MllpClient], messages: list[str]) -> list[list[str]]:
    """The first message's statement held on the lane; the next three sent
    on the other connections meanwhile; the MSA of each, in the order given."""
    held = _HeldBack()
    try:
        clients[0].send_raw(mllp_frame(messages[0]))
        held.wait_for_the_lane()
        for client, message in zip(clients[1:], messages[1:], strict=True):
            client.send_raw(mllp_frame(message))
        time.sleep(0.5)  # read and made by the loop, waiting for the lane
    finally:
        held.release()
    return [ack_segments(client.read_ack())["MSA"][1:3] for client in clients]


def _transactions(control_ids: list[str]) -> dict[str, str]:
    """Each message's row, by the transaction that wrote it (xmin)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT control_id, xmin::text FROM {InboundMessage._meta.db_table} WHERE control_id = ANY(%s)",
            [control_ids],
        )
        return dict(cursor.fetchall())


def test_messages_that_came_while_the_lane_was_busy_are_committed_together(clients):
    ids = ["GC-A", "GC-B", "GC-C", "GC-D"]
    batches, statements = _per_commit()
    acks = _held_back_then_three(clients, [_order(control_id) for control_id in ids])
    assert _per_commit() == (batches + 2, statements + 4)  # A alone, then B, C and D together
    assert acks == [["AA", control_id] for control_id in ids]
    written = _transactions(ids)
    assert len(written) == 4
    assert written["GC-B"] == written["GC-C"] == written["GC-D"]  # one transaction, one commit
    assert written["GC-A"] != written["GC-B"]
    assert InboundMessage.objects.filter(control_id__in=ids, status=InboundMessage.Status.APPLIED).count() == 4


def test_a_message_that_fails_among_others_gets_its_own_answer_and_the_others_are_applied(clients):
    messages = [_order("GC-E"), _order("GC-F"), _order("GC-G", placer="PLGC-F"), _order("GC-H")]
    acks = _held_back_then_three(clients, messages)
    # GC-G reuses GC-F's placer number: the reference way refuses it (AE 205), as it would alone.
    assert acks[0] == ["AA", "GC-E"]
    assert acks[1] == ["AA", "GC-F"]
    assert acks[2] == ["AE", "GC-G"]
    assert acks[3] == ["AA", "GC-H"]
    applied = InboundMessage.objects.filter(control_id__in=["GC-E", "GC-F", "GC-G", "GC-H"], status="APPLIED")
    assert sorted(applied.values_list("control_id", flat=True)) == ["GC-E", "GC-F", "GC-H"]
    written = _transactions(["GC-F", "GC-H"])
    assert written["GC-F"] == written["GC-H"]  # sent together again, without GC-G


def test_a_fault_on_the_lane_sends_its_messages_the_reference_way_and_the_next_goes_on_a_new_lane(clients, monkeypatch):
    real = group_commit.Lane.gather
    failed: list[str] = []

    def gather(self):
        if not failed:
            failed.append("once")
            raise RuntimeError("a fault of ours")
        return real(self)

    monkeypatch.setattr(group_commit.Lane, "gather", gather)
    applied, reference = _paths_taken()
    assert ack_segments(clients[0].exchange(_order("GC-R1")))["MSA"][1:3] == ["AA", "GC-R1"]
    assert failed  # the fault was met
    assert _paths_taken() == (applied, reference + 1)  # the reference way answered
    assert ack_segments(clients[1].exchange(_order("GC-R2")))["MSA"][1:3] == ["AA", "GC-R2"]
    assert _paths_taken() == (applied + 1, reference + 1)  # in one statement again, on the lane opened again
    rows = InboundMessage.objects.filter(control_id__in=["GC-R1", "GC-R2"], status="APPLIED")
    assert rows.count() == 2


def _per_commit() -> tuple[float, float]:
    """Transactions sent, and statements in them (`ris_hl7_statements_per_commit`)."""
    samples = {sample.name: sample.value for sample in metrics.HL7_STATEMENTS_PER_COMMIT.collect()[0].samples}
    return samples["ris_hl7_statements_per_commit_count"], samples["ris_hl7_statements_per_commit_sum"]


def _paths_taken() -> tuple[float, float]:
    paths = metrics.HL7_ONE_STATEMENT
    return paths.labels("applied")._value.get(), paths.labels("reference")._value.get()


def test_a_lane_idle_for_long_is_checked_on_a_worker_that_alone_reads_its_socket_meanwhile(mllp, clients, monkeypatch):
    monkeypatch.setattr(HeldConnection, "IDLE_CHECK_SECONDS", 0.05)
    watched_meanwhile: list[bool] = []
    real = HeldConnection.connect

    def connect(self: HeldConnection) -> None:
        channel = self.channel()
        loop = mllp._loop
        watched_meanwhile.append(channel is not None and loop is not None and channel[0] in loop.poller._data)
        real(self)

    monkeypatch.setattr(HeldConnection, "connect", connect)
    for number in range(6):
        time.sleep(0.1)  # idle past the check: the lane is checked before its next statement
        control_id = f"GC-I{number}"
        assert ack_segments(clients[number % 2].exchange(_order(control_id)))["MSA"][1:3] == ["AA", control_id]
    assert len(watched_meanwhile) == 6  # opened once, checked five times
    assert not any(watched_meanwhile)  # the loop would have read the check's answer away from the worker
    assert InboundMessage.objects.filter(control_id__startswith="GC-I", status="APPLIED").count() == 6
