"""`manage.py serve` (what `make run` starts): all three listeners answer,
and one Ctrl-C stops them all."""

import signal
import socket
import subprocess
import urllib.request

import pytest

from tests.processes import free_port, start_command, wait_for_port

pytestmark = pytest.mark.slow


def _closed(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return False
    except OSError:
        return True


def test_serve_answers_on_web_mllp_and_dicom_and_stops_on_sigint(transactional_db):
    web, mllp, dicom, events = free_port(), free_port(), free_port(), free_port()
    env = {
        "RIS_HTTP_PORT": str(web),
        "RIS_MLLP_PORT": str(mllp),
        "RIS_DICOM_PORT": str(dicom),
        "RIS_DICOMWEB_EVENTS_PORT": str(events),
    }
    proc = start_command(["serve", "--no-worker"], web, env=env, timeout=120)
    try:
        for port in (mllp, dicom, events):
            wait_for_port(port, proc, 120)
        with urllib.request.urlopen(f"http://127.0.0.1:{web}/login/", timeout=10) as page:
            assert page.status == 200
        echo = subprocess.run(["echoscu", "-aec", "RIS", "127.0.0.1", str(dicom)], capture_output=True, timeout=30)
        assert echo.returncode == 0, echo.stderr
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert all(_closed(port) for port in (web, mllp, dicom, events))
