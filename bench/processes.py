"""Listeners as their own processes, on the benchmark's test database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def database_url(database: dict) -> str:
    if database["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{database['NAME']}"
    user = database.get("USER") or ""
    password = f":{database['PASSWORD']}" if database.get("PASSWORD") else ""
    if not database.get("HOST"):  # libpq's default: the server's Unix socket
        return f"postgres://{user}{password}@/{database['NAME']}"
    return f"postgres://{user}{password}@{database['HOST']}:{database.get('PORT') or 5432}/{database['NAME']}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_listener(command: str, port: int, database: dict, *options: str) -> subprocess.Popen:
    """`manage.py <command> --port <port> [options]` on the test database, once it accepts connections."""
    env = dict(os.environ, DATABASE_URL=database_url(database), RIS_LOG_LEVEL="WARNING")
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), command, "--host", "127.0.0.1", "--port", str(port), *options],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            time.sleep(0.1)
    process.terminate()
    raise RuntimeError(f"{command} did not start")


@contextmanager
def throwaway_database() -> Iterator[dict]:
    """Django set up on a test database made from DATABASE_URL, dropped afterwards."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("RIS_LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.conf import settings
    from django.test.utils import get_runner

    runner = get_runner(settings)(verbosity=0, interactive=False)
    databases = runner.setup_databases()
    try:
        yield settings.DATABASES["default"]
    finally:
        runner.teardown_databases(databases)
