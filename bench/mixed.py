"""Mixed load: 50 modality associations querying the worklist while orders
stream in over four MLLP connections, against `manage.py mllp` and
`manage.py dicomscp` running as their own processes on a throwaway test
database made from DATABASE_URL (PostgreSQL for the figures we quote).

    DATABASE_URL=postgres://... .venv/bin/python bench/mixed.py [--associations 50 --queries 10 --orders 100]
"""
from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ris.settings")
os.environ.setdefault("RIS_LOG_LEVEL", "WARNING")


def main() -> None:
    options = _arguments()
    import django

    django.setup()
    from django.conf import settings
    from django.test.utils import get_runner

    from bench.load import run_load, summary

    runner = get_runner(settings)(verbosity=0, interactive=False)
    databases = runner.setup_databases()
    listeners = []
    try:
        env = {**os.environ, "DATABASE_URL": _database_url(settings.DATABASES["default"])}
        mllp_port, dicom_port = _free_port(), _free_port()
        listeners = [_start(["mllp", "--port", str(mllp_port)], mllp_port, env),
                     _start(["dicomscp", "--port", str(dicom_port)], dicom_port, env)]
        result = run_load(mllp_port, dicom_port, associations=options.associations, queries=options.queries,
                          mllp_connections=4, orders_per_connection=options.orders // 4)
        _print(summary(result), options)
        for error in sorted(set(result.errors))[:10]:
            print("error:", error)
    finally:
        for proc in listeners:
            proc.terminate()
            proc.wait(timeout=20)
        runner.teardown_databases(databases)


def _print(figures: dict, options) -> None:
    print(f"\nMixed load: {options.associations} associations x {options.queries} C-FINDs, "
          f"{options.orders} orders over 4 MLLP connections ({figures['errors']} errors)\n")
    print("| orders/s | ACK p50 ms | ACK p95 ms | C-FINDs | C-FIND p50 ms | C-FIND p95 ms |")
    print("|---:|---:|---:|---:|---:|---:|")
    print(f"| {figures['orders_per_second']:.0f} | {figures['ack_median_ms']:.1f} | {figures['ack_p95_ms']:.1f} "
          f"| {figures['queries']} | {figures['find_median_ms']:.1f} | {figures['find_p95_ms']:.1f} |")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--associations", type=int, default=50)
    parser.add_argument("--queries", type=int, default=10, help="C-FINDs per association")
    parser.add_argument("--orders", type=int, default=200, help="orders in all, over four connections")
    return parser.parse_args()


def _start(args: list[str], port: int, env: dict) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, str(ROOT / "manage.py"), *args], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"{args[0]} did not listen on {port}")


def _database_url(database: dict) -> str:
    if database["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{database['NAME']}"
    user, host, port = database.get("USER") or "postgres", database.get("HOST") or "127.0.0.1", database.get("PORT") or 5432
    return f"postgres://{user}@{host}:{port}/{database['NAME']}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


if __name__ == "__main__":
    main()
