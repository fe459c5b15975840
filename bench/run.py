"""Modality Worklist benchmark: our SCP, dcmtk's wlmscpfs and Orthanc's
worklist plugin, side by side, on the same worklist.

For each size N the worklist is loaded into our database (bulk inserts) and
written once as .wl files that wlmscpfs and Orthanc both read. All three
servers run at once and every measure is interleaved, one run of each in
turn (the order rotating), so that a load on the machine falls on all three
alike. Printed per N, medians with p90 and p99, and each peer's time over
ours:

- association: connect, one C-FIND, release (one dcmtk findscu run), for a
  modality-style query (station AE + today, about 20 matches);
- in association: one C-FIND inside an open association, timed one by one
  by the replay client (bench/dicom_client.py);
- concurrent (at the first N, if at most 1,000): 50 associations of 10 C-FINDs each at
  once: C-FIND/s, p50 and p99 of one C-FIND, time to open an association;
- offered rate (at the first N, if at most 1,000): 50 open associations
  sending C-FINDs on a fixed schedule that adds up to 100, then 200, C-FIND/s
  (an open loop: a late answer does not delay the next request), each
  latency counted from when the request was due, so that queueing shows;
- idle (ours, at the first N): CPU taken by the listener's processes over
  10 s with 200 associations open and silent, and resident memory per open
  association.

The concurrency rows give each peer's figure over ours (rate) or ours over
its (time) in brackets: above 1, ours does better.

Usage: bench/run.py [N ...] [--rounds R] [--no-orthanc] [--processes P]
(default N: BENCH_SIZES or 100 1000 10000 100000; 1000000 by hand: loading
it and writing its .wl files uses every CPU for some minutes. Ours runs
`dicomscp --processes P`, by default one per CPU, as in production.)

The benchmark empties and refills the worklist tables of its own database:
BENCH_DATABASE_URL (PostgreSQL for the figures in docs/benchmarks.md), else
var/bench.sqlite3. It never uses DATABASE_URL, so that it cannot wipe a
real worklist.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("TCP_NODELAY", "1")
os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{ROOT / 'var' / 'bench.sqlite3'}"
(ROOT / "var").mkdir(exist_ok=True)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from pydicom.dataset import Dataset  # noqa: E402

from bench import clients, seed  # noqa: E402
from bench.dicom_client import Client, find_rq  # noqa: E402

DEFAULT_SIZES = (100, 1000, 10000, 100000)
CONCURRENT, FINDS_EACH, IDLE = 50, 10, 200
OFFERED_RATES, OFFERED_SECONDS = (100, 200), 5.0


def percentile(values: list[float], p: int) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def summary(values: list[float]) -> tuple[float, float, float]:
    return statistics.median(values), percentile(values, 90), percentile(values, 99)


def identifier(layout: seed.Layout) -> Dataset:
    """The replay client's query: the same keys as findscu's."""
    ds = Dataset()
    for keyword in ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "AccessionNumber"):
        setattr(ds, keyword, "")
    ds.StudyInstanceUID = ""
    ds.RequestedProcedureID = ""
    ds.RequestedProcedureDescription = ""
    item = Dataset()
    item.ScheduledStationAETitle = layout.station(3)
    item.ScheduledProcedureStepStartDate = f"{layout.today:%Y%m%d}"
    for keyword in ("ScheduledProcedureStepStartTime", "Modality", "ScheduledProcedureStepID"):
        setattr(item, keyword, "")
    item.ScheduledProcedureStepDescription = ""
    ds.ScheduledProcedureStepSequence = [item]
    return ds


def interleaved(names: list[str], rounds: int, run: Callable[[str], float]) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            times[name].append(run(name))
    return times


def timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def in_association(ports: dict[str, int], request: bytes, rounds: int) -> dict[str, list[float]]:
    open_clients = {name: Client(port) for name, port in ports.items()}
    for name, client in open_clients.items():
        client.name = name
    try:
        return interleaved(list(ports), rounds, lambda name: timed(lambda: open_clients[name].find(request)))
    finally:
        for client in open_clients.values():
            client.release()


def concurrent(port: int, request: bytes) -> dict[str, float]:
    """50 associations at once, each opened, asked 10 C-FINDs, released."""
    latencies: list[float] = []
    opens: list[float] = []
    failures: list[str] = []

    def association() -> None:
        try:
            client = Client(port)
            opens.append(client.open_seconds * 1000)
            for _ in range(FINDS_EACH):
                latencies.append(timed(lambda: client.find(request)))
            client.release()
        except Exception as exc:  # counted, not raised: a refused association is a result
            failures.append(str(exc))

    threads = [threading.Thread(target=association) for _ in range(CONCURRENT)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    return {
        "C-FIND/s": len(latencies) / wall,
        "p50 ms": statistics.median(latencies) if latencies else 0.0,
        "p99 ms": percentile(latencies, 99) if latencies else 0.0,
        "open p50 ms": statistics.median(opens) if opens else 0.0,
        "failed associations": float(len(failures)),
    }


def offered(port: int, request: bytes, rate: float, seconds: float = OFFERED_SECONDS) -> list[float]:
    """50 open associations, each sending a C-FIND every 50 / rate seconds
    (staggered), for `seconds`: latencies in ms from when each was due."""
    clients_open = [Client(port) for _ in range(CONCURRENT)]
    latencies: list[float] = []
    interval = CONCURRENT / rate
    start = time.perf_counter() + 0.5
    end = start + seconds

    def association(index: int, client: Client) -> None:
        due = start + index * interval / CONCURRENT
        while due < end:
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            client.find(request)
            latencies.append((time.perf_counter() - due) * 1000)
            due += interval

    threads = [threading.Thread(target=association, args=pair) for pair in enumerate(clients_open)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for client in clients_open:
        client.release()
    return latencies


def offered_rows(size: int, ports: dict[str, int], request: bytes) -> list[list[str]]:
    rows = []
    for rate in OFFERED_RATES:
        times = {name: offered(port, request, rate) for name, port in ports.items()}
        rows.append(row(size, f"{CONCURRENT} associations, {rate} C-FIND/s offered", times))
    return rows


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _family(pid: int) -> list[int]:
    """The process and its children (the worker processes of --processes N)."""
    pids = [pid]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    pids.append(int(entry.name))
    return pids


def idle(port: int, pid: int, seconds: float = 10.0) -> dict[str, float]:
    """CPU and resident memory of the listener's processes (all of them) with
    IDLE associations open and silent."""
    pids = _family(pid)
    before = sum(map(_rss_kib, pids))
    held = [Client(port) for _ in range(IDLE)]
    try:
        time.sleep(1.0)
        after = sum(map(_rss_kib, pids))
        cpu = sum(map(_cpu_seconds, pids))
        time.sleep(seconds)
        used = sum(map(_cpu_seconds, pids)) - cpu
    finally:
        for client in held:
            client.release()
    return {"CPU % of one core": used / seconds * 100, "KiB per association": (after - before) / IDLE}


def row(size: int, measure: str, times: dict[str, list[float]]) -> list[str]:
    ours = summary(times["ours"])
    cells = [f"{size:,}", measure, "{:.1f} / {:.1f} / {:.1f}".format(*ours)]
    for name in list(times)[1:]:
        theirs = summary(times[name])
        cells.append("{:.1f} / {:.1f} / {:.1f} ({:.2f}×)".format(*theirs, theirs[0] / ours[0]))
    return cells


def print_table(names: list[str], rows: list[list[str]]) -> None:
    head = ["N", "measure (ms: median / p90 / p99)", *names]
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---" for _ in head) + "|")
    for cells in rows:
        print("| " + " | ".join(cells) + " |", flush=True)


def rounds_for(size: int, given: int | None) -> int:
    if given:
        return given
    return 21 if size <= 10_000 else 7 if size <= 100_000 else 3


def measure_size(
    size: int, workdir: Path, with_orthanc: bool, first: bool, given_rounds: int | None, processes: int
) -> list[list[str]]:
    started = time.monotonic()
    layout = seed.seed(size)
    files = seed.write_worklist_files(workdir / f"wl{size}" / clients.CALLED_AE)
    connection.close()
    print(f"N={size:,}: loaded and wrote {files:,} .wl files in {time.monotonic() - started:.0f} s", flush=True)
    keys = clients.queries(layout)["station AE + today"]
    request = find_rq(identifier(layout))
    rounds = rounds_for(size, given_rounds)
    rows: list[list[str]] = []
    with contextlib.ExitStack() as stack:
        servers = {"ours": stack.enter_context(clients.our_scp(processes))}
        servers["wlmscpfs"] = stack.enter_context(clients.wlmscpfs(workdir / f"wl{size}"))
        if with_orthanc:
            servers["Orthanc"] = stack.enter_context(
                clients.orthanc(workdir / f"wl{size}" / clients.CALLED_AE, workdir)
            )
        ports = {name: port for name, (port, _) in servers.items()}
        counts = {name: clients.matches(port, keys) for name, port in ports.items()}
        print(f"N={size:,}: matches {counts}", flush=True)
        whole = interleaved(list(ports), rounds, lambda name: clients.findscu(ports[name], keys) * 1000)
        rows.append(row(size, "association (findscu)", whole))
        inside = in_association(ports, request, max(rounds, 5) * (3 if size <= 10_000 else 1))
        rows.append(row(size, "in association", inside))
        if first and size <= 1000:  # above, the peers' C-FINDs take seconds each: 500 of them take too long
            rows += concurrency_rows(size, ports, request)
            rows += offered_rows(size, ports, request)
            ours_port, ours_process = servers["ours"]
            figures = idle(ours_port, ours_process.pid)
            print(f"N={size:,}: ours, {IDLE} idle associations: {figures}", flush=True)
    return rows


def concurrency_rows(size: int, ports: dict[str, int], request: bytes) -> list[list[str]]:
    """Each server in turn, twice, the order reversed the second time."""
    names = list(ports)
    results: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    for order in (names, names[::-1]):
        for name in order:
            results[name].append(concurrent(ports[name], request))
    rows = []
    for figure in ("C-FIND/s", "p50 ms", "p99 ms", "open p50 ms", "failed associations"):
        cells = [f"{size:,}", f"{CONCURRENT} associations × {FINDS_EACH}: {figure} (run 1 / run 2)"]
        ours = statistics.mean(r[figure] for r in results["ours"])
        for name in names:
            values = [r[figure] for r in results[name]]
            cell = " / ".join(f"{v:.1f}" for v in values)
            if name != "ours" and figure != "failed associations":
                cell += f" ({concurrency_ratio(figure, ours, statistics.mean(values)):.2f}×)"
            cells.append(cell)
        rows.append(cells)
    return rows


def concurrency_ratio(figure: str, ours: float, theirs: float) -> float:
    """Above 1 when ours does better: our rate over theirs, their time over ours."""
    if figure == "C-FIND/s":
        return ours / theirs if theirs else float("inf")
    return theirs / ours if ours else float("inf")


def main() -> None:
    # SIGTERM unwinds like Ctrl-C, so that the servers started are stopped too
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    parser = argparse.ArgumentParser()
    parser.add_argument("sizes", nargs="*", type=lambda s: int(s.replace(",", "").replace("_", "")))
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--no-orthanc", action="store_true")
    parser.add_argument(
        "--processes", type=int, default=os.cpu_count() or 1, help="ours: dicomscp --processes (default: CPU count)"
    )
    args = parser.parse_args()
    sizes = args.sizes or [int(n) for n in os.environ.get("BENCH_SIZES", "").split()] or list(DEFAULT_SIZES)
    missing = "" if not args.no_orthanc else "left out (--no-orthanc)"
    missing = missing or clients.orthanc_missing()
    print(
        f"database: {connection.vendor}; ours with {args.processes} process(es); "
        "findscu -W and a replay client, TCP_NODELAY=1; interleaved runs"
    )
    if missing:
        print(f"Orthanc: {missing}")
    call_command("migrate", verbosity=0)
    names = ["ours", "wlmscpfs"] + ([] if missing else ["Orthanc"])
    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory(prefix="mwl-bench-") as workdir:
        for n, size in enumerate(sizes):
            new = measure_size(size, Path(workdir), not missing, n == 0, args.rounds, args.processes)
            print_table(names, new)
            rows += new
            with contextlib.suppress(FileNotFoundError):
                _remove_tree(Path(workdir) / f"wl{size}")
    print()
    print_table(names, rows)


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":
    main()
