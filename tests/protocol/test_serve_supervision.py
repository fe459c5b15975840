"""`serve` supervises one child process per door: a killed worker is
reported by /health/ready and started again; messages a crash left stored
but unanswered are processed again when serve starts."""

import json
import os
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from hl7.log import inbound_store
from hl7.models import InboundMessage
from ris.models import ImagingOrder
from ris.records import MessageHeader
from tests.hl7_builders import orm_new_order
from tests.processes import free_port, start_command, stop, wait_for_port

pytestmark = pytest.mark.slow


def _ready(port: int) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def _until(predicate, seconds: float = 120):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.1)
    raise AssertionError("not reached in time")


def _serve(tmp_path: Path, *args: str, backoff: str = "1"):
    web, mllp, dicom = free_port(), free_port(), free_port()
    status = tmp_path / "serve-status.json"
    env = {
        "RIS_HTTP_PORT": str(web),
        "RIS_MLLP_PORT": str(mllp),
        "RIS_DICOM_PORT": str(dicom),
        "RIS_DICOMWEB_EVENTS_PORT": str(free_port()),
        "RIS_SERVE_STATUS_FILE": str(status),
        "RIS_SERVE_RESTART_BACKOFF_SECONDS": backoff,
        "RIS_VAR_DIR": str(tmp_path),
    }
    # four Django processes start at once: slow on a loaded machine
    proc = start_command(["serve", *args], web, env=env, timeout=120)
    try:
        for port in (mllp, dicom):
            wait_for_port(port, proc, 120)
    except BaseException:
        stop(proc)
        raise
    return proc, web, mllp, status


def _children(status: Path) -> dict:
    return json.loads(status.read_text())["children"]


def _started_by(parent: int) -> list[int]:
    """The running processes whose parent is `parent`."""
    return [pid for pid, (state, ppid) in _processes().items() if ppid == parent and state != "Z"]


def _running(pid: int) -> bool:
    state = _processes().get(pid)
    return state is not None and state[0] != "Z"  # a zombie has ended


def _processes() -> dict[int, tuple[str, int]]:
    """Every process's state and parent, from /proc."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                state, ppid = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:2]
            except OSError:
                continue
            found[int(entry.name)] = (state, int(ppid))
    return found


def test_a_killed_worker_is_reported_by_ready_and_restarted(transactional_db, tmp_path):
    proc, web, _, status = _serve(tmp_path, backoff="5")
    try:
        worker = _until(lambda: _children(status)["worker"]["pid"])
        assert _until(lambda: _ready(web)[0] == 200)
        beat = _until(lambda: _started_by(worker))  # the embedded beat, a process of the worker's
        os.kill(worker, signal.SIGKILL)
        _, body = _until(lambda: (r := _ready(web))[0] == 503 and r)
        assert body["checks"]["serve.worker"].startswith("down (killed by SIGKILL)")
        _, body = _until(lambda: (r := _ready(web))[0] == 200 and r)
        assert body["checks"]["serve.worker"] == "ok (restarted 1 times, last killed by SIGKILL)"
        again = _children(status)["worker"]["pid"]
        assert again != worker
        os.kill(again, 0)  # it runs
        assert _until(lambda: not any(_running(pid) for pid in beat))  # its beat went with it: no second beat
        with urllib.request.urlopen(f"http://127.0.0.1:{web}/metrics", timeout=10) as page:
            metrics = page.read().decode()
        assert 'ris_serve_child_restarts{child="worker"} 1.0' in metrics
        assert 'ris_serve_child_up{child="mllp"} 1.0' in metrics
    finally:
        stop(proc)


def test_each_door_runs_in_a_child_process_of_its_own(transactional_db, tmp_path):
    proc, _, _, status = _serve(tmp_path, "--no-worker")
    try:
        pids = {name: child["pid"] for name, child in _children(status).items()}
        assert set(pids) == {"web", "mllp", "dicom", "events"}
        assert len(set(pids.values())) == 4 and proc.pid not in pids.values()
    finally:
        stop(proc)


def test_messages_left_unanswered_by_a_sigkill_are_processed_again_at_start(transactional_db, tmp_path):
    proc, _, _, status = _serve(tmp_path, "--no-worker")
    children = [child["pid"] for child in _children(status).values()]
    # What a listener killed mid-message leaves: stored raw, never applied nor answered.
    for n, modality in ((1, "CT"), (2, "MR"), (3, "X" * 20)):  # the third cannot be applied
        raw = orm_new_order(f"LEFT{n}", placer=f"PL{n}", accession=f"ACC{n}", modality=modality).encode()
        header = MessageHeader("EHR", "HOSP", f"LEFT{n}", "ORM^O01", "2.3.1")
        inbound_store(raw=raw, peer="127.0.0.1:1", header=header)
    InboundMessage.objects.update(received_at=InboundMessage.objects.first().received_at.replace(year=2020))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    _until(lambda: not any(_alive(pid) for pid in children), 20)  # the children died with it
    proc, _, _, _ = _serve(tmp_path, "--no-worker")
    try:
        rows = {m.control_id: m for m in InboundMessage.objects.all()}
        assert rows["LEFT1"].status == rows["LEFT2"].status == "APPLIED"
        assert rows["LEFT3"].status == "REJECTED" and rows["LEFT3"].ack_code == "AE"
        assert "recovered: left unanswered by a crash" in rows["LEFT3"].error
        assert ImagingOrder.objects.count() == 2
    finally:
        stop(proc)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:  # a zombie is dead too
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_the_mllp_command_processes_again_what_a_crash_left_unanswered(transactional_db):
    raw = orm_new_order("LEFT9", placer="PL9", accession="ACC9").encode()
    inbound_store(raw=raw, peer="127.0.0.1:1", header=MessageHeader("EHR", "HOSP", "LEFT9", "ORM^O01", "2.3.1"))
    InboundMessage.objects.update(received_at=InboundMessage.objects.get().received_at.replace(year=2020))
    port = free_port()
    proc = start_command(["mllp", "--port", str(port)], port, timeout=120)
    try:
        assert InboundMessage.objects.get().status == "APPLIED"
        assert ImagingOrder.objects.filter(placer_number="PL9").exists()
    finally:
        stop(proc)
