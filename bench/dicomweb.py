"""MWL-RS search beside the DIMSE C-FIND, on the same worklist, in one run.

The worklist is loaded into the benchmark's database (bench/seed.py); our
DICOM SCP (`manage.py dicomscp`) and our HTTP door (gunicorn, one worker,
threads) run as their own processes on it. The same modality-style query
(station AE + today, about 20 matches) is asked over both, one of each in
turn: the C-FIND inside an open association by the replay client
(bench/dicom_client.py), the MWL-RS search on a kept-alive HTTP connection
(requests) with an API token. Printed: p50 / p95 / p99 in ms and MWL-RS over
C-FIND. The MWL-RS answer holds every key the RIS returns (the default of
the search), the C-FIND's only the keys asked: the HTTP answer is larger.

Usage: bench/dicomweb.py [N] [--rounds R]   (default N 1000, R 200)
Database: BENCH_DATABASE_URL, else var/bench.sqlite3 (never DATABASE_URL).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("TCP_NODELAY", "1")
os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{ROOT / 'var' / 'bench.sqlite3'}"
(ROOT / "var").mkdir(exist_ok=True)

import django  # noqa: E402

django.setup()

import requests  # noqa: E402
from django.contrib.auth.models import Group, User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from bench import clients, seed  # noqa: E402
from bench.dicom_client import Client, find_rq  # noqa: E402
from bench.run import identifier  # noqa: E402
from ris.records import Actor  # noqa: E402
from ris.roles import ensure_roles  # noqa: E402
from ris.services.tokens import token_issue  # noqa: E402

SPS = "ScheduledProcedureStepSequence"


def percentiles(values: list[float]) -> tuple[float, float, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return statistics.median(values), cuts[94], cuts[98]


def bench_token() -> str:
    ensure_roles()
    user, _ = User.objects.get_or_create(username="bench-dicomweb")
    user.groups.add(Group.objects.get(name="technologist"))
    actor = Actor(door="SYSTEM", name="bench")
    return token_issue(actor=actor, user=user)[1]


@contextlib.contextmanager
def http_door():
    port = clients.free_port()
    env = dict(os.environ, **clients.OUR_ENV)
    args = [sys.executable, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{port}", "-w", "1", "--threads", "4"]
    args += ["-k", "gthread", "--keep-alive", "600", "--graceful-timeout", "2", "--log-level", "warning"]
    with clients._server_process(args, port, env) as process:
        yield port, process


def mwl_parameters(layout: seed.Layout) -> dict[str, str]:
    return {
        f"{SPS}.ScheduledStationAETitle": layout.station(3),
        f"{SPS}.ScheduledProcedureStepStartDate": f"{layout.today:%Y%m%d}",
    }


def search(session: requests.Session, url: str, params: dict[str, str]) -> None:
    answer = session.get(url, params=params, timeout=60)
    if answer.status_code != 200:
        raise RuntimeError(f"MWL-RS search answered {answer.status_code}: {answer.text[:200]}")


def interleaved(rounds: int, c_find, mwl_rs) -> dict[str, list[float]]:  # type: ignore[no-untyped-def]
    """One of each in turn, the order swapped every round."""
    calls = {"C-FIND": c_find, "MWL-RS": mwl_rs}
    times: dict[str, list[float]] = {name: [] for name in calls}
    for n in range(rounds):
        for name in list(calls) if n % 2 == 0 else list(calls)[::-1]:
            started = time.perf_counter()
            calls[name]()
            times[name].append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("size", nargs="?", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    layout = seed.seed(args.size)
    token = bench_token()
    connection.close()
    print(f"load now (1/5/15 min): {os.getloadavg()}; the figures move with it", flush=True)
    with clients.our_scp() as (dicom_port, _), http_door() as (http_port, _):
        dimse = Client(dicom_port)
        request = find_rq(identifier(layout))
        session = requests.Session()
        session.headers.update({"Authorization": f"Token {token}", "Accept": "application/dicom+json"})
        url = f"http://127.0.0.1:{http_port}/dicomweb/modality-scheduled-procedure-steps"
        params = mwl_parameters(layout)
        counts = (dimse.find(request)[0], len(session.get(url, params=params, timeout=60).json()))
        print(f"N={args.size:,}: matches C-FIND {counts[0]}, MWL-RS {counts[1]}", flush=True)
        try:
            times = interleaved(args.rounds, lambda: dimse.find(request), lambda: search(session, url, params))
        finally:
            session.close()
            dimse.release()
    base = percentiles(times["C-FIND"])
    print("| N | service | p50 ms | p95 ms | p99 ms | over C-FIND (p50 / p95 / p99) |")
    print("|---|---|---|---|---|---|")
    for name, values in times.items():
        figures = percentiles(values)
        ratios = " / ".join(f"{ours / theirs:.2f}×" for ours, theirs in zip(figures, base, strict=True))
        print(f"| {args.size:,} | {name} | " + " | ".join(f"{v:.2f}" for v in figures) + f" | {ratios} |")


if __name__ == "__main__":
    main()
