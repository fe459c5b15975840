"""The query log and the audit events of C-FINDs, written after the answer,
in batches, by one background thread per process.

An answer never waits for them: each C-FIND hands over one entry and goes
on. The writer sleeps on a condition until entries come, lets more gather
for `GATHER` seconds, then writes all it has in one transaction (one bulk
INSERT for the log, one for the audit events). While the database is away
it keeps up to `MAX_PENDING` entries, retries with backoff, and counts what
it had to drop.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DatabaseError, connection, transaction

from infra.db import release_connection
from ris.records import Actor
from ris.services.audit import worklist_query_views
from worklist.registry import ModalityPolicy, query_log_row, query_log_write

log = logging.getLogger(__name__)
MAX_PENDING = 10_000
BATCH = 500
GATHER = 0.02  # seconds the writer waits for more entries before it writes


@dataclass
class Entry:
    policy: ModalityPolicy
    actor: Actor
    at: dt.datetime
    keys: str
    items: int
    duration_ms: float
    status: int
    patient_ids: set[str] = field(default_factory=set)


class QueryLogWriter:
    def __init__(self) -> None:
        self._pending: deque[Entry] = deque()
        self._ready = threading.Condition()
        self._writing = False
        self.dropped = 0
        self._thread: threading.Thread | None = None

    def put(self, entry: Entry) -> None:
        with self._ready:
            if len(self._pending) >= MAX_PENDING:
                self._pending.popleft()
                self.dropped += 1
            self._pending.append(entry)
            if len(self._pending) == 1 or len(self._pending) >= BATCH:
                self._ready.notify_all()  # the writer waits for the first entry, then for a batch
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="mwl-query-log", daemon=True)
                self._thread.start()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every entry handed over is written (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        with self._ready:
            while self._pending or self._writing:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._ready.wait(min(remaining, 0.05))
        return True

    def _run(self) -> None:
        backoff = 0.5
        while True:
            with self._ready:
                while not self._pending:
                    self._writing = False
                    self._ready.notify_all()
                    self._ready.wait()
                # A short while for more entries to come: under load one
                # transaction then writes many (the answers went out already).
                gather_until = time.monotonic() + GATHER
                while len(self._pending) < BATCH and (left := gather_until - time.monotonic()) > 0:
                    self._ready.wait(left)
                batch = [self._pending.popleft() for _ in range(min(BATCH, len(self._pending)))]
                self._writing = True
            if self._write(batch):
                backoff = 0.5
                continue
            with self._ready:
                self._pending.extendleft(reversed(batch[: MAX_PENDING - len(self._pending)]))
            time.sleep(backoff)
            backoff = min(backoff * 2, 30.0)

    def _write(self, batch: list[Entry]) -> bool:
        try:
            with transaction.atomic():
                if settings.RIS_MWL_LOG_QUERIES:
                    query_log_write(list(_rows(batch)))
                worklist_query_views((e.actor, e.items, e.patient_ids, f"{e.status:04X}") for e in batch)
            return True
        except DatabaseError as exc:
            log.error("MWL query log: %d entries not written yet, database unavailable: %s", len(batch), exc)
            connection.close()
            return False
        except Exception:  # a row that can never be written: dropped, never retried forever
            log.exception("MWL query log: %d entries dropped", len(batch))
            return True
        finally:
            release_connection()


def _rows(batch: Iterable[Entry]) -> Iterable:  # type: ignore[type-arg]
    for e in batch:
        yield query_log_row(
            policy=e.policy, at=e.at, keys=e.keys, items_returned=e.items, duration_ms=e.duration_ms, status=e.status
        )


writer = QueryLogWriter()
