"""Fixtures that start the real listeners on free ports on 127.0.0.1."""

import socket
from pathlib import Path

import pytest

from hl7 import server as mllp_server
from worklist import scp

# Every run ends with a scan of its logs for the test patients' data (tests/phi_scan.py).
pytest_plugins = ["tests.phi_scan"]

# Public sample messages, kept in the repository with their sources and licences (README.md there).
SAMPLES = Path(__file__).resolve().parent / "samples" / "hl7"


@pytest.fixture
def mllp(request, transactional_db):
    """A running MLLP listener; yields it. Parametrized indirectly, the
    parameter is its write path ("fast" or "reference"; default: the settings')."""
    write_path = getattr(request, "param", None)
    server, thread = mllp_server.start_in_thread("127.0.0.1", 0, idle_timeout=5, write_path=write_path)
    yield server
    server.stop()
    thread.join(timeout=5)


@pytest.fixture
def dicom(transactional_db):
    """A running DICOM SCP (AE title RIS); yields its port."""
    server = scp.start("127.0.0.1", 0)
    yield server.server_address[1]
    server.shutdown()


@pytest.fixture
def site_zone(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    return settings.TIME_ZONE


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Tests log users in by the hundred; the production hasher is slow on purpose."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def site_language_after_each_test():
    """A request in German leaves German active in the test's thread (as any
    request does in a server thread, until the next one activates its own):
    put the site's language back so that the next test starts in it."""
    yield
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
