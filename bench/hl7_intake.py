"""Order intake over MLLP, the two write paths side by side: messages per
second and ACK latency (p50 / p99) on one and on four connections.

Two real listeners (`manage.py mllp`, each its own process, as in
production) on one throwaway test database made from BENCH_DATABASE_URL or
DATABASE_URL (PostgreSQL in the figures we quote): one applies the reference
way (`RIS_HL7_WRITE_PATH=reference`: the services, in the ORM), the other
the one-statement way (`fast`). Each connection sends ORM^O01 new orders (a
new patient each) and waits for its ACK (AA, after the commit) before the
next; one thread drives all of a run's connections.
The runs of the two alternate, so that a busy machine weighs on both alike;
the tables give the median of the repeats, and the ratio fast / reference.

    BENCH_DATABASE_URL=postgres://... .venv/bin/python bench/hl7_intake.py [--messages 1000] [--repeats 5] \\
        [--processes N]

With `--processes N` a third listener, the one-statement path as `mllp
--processes N` (hl7/prefork.py), is measured on four connections too. With
`--image-manager` an Image Manager destination is configured (as a site
with a PACS told of every procedure, RAD-4): each new order then also
queues its Procedure Scheduled message (nothing listens: it stays queued).
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import selectors
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
if os.environ.get("BENCH_DATABASE_URL"):
    os.environ["DATABASE_URL"] = os.environ["BENCH_DATABASE_URL"]

from bench.processes import free_port, start_listener, throwaway_database  # noqa: E402

PATHS = ("reference", "fast")
CONNECTIONS = (1, 4)
_MLLP_END = b"\x1c\r"
SEVERAL = "fast, N processes"  # the one-statement path with `mllp --processes N`, on four connections


def main() -> None:
    options = _arguments()
    with throwaway_database() as database:
        if options.image_manager:
            _configure_image_manager()
        print(_conditions(database, options))
        listeners = {path: _start_listener(database, path) for path in PATHS}
        if options.processes > 1:
            listeners[SEVERAL] = _start_listener(database, "fast", "--processes", str(options.processes))
        try:
            results = _measure(listeners, options, _floor_probe(database), _ceiling_probe(database, options.messages))
        finally:
            for listener in listeners.values():
                listener.process.terminate()
                listener.process.wait(timeout=10)
    print()
    print(_table(results))


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=1000, help="messages per run (split over the connections)")
    parser.add_argument("--repeats", type=int, default=int(os.environ.get("BENCH_REPEATS", 5)))
    parser.add_argument(
        "--processes", type=int, default=0, help="also run the fast path as `mllp --processes N`, on four connections"
    )
    parser.add_argument(
        "--image-manager", action="store_true", help="configure an Image Manager destination (RAD-4 for each order)"
    )
    return parser.parse_args()


def _configure_image_manager() -> None:
    from ris.models import Destination

    Destination.objects.create(
        name="PACS", kind=Destination.Kind.HL7_MLLP, role=Destination.Role.IMAGE_MANAGER, host="127.0.0.1", port=9
    )


def _conditions(database: dict, options: argparse.Namespace) -> str:
    engine = database["ENGINE"].rsplit(".", 1)[-1]
    facts = [f"database: {engine}", f"{options.messages} ORM^O01 per run", f"{options.repeats} repeats, interleaved"]
    if options.image_manager:
        facts.append("an Image Manager destination configured")
    if engine == "postgresql":
        from django.db import connection

        host = database.get("HOST")
        facts.append(f"over TCP to {host}:{database.get('PORT') or 5432}" if host else "over the Unix socket")

        with connection.cursor() as cursor:
            for setting in ("fsync", "synchronous_commit"):
                cursor.execute(f"SHOW {setting}")
                facts.append(f"{setting}={cursor.fetchone()[0]}")
        connection.close()
    facts.append(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return "; ".join(facts)


class _Listener:
    def __init__(self, process: subprocess.Popen, port: int):
        self.process, self.port = process, port


def _start_listener(database: dict, path: str, *options: str) -> _Listener:
    """`manage.py mllp` on a free port, on the test database, applying `path`'s way."""
    port = free_port()
    os.environ["RIS_HL7_WRITE_PATH"] = path
    try:
        return _Listener(start_listener("mllp", port, database, *options), port)
    finally:
        del os.environ["RIS_HL7_WRITE_PATH"]


def _floor_probe(database: dict):
    """The floor at this moment: one INSERT and its COMMIT, as p50 ms (PostgreSQL only)."""
    if not database["ENGINE"].endswith("postgresql"):
        return lambda: float("nan")
    import psycopg

    from bench.processes import database_url

    probe = psycopg.connect(database_url(database), autocommit=True)
    probe.execute("CREATE TABLE IF NOT EXISTS bench_floor (id bigserial PRIMARY KEY, v text)")

    def measure() -> float:
        times = []
        for _ in range(100):
            began = time.perf_counter()
            probe.execute("INSERT INTO bench_floor (v) VALUES ('x')", prepare=True)
            times.append(time.perf_counter() - began)
        return statistics.median(times) * 1000

    return measure


def _ceiling_probe(database: dict, count: int):
    """The one-statement path's ceiling on one connection at this moment:
    `count` of its new-order statements, made beforehand (`FastIntake.begin`,
    as the listener makes them), run one after another on a held connection
    (`infra.db.HeldConnection`, the lane's wire), each with its commit, with
    nothing else to do: no MLLP, no reading, no ACK. (msg/s, p50 ms);
    PostgreSQL only."""
    if not database["ENGINE"].endswith("postgresql"):
        return lambda: (float("nan"), float("nan"))
    from hl7.fast_intake import FastIntake
    from infra.db import HeldConnection
    from tests.hl7_builders import orm_new_order

    rounds = itertools.count()

    def message(run: int, number: int) -> bytes:
        key = f"C{time.monotonic_ns() % 10**7}r{run}-{number}"
        return orm_new_order(key, patient_id=f"P{key}", placer=f"PL{key}", accession="").encode()

    def measure() -> tuple[float, float]:
        run = next(rounds)
        intake, held = FastIntake("127.0.0.1:0"), HeldConnection()
        try:
            intake.receive(message(run, 0))  # reads the sender's rules, then the rest need no query
            flights = [intake.begin(message(run, number)) for number in range(1, count + 1)]
            times = []
            start = time.perf_counter()
            for flight in flights:
                assert flight is not None, "a message the one-statement path does not take"
                began = time.perf_counter()
                held.execute(flight.sql, flight.params)
                times.append(time.perf_counter() - began)
        finally:  # the test database is dropped after: no connection may stay
            intake.close()
            held.close()
        rate = len(times) / (time.perf_counter() - start)
        return rate, statistics.median(times) * 1000

    return measure


def _measure(listeners: dict[str, _Listener], options: argparse.Namespace, floor, ceiling) -> dict:
    """{(path, connections): [(rate, p50, p99), ...]}, the paths' runs alternating."""
    results: dict = {"floor": [], "ceiling": []}
    _run(listeners["reference"].port, 1, 50, "warm-r")  # each listener's first connections warm up
    _run(listeners["fast"].port, 1, 50, "warm-f")
    if SEVERAL in listeners:
        _run(listeners[SEVERAL].port, 4, 200, "warm-n")  # each child's first connection too
    for repeat in range(options.repeats):
        results["floor"].append(floor())
        print(f"run {repeat + 1} floor: one INSERT + COMMIT p50 {results['floor'][-1]:.2f} ms", flush=True)
        results["ceiling"].append(ceiling())
        rate, p50 = results["ceiling"][-1]
        print(f"run {repeat + 1} ceiling: the statements alone, 1 conn: {rate:.0f} msg/s, p50 {p50:.2f} ms", flush=True)
        for connections in CONNECTIONS:
            order = _paths(listeners, connections)
            for path in order if repeat % 2 == 0 else order[::-1]:
                run = f"{'n' if path == SEVERAL else path[0]}{repeat}"
                rate, latencies = _run(listeners[path].port, connections, options.messages, run)
                cuts = statistics.quantiles(latencies, n=100)
                results.setdefault((path, connections), []).append((rate, cuts[49] * 1000, cuts[98] * 1000))
                print(
                    f"run {repeat + 1} {path:17} {connections} conn: {rate:6.0f} msg/s, p50 {cuts[49] * 1000:.2f} ms,"
                    f" p99 {cuts[98] * 1000:.2f} ms",
                    flush=True,
                )
    return results


def _paths(listeners: dict[str, _Listener], connections: int) -> tuple[str, ...]:
    """The listeners measured on this many connections: several processes on four only."""
    return PATHS + ((SEVERAL,) if connections > 1 and SEVERAL in listeners else ())


def _run(port: int, connections: int, total: int, run: str) -> tuple[float, list[float]]:
    """`connections` senders, each sending a message and waiting for its ACK
    before the next, driven from one thread (`_Senders`): client threads in
    one interpreter would wait for each other's lock, and add that to every
    round trip. Messages/s and each message's time to its ACK."""
    senders = _Senders(port, connections, total // connections, run)
    return senders.run()


class _Senders:
    """The connections of one run and the frames each will send, made before the clock starts."""

    def __init__(self, port: int, connections: int, count: int, run: str):
        from tests.hl7_builders import orm_new_order
        from tests.peers import mllp_frame

        stamp = f"{time.monotonic_ns() % 10**7}{run}"
        self.frames = [
            [
                mllp_frame(
                    orm_new_order(
                        f"B{stamp}{c}-{n}", patient_id=f"P{stamp}{c}-{n}", placer=f"PL{stamp}{c}-{n}", accession=""
                    )
                )
                for n in range(count)
            ]
            for c in range(connections)
        ]
        self.sockets = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(connections)]

    def run(self) -> tuple[float, list[float]]:
        selector = selectors.DefaultSelector()
        latencies: list[float] = []
        sent = [0.0] * len(self.sockets)
        next_frame = [0] * len(self.sockets)
        received = [b""] * len(self.sockets)
        start = time.perf_counter()
        for number, sock in enumerate(self.sockets):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            selector.register(sock, selectors.EVENT_READ, number)
            sent[number] = time.perf_counter()
            sock.sendall(self.frames[number][0])
        open_ = len(self.sockets)
        while open_:
            events = selector.select(timeout=10)
            if not events:
                raise TimeoutError("no ACK within 10 s")
            for key, _ in events:
                number, sock = key.data, key.fileobj
                data = sock.recv(65536)
                if not data:
                    raise ConnectionError("the listener closed the connection")
                received[number] += data
                if not received[number].endswith(_MLLP_END):
                    continue
                latencies.append(time.perf_counter() - sent[number])
                assert b"MSA|AA|" in received[number], received[number]
                received[number] = b""
                next_frame[number] += 1
                if next_frame[number] == len(self.frames[number]):
                    selector.unregister(sock)
                    sock.close()
                    open_ -= 1
                    continue
                sent[number] = time.perf_counter()
                sock.sendall(self.frames[number][next_frame[number]])
        rate = len(latencies) / (time.perf_counter() - start)
        selector.close()
        return rate, latencies


def _table(results: dict) -> str:
    lines = [
        "medians over the repeats (fast / reference in brackets);"
        f" one INSERT + COMMIT meanwhile: p50 {statistics.median(results['floor']):.2f} ms",
        "",
        "| connections | path | messages/s | p50 ACK ms | p99 ACK ms |",
        "|---:|---|---:|---:|---:|",
    ]
    for connections in CONNECTIONS:
        paths = [path for path in (*PATHS, SEVERAL) if (path, connections) in results]
        medians = {
            path: [statistics.median(run[i] for run in results[(path, connections)]) for i in range(3)]
            for path in paths
        }
        base = medians["reference"]
        for path in paths:
            rate, p50, p99 = medians[path]
            cells = [f"{rate:.0f}", f"{p50:.2f}", f"{p99:.2f}"]
            if path != "reference":
                ratio = f" ({rate / base[0]:.1f}x)", f" ({p50 / base[1]:.2f})", f" ({p99 / base[2]:.2f})"
                cells = [cell + extra for cell, extra in zip(cells, ratio, strict=True)]
            lines.append(f"| {connections} | {path} | " + " | ".join(cells) + " |")
    ceiling = statistics.median(rate for rate, _ in results["ceiling"])
    if not math.isnan(ceiling):  # PostgreSQL
        fast = statistics.median(run[0] for run in results[("fast", 1)])
        lines += [
            "",
            f"the one-statement path's statements alone on one connection (no MLLP, no reading, no ACK): {ceiling:.0f}"
            f" msg/s; the listener on one connection reaches {fast / ceiling:.0%} of that",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
