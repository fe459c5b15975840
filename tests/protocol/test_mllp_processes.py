"""`manage.py mllp --processes N`: children forked from one bound port, each
accepting connections; a child that dies is forked again."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from hl7.models import InboundMessage
from ris.models import ImagingOrder
from tests.hl7_builders import orm_new_order
from tests.peers import MllpClient
from tests.processes import free_port, start_command, stop

pytestmark = pytest.mark.slow


def _children(pid: int) -> set[int]:
    return {int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}


def _wait_for_children(pid: int, count: int, timeout: float = 60) -> set[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        children = _children(pid)
        if len(children) == count:
            return children
        time.sleep(0.1)
    raise AssertionError(f"{count} children expected, found {sorted(_children(pid))}")


def _send_orders(port: int, prefix: str, count: int, acks: list[bytes]) -> None:
    with MllpClient(port, timeout=60) as client:
        for n in range(count):
            message = orm_new_order(
                f"{prefix}-{n}", patient_id=f"P{prefix}-{n}", placer=f"PL{prefix}-{n}", accession=""
            )
            acks.append(client.exchange(message))


def test_connections_to_several_processes_are_all_answered_aa_after_their_orders(transactional_db):
    port = free_port()
    proc = start_command(["mllp", "--port", str(port), "--processes", "2"], port, timeout=120)
    try:
        assert len(_wait_for_children(proc.pid, 2)) == 2
        acks: list[bytes] = []
        senders = [threading.Thread(target=_send_orders, args=(port, f"C{n}", 5, acks)) for n in range(4)]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join()
        assert len(acks) == 20
        assert all(b"MSA|AA|" in ack for ack in acks)
        assert ImagingOrder.objects.filter(placer_number__startswith="PLC").count() == 20
        assert InboundMessage.objects.filter(status="APPLIED").count() == 20
    finally:
        stop(proc)
    assert not _children_alive(proc.pid)


def test_a_killed_child_is_forked_again_and_the_port_keeps_answering(transactional_db):
    port = free_port()
    proc = start_command(["mllp", "--port", str(port), "--processes", "2"], port, timeout=120)
    try:
        before = _wait_for_children(proc.pid, 2)
        victim = min(before)
        os.kill(victim, signal.SIGKILL)
        after = _wait_for_children_other_than(proc.pid, before, victim)
        assert victim not in after and len(after) == 2
        for n in range(4):  # new connections, to whichever child accepts them
            with MllpClient(port, timeout=60) as client:
                ack = client.exchange(orm_new_order(f"K{n}", patient_id=f"PK{n}", placer=f"PLK{n}", accession=""))
            assert b"MSA|AA|" in ack
    finally:
        stop(proc)


def _wait_for_children_other_than(pid: int, before: set[int], victim: int, timeout: float = 60) -> set[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        children = _children(pid)
        if victim not in children and len(children) == 2 and children != before:
            return children
        time.sleep(0.1)
    raise AssertionError(f"the killed child {victim} was not replaced: {sorted(_children(pid))}")


def _children_alive(pid: int) -> bool:
    try:
        return bool(_children(pid))
    except OSError:  # the parent is gone, and with it its children
        return False


def test_children_stop_when_their_parent_is_killed(transactional_db):
    port = free_port()
    proc = start_command(["mllp", "--port", str(port), "--processes", "2"], port, timeout=120)
    children: set[int] = set()
    try:
        children = _wait_for_children(proc.pid, 2)
        proc.kill()  # SIGKILL: the parent cannot stop them itself
        proc.wait()
        deadline = time.monotonic() + 30
        while any(_alive(child) for child in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(child) for child in children)
    finally:
        stop(proc)
        for child in children:
            if _alive(child):
                os.kill(child, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:  # a zombie is dead too
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
