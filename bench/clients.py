"""The two servers under test and the findscu client that times them.

Imported after django.setup() (bench/run.py)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench.seed import patient_id

ROOT = Path(__file__).resolve().parents[1]
CALLED_AE = "RIS"
REPEAT = 10  # extra C-FINDs inside one association (2 above 10,000 items)
CLIENTS = 8
RETURN_KEYS = [
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "AccessionNumber",
    "StudyInstanceUID",
    "RequestedProcedureID",
    "RequestedProcedureDescription",
    "ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartTime",
    "ScheduledProcedureStepSequence[0].Modality",
    "ScheduledProcedureStepSequence[0].ScheduledProcedureStepID",
    "ScheduledProcedureStepSequence[0].ScheduledProcedureStepDescription",
]


def queries(layout) -> dict[str, list[str]]:
    sps = "ScheduledProcedureStepSequence[0]"
    return {
        "station AE + today": [
            f"{sps}.ScheduledStationAETitle={layout.station(3)}",
            f"{sps}.ScheduledProcedureStepStartDate={layout.today:%Y%m%d}",
            *RETURN_KEYS,
        ],
        "patient ID": [
            f"PatientID={patient_id(layout.size // 2)}",
            *[k for k in RETURN_KEYS if k != "PatientID"],
            f"{sps}.ScheduledStationAETitle",
            f"{sps}.ScheduledProcedureStepStartDate",
        ],
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_listening(port: int, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listening on {port}")


@contextlib.contextmanager
def _server(args: list[str], port: int, env: dict | None = None):
    process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    try:
        _wait_listening(port, process)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextlib.contextmanager
def our_scp():
    port = free_port()
    env = dict(os.environ, RIS_LOG_LEVEL="WARNING")
    with _server([sys.executable, "manage.py", "dicomscp", "--port", str(port)], port, env) as port:
        yield port


@contextlib.contextmanager
def wlmscpfs(data_dir: Path):
    port = free_port()
    with _server([shutil.which("wlmscpfs"), "-dfp", str(data_dir), str(port)], port) as port:
        yield port


def findscu(port: int, keys: list[str], repeat: int = 1) -> float:
    """Seconds for one findscu run: connect, `repeat` C-FINDs, release."""
    args = ["findscu", "-W", "-aet", "BENCH", "-aec", CALLED_AE, "--repeat", str(repeat)]
    for key in keys:
        args += ["-k", key]
    started = time.perf_counter()
    proc = subprocess.run([*args, "127.0.0.1", str(port)], capture_output=True, env=dict(os.environ, TCP_NODELAY="1"))
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.decode(errors="replace"))
    return elapsed


def matches(port: int, keys: list[str]) -> int:
    proc = subprocess.run(
        [
            "findscu",
            "-W",
            "-v",
            "-aec",
            CALLED_AE,
            *[arg for key in keys for arg in ("-k", key)],
            "127.0.0.1",
            str(port),
        ],
        capture_output=True,
        text=True,
    )
    return (proc.stdout + proc.stderr).count("(Pending)")


def association_ms(port: int, keys: list[str], runs: int) -> float:
    return statistics.median(findscu(port, keys) for _ in range(runs)) * 1000


def in_association_ms(port: int, keys: list[str], runs: int, repeat: int) -> float:
    one = association_ms(port, keys, runs)
    many = statistics.median(findscu(port, keys, repeat=1 + repeat) for _ in range(runs)) * 1000
    return max(0.0, (many - one) / repeat)


def queries_per_second(port: int, keys: list[str], seconds: float, per_run: int) -> float:
    done, deadline = [], time.monotonic() + seconds
    started = time.monotonic()

    def loop() -> None:
        while time.monotonic() < deadline:
            findscu(port, keys, repeat=per_run)
            done.append(per_run)

    threads = [threading.Thread(target=loop) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.monotonic() - started)


def compare(ours: int, theirs: int, named_queries: dict[str, list[str]], size: int) -> dict:
    small = size <= 10000
    runs, repeat = (21, REPEAT) if small else (5, 2)
    figures = {}
    for name, keys in named_queries.items():
        counts = (matches(ours, keys), matches(theirs, keys))
        figures[f"{name}: matches"] = (*counts, "")
        figures[f"{name}: association"] = (association_ms(ours, keys, runs), association_ms(theirs, keys, runs), "ms")
        figures[f"{name}: in association"] = (
            in_association_ms(ours, keys, runs, repeat),
            in_association_ms(theirs, keys, runs, repeat),
            "ms",
        )
    keys = named_queries["station AE + today"]
    seconds, per_run = (5, 5) if small else (10, 1)
    figures["8 clients, station AE + today"] = (
        queries_per_second(ours, keys, seconds, per_run),
        queries_per_second(theirs, keys, seconds, per_run),
        "C-FIND/s",
    )
    return {"figures": figures}
