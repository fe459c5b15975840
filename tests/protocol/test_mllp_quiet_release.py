"""A streaming MLLP connection keeps its thread's pooled database connection
from one message to the next, and gives it back once the sender is quiet."""

from __future__ import annotations

import time

import pytest

from hl7 import server as mllp_server
from tests.hl7_builders import orm_new_order
from tests.peers import MllpClient, mllp_frame


@pytest.fixture
def releases(monkeypatch):
    calls: list[float] = []
    real = mllp_server.release_connection

    def counted() -> None:
        calls.append(time.monotonic())
        real()

    monkeypatch.setattr(mllp_server, "release_connection", counted)
    return calls


def test_messages_streamed_back_to_back_release_the_connection_only_when_the_sender_goes_quiet(
    transactional_db, releases
):
    server, _ = mllp_server.start_in_thread("127.0.0.1", 0, write_path="reference")
    try:
        with MllpClient(server.port) as client:
            frames = b"".join(
                mllp_frame(orm_new_order(f"Q{n}", patient_id=f"PQ{n}", placer=f"PLQ{n}", accession=""))
                for n in range(5)
            )
            client.send_raw(frames)  # five messages in one write: no pause between them
            acks = [client.read_ack() for _ in range(5)]
            assert all(b"MSA|AA|" in ack for ack in acks)
            assert releases == []  # not once between the five
            deadline = time.monotonic() + 10
            while not releases and time.monotonic() < deadline:
                time.sleep(0.05)
            assert len(releases) == 1  # quiet for QUIET_SECONDS: given back once
            assert b"MSA|AA|" in client.exchange(orm_new_order("Q9", patient_id="PQ9", placer="PLQ9", accession=""))
    finally:
        server.stop()
