"""The benchmark's worklist: N steps, each with its own patient and order,
spread over stations and days so that one station has about 20 steps a day.

Bulk inserts, not the order service: 100,000 orders through `order_place`
would take the benchmark longer than the queries it measures.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Min
from pydicom.dataset import FileMetaDataset
from pydicom.filebase import DicomFileLike
from pydicom.filewriter import write_file_meta_info
from pydicom.uid import ExplicitVRLittleEndian
from pynetdicom.dsutils import decode, encode

from ris.models import ImagingOrder, Patient, RequestedProcedure, ScheduledProcedureStep
from ris.selectors.worklist import COLUMNS
from worklist.encoding import encode_row
from worklist.response import Context, ResponsePlan, full_dataset_keys

PER_STATION_DAY = 20
BATCH = 5000
WRITERS = 16  # threads creating .wl files, per process
MWL_FIND = "1.2.840.10008.5.1.4.31"
CODE = {"code_value": "CTHEAD", "code_scheme": "L", "code_meaning": "CT HEAD"}
PROTOCOL = {f"protocol_{key}": value for key, value in CODE.items()}


@dataclass(frozen=True)
class Layout:
    """Where the items fall: `stations` stations over `days` days from `first_day`."""

    size: int
    stations: int
    days: int
    first_day: dt.date

    @classmethod
    def of(cls, size: int) -> Layout:
        stations = min(10, max(1, size // PER_STATION_DAY))
        days = max(1, size // (PER_STATION_DAY * stations))
        return cls(size, stations, days, dt.date(2026, 11, 26) - dt.timedelta(days=days // 2))

    @property
    def today(self) -> dt.date:
        """The middle day, the one the modality-style query asks for."""
        return self.first_day + dt.timedelta(days=self.days // 2)

    def station(self, n: int) -> str:
        return f"ST{n % self.stations:02d}"

    def start(self, n: int) -> dt.datetime:
        day = self.first_day + dt.timedelta(days=(n // self.stations) % self.days)
        minutes = 7 * 60 + (n // (self.stations * self.days)) * 20 % (12 * 60)
        when = dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=minutes)
        return when.replace(tzinfo=ZoneInfo(settings.TIME_ZONE))


def patient_id(n: int) -> str:
    return f"PAT{n:07d}"


def seed(size: int) -> Layout:
    """Empty the worklist tables and fill them with `size` steps: on
    PostgreSQL by one process per CPU, each inserting its own batches."""
    layout = Layout.of(size)
    _empty()
    batches = [range(first, min(size, first + BATCH)) for first in range(0, size, BATCH)]
    if connection.vendor == "postgresql" and len(batches) > 1:
        _in_processes(_insert_batch, [(layout, batch) for batch in batches])
    else:
        for batch in batches:
            _insert_batch(layout, batch)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return layout


def _insert_batch(layout: Layout, numbers: range) -> int:
    with transaction.atomic():
        _insert(layout, numbers)
    return len(numbers)


def _in_processes(function, arguments: list[tuple]) -> list:
    """`function(*args)` for each, in one forked process per CPU (each opens
    its own database connection)."""
    _disconnect()  # no connection, pooled or not, to be shared with the children
    with multiprocessing.get_context("fork").Pool(os.cpu_count() or 1, initializer=_disconnect) as pool:
        return pool.starmap(function, arguments, chunksize=1)


def _disconnect() -> None:
    connection.close()
    if connection.settings_dict.get("OPTIONS", {}).get("pool"):
        connection.close_pool()


def _empty() -> None:
    for model in (ScheduledProcedureStep, RequestedProcedure, ImagingOrder, Patient):
        model.objects.all()._raw_delete(model.objects.db)


def _insert(layout: Layout, numbers: range) -> None:
    patients = Patient.objects.bulk_create(
        Patient(patient_id=patient_id(n), name=f"PATIENT{n}^TEST", sex="O") for n in numbers
    )
    orders = ImagingOrder.objects.bulk_create(
        ImagingOrder(patient=p, accession_number=f"ACC{n:07d}", placer_number=f"PL{n}")
        for n, p in zip(numbers, patients, strict=False)
    )
    procedures = RequestedProcedure.objects.bulk_create(
        RequestedProcedure(
            order=o,
            requested_procedure_id=f"RP{n}",
            description="CT HEAD",
            **CODE,
            study_instance_uid=f"1.2.826.0.1.3680043.8.498.{n + 1}",
        )
        for n, o in zip(numbers, orders, strict=False)
    )
    ScheduledProcedureStep.objects.bulk_create(
        ScheduledProcedureStep(
            requested_procedure=r,
            sps_id=f"SPS{n}",
            modality="CT",
            station_ae_title=layout.station(n),
            start=layout.start(n),
            description="CT HEAD",
            **PROTOCOL,
        )
        for n, r in zip(numbers, procedures, strict=False)
    )


def write_worklist_files(directory: Path) -> int:
    """One .wl file per open step, from the same rows and the same response
    plan the SCP answers from (for dcmtk's wlmscpfs and Orthanc). The file
    meta is the same for every file: encoded once; each data set straight
    from the plan (worklist/encoding.py), checked once against pydicom.

    A million files: the steps split by primary key over one process per
    CPU, each writing through a pool of threads (creating a file is a wait
    on the file system, not work for the CPU)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "lockfile").touch()
    bounds = ScheduledProcedureStep.objects.aggregate(low=Min("pk"), high=Max("pk"))
    if bounds["low"] is None:
        return 0
    low, high = bounds["low"], bounds["high"] + 1
    step = max(BATCH, (high - low) // ((os.cpu_count() or 1) * 8) + 1)
    ranges = [(str(directory), first, min(high, first + step), first == low) for first in range(low, high, step)]
    if len(ranges) == 1:
        return _write_range(*ranges[0])
    return sum(_in_processes(_write_range, ranges))


def _write_range(directory: str, first: int, end: int, check: bool) -> int:
    plan, context = _file_plan(), Context("")
    head = _file_head()
    count = 0
    rows = (
        ScheduledProcedureStep.objects.filter(pk__gte=first, pk__lt=end)
        .order_by("pk")
        .values(*COLUMNS)
        .iterator(chunk_size=BATCH)
    )
    try:
        with ThreadPoolExecutor(WRITERS) as writers:
            pending = []
            for count, row in enumerate(rows, start=1):
                body = encode_row(plan, row, context, implicit=False)
                if body is None or (check and count == 1):
                    body = _checked(plan, row, context, body)
                pending.append(writers.submit(_write_file, f"{directory}/{row['pk']}.wl", head + body))
                if len(pending) >= BATCH:
                    for done in pending:
                        done.result()
                    pending = []
            for done in pending:
                done.result()
    finally:
        _disconnect()  # a pool worker's connection pool and its threads end with its task
    return count


def _write_file(path: str, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def _file_plan() -> ResponsePlan:
    everything = full_dataset_keys()
    return ResponsePlan(everything, character_set="ISO_IR 100")


def _checked(plan: ResponsePlan, row: dict, context: Context, body: bytes | None) -> bytes:
    """pydicom's encoding of the row; the fast one must decode the same."""
    ds = plan.build(row, context)
    slow = encode(ds, False, True) or b""
    if body is not None and decode(BytesIO(body), False, True) != decode(BytesIO(slow), False, True):
        raise AssertionError("fast and pydicom encodings of a worklist file differ")
    return slow


def _file_head() -> bytes:
    buffer = BytesIO()
    buffer.write(b"\x00" * 128 + b"DICM")
    write_file_meta_info(DicomFileLike(buffer), _file_meta(), enforce_standard=True)
    return buffer.getvalue()


def _file_meta() -> FileMetaDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MWL_FIND
    meta.MediaStorageSOPInstanceUID = "1.2.826.0.1.3680043.8.498.0"
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return meta
