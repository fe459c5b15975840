"""Order intake over MLLP: messages per second and ACK latency (p50 / p99).

Runs the real listener (`manage.py mllp`, its own process, as in
production) against a throwaway test database made from DATABASE_URL
(PostgreSQL in the figures we quote), sends ORM^O01 new orders on one
connection and then on four at once, each client waiting for its ACK (AA,
after the commit) before sending the next.

    DATABASE_URL=postgres://... .venv/bin/python bench/hl7_intake.py [--messages 2000]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.processes import free_port, start_listener, throwaway_database  # noqa: E402


def main() -> None:
    options = _arguments()
    with throwaway_database() as database:
        print(f"database: {database['ENGINE'].rsplit('.', 1)[-1]}; {options.messages} ORM^O01 per run\n")
        print("| connections | messages/s | p50 ACK ms | p99 ACK ms |")
        print("|---|---|---|---|")
        listener = _start_listener(database)
        try:
            for connections in (1, 4):
                print(_row(connections, _run(listener.port, connections, options.messages)))
        finally:
            listener.process.terminate()
            listener.process.wait(timeout=10)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=2000, help="messages per run (split over the connections)")
    return parser.parse_args()


class _Listener:
    def __init__(self, process: subprocess.Popen, port: int):
        self.process, self.port = process, port


def _start_listener(database: dict) -> _Listener:
    """`manage.py mllp` on a free port, on the test database."""
    port = free_port()
    return _Listener(start_listener("mllp", port, database), port)


def _run(port: int, connections: int, total: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    lock = threading.Lock()
    per_client = total // connections
    start = time.perf_counter()
    clients = [
        threading.Thread(target=_client, args=(port, n, per_client, latencies, lock)) for n in range(connections)
    ]
    for client in clients:
        client.start()
    for client in clients:
        client.join()
    return len(latencies) / (time.perf_counter() - start), latencies


def _client(port: int, number: int, count: int, latencies: list[float], lock: threading.Lock) -> None:
    from tests.hl7_builders import orm_new_order
    from tests.peers import MllpClient, mllp_frame

    run = f"{time.monotonic_ns() % 10**8}{number}"
    mine = []
    with MllpClient(port) as client:
        for n in range(count):
            tag = f"{run}{n}"
            text = orm_new_order(f"B{tag}", patient_id=f"P{tag}", placer=f"PL{tag}", accession=f"A{tag}"[:16])
            began = time.perf_counter()
            client.send_raw(mllp_frame(text))
            ack = client.read_ack()
            mine.append(time.perf_counter() - began)
            assert b"MSA|AA|" in ack, ack
    with lock:
        latencies.extend(mine)


def _row(connections: int, result: tuple[float, list[float]]) -> str:
    rate, latencies = result
    cuts = statistics.quantiles(latencies, n=100)
    return f"| {connections} | {rate:.0f} | {cuts[49] * 1000:.1f} | {cuts[98] * 1000:.1f} |"


if __name__ == "__main__":
    main()
