"""The servers under test (ours, dcmtk's wlmscpfs, Orthanc's worklist
plugin) and the clients that time them (dcmtk's findscu for whole
associations, bench/dicom_client.py inside one).

Imported after django.setup() (bench/run.py)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
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
def _server_process(args: list[str], port: int, env: dict | None = None):
    process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    try:
        _wait_listening(port, process, timeout=120)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


# The benchmark opens hundreds of associations from 127.0.0.1: above the per-address default.
OUR_ENV = {
    "RIS_LOG_LEVEL": "WARNING",
    "RIS_DICOM_MAX_PER_ADDRESS": "5000",
    "RIS_DICOM_MAX_ASSOCIATIONS": "5000",
    "RIS_DICOM_IDLE_TIMEOUT": "600",
}


@contextlib.contextmanager
def our_scp(processes: int = 1):
    port = free_port()
    env = dict(os.environ, **OUR_ENV)
    args = [sys.executable, "manage.py", "dicomscp", "--port", str(port), "--processes", str(processes)]
    with _server_process(args, port, env) as process:
        yield port, process


@contextlib.contextmanager
def orthanc(data_dir: Path, workdir: Path):
    """Orthanc with its ModalityWorklists plugin reading the same .wl files."""
    port, http = free_port(), free_port()
    config = {
        "Name": "bench",
        "StorageDirectory": str(workdir / "orthanc-db"),
        "IndexDirectory": str(workdir / "orthanc-db"),
        "DicomAet": CALLED_AE,
        "DicomPort": port,
        "HttpPort": http,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "DicomCheckCalledAet": False,
        "DicomAlwaysAllowFind": True,
        "DicomAlwaysAllowFindWorklist": True,
        "UnknownSopClassAccepted": False,
        "Plugins": [ORTHANC_PLUGIN],
        "Worklists": {"Enable": True, "Database": str(data_dir)},
    }
    path = workdir / "orthanc.json"
    path.write_text(json.dumps(config))
    with _server_process([ORTHANC, str(path)], port) as process:
        yield port, process


ORTHANC = shutil.which("Orthanc") or "/usr/sbin/Orthanc"
ORTHANC_PLUGIN = "/usr/share/orthanc/plugins/libModalityWorklists.so"


def orthanc_missing() -> str:
    """Why Orthanc cannot be measured here, or "" when it can."""
    if not Path(ORTHANC).exists():
        return "Orthanc is not installed (apt-get install orthanc)"
    if not Path(ORTHANC_PLUGIN).exists():
        return f"Orthanc's worklist plugin is missing ({ORTHANC_PLUGIN})"
    return ""


@contextlib.contextmanager
def wlmscpfs(data_dir: Path):
    port = free_port()
    with _server_process([shutil.which("wlmscpfs") or "wlmscpfs", "-dfp", str(data_dir), str(port)], port) as process:
        yield port, process


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
