"""Mixed load: modality associations querying the worklist while orders
stream in over several MLLP connections. Used by `make bench` (figures) and
by tests/protocol/test_load.py (correctness under load)."""

from __future__ import annotations

import socket
import statistics
import threading
import time
from dataclasses import dataclass, field

from pydicom.dataset import Dataset
from pynetdicom import AE
from pynetdicom.sop_class import ModalityWorklistInformationFind

VT, FS_CR = b"\x0b", b"\x1c\x0d"


@dataclass
class LoadResult:
    find_seconds: list[float] = field(default_factory=list)
    ack_seconds: list[float] = field(default_factory=list)
    acks: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    wall_seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, attr: str, value) -> None:
        with self._lock:
            getattr(self, attr).append(value)


def order_message(control_id: str, n: int) -> bytes:
    return (
        f"MSH|^~\\&|LOADGEN|HOSP|RIS|RAD|20261126101500||ORM^O01|{control_id}|P|2.3.1\r"
        f"PID|1||LP{n}^^^HOSP||LOAD^PATIENT{n}||19700101|F\r"
        f"ORC|NW|LPL{n}^EHR|||SC||^^^20261126{8 + n % 10:02d}0000^^R|||||||||||{station_for(n)}\r"
        f"OBR|1|LPL{n}^EHR||CTHEAD^CT Head^L||||||||||||||LA{n}|LRP{n}|LSPS{n}||||CT\r"
    ).encode()


STATIONS = 50


def station_for(n: int) -> str:
    """Orders are spread over the modalities, each querying its own worklist."""
    return f"MOD{n % STATIONS:03d}"


def _mllp_sender(port: int, start: int, count: int, result: LoadResult) -> None:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            buffer = b""
            for n in range(start, start + count):
                control_id = f"LOAD{n:06d}"
                began = time.perf_counter()
                sock.sendall(VT + order_message(control_id, n) + FS_CR)
                while FS_CR not in buffer:
                    chunk = sock.recv(65536)
                    if not chunk:
                        raise ConnectionError("closed")
                    buffer += chunk
                frame, buffer = buffer.split(FS_CR, 1)
                result.add("ack_seconds", time.perf_counter() - began)
                code = frame.split(b"MSA|")[1][:2].decode()
                with result._lock:
                    result.acks[control_id] = code
    except Exception as exc:
        result.add("errors", f"mllp: {type(exc).__name__}: {exc}")


def _query(station: str) -> Dataset:
    query = Dataset()
    query.PatientName = ""
    query.PatientID = ""
    query.AccessionNumber = ""
    item = Dataset()
    item.Modality = "CT"
    item.ScheduledProcedureStepStartDate = "20261126"
    item.ScheduledProcedureStepStartTime = ""
    item.ScheduledStationAETitle = station
    query.ScheduledProcedureStepSequence = [item]
    return query


def _modality(port: int, index: int, queries: int, result: LoadResult) -> None:
    ae = AE(ae_title=f"MOD{index:03d}")
    ae.add_requested_context(ModalityWorklistInformationFind)
    try:
        assoc = ae.associate("127.0.0.1", port, ae_title="RIS")
        if not assoc.is_established:
            result.add("errors", f"association {index} not established")
            return
        for _ in range(queries):
            began = time.perf_counter()
            statuses = [
                s.Status
                for s, _ in assoc.send_c_find(_query(f"MOD{index % STATIONS:03d}"), ModalityWorklistInformationFind)
            ]
            result.add("find_seconds", time.perf_counter() - began)
            if not statuses or statuses[-1] != 0x0000:
                result.add("errors", f"association {index}: C-FIND ended with {statuses[-1:]}")
        assoc.release()
    except Exception as exc:
        result.add("errors", f"dicom {index}: {type(exc).__name__}: {exc}")


def run_load(
    mllp_port: int,
    dicom_port: int,
    *,
    associations: int = 50,
    queries: int = 5,
    mllp_connections: int = 4,
    orders_per_connection: int = 50,
) -> LoadResult:
    result = LoadResult()
    threads = [
        threading.Thread(
            target=_mllp_sender, args=(mllp_port, c * orders_per_connection, orders_per_connection, result)
        )
        for c in range(mllp_connections)
    ] + [threading.Thread(target=_modality, args=(dicom_port, i, queries, result)) for i in range(associations)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    result.wall_seconds = time.perf_counter() - began
    return result


def summary(result: LoadResult) -> dict[str, float]:
    def ms(values, q):
        return statistics.quantiles(values, n=100)[q - 1] * 1000 if len(values) > 1 else float("nan")

    return {
        "orders": len(result.acks),
        "orders_per_second": len(result.acks) / result.wall_seconds if result.wall_seconds else 0.0,
        "ack_median_ms": statistics.median(result.ack_seconds) * 1000 if result.ack_seconds else float("nan"),
        "ack_p95_ms": ms(result.ack_seconds, 95),
        "queries": len(result.find_seconds),
        "find_median_ms": statistics.median(result.find_seconds) * 1000 if result.find_seconds else float("nan"),
        "find_p95_ms": ms(result.find_seconds, 95),
        "errors": len(result.errors),
    }
