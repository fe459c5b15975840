"""Database connections of the listener threads."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import select
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import psycopg
import psycopg.errors
from django.db import DatabaseError, connection
from django.db.models import Q, QuerySet
from psycopg import pq
from psycopg.adapt import PyFormat, Transformer
from psycopg.pq import TransactionStatus


def release_connection() -> None:
    """Between two requests of one peer, give this thread's connection back to
    the pool, when there is one: a DICOM association or an MLLP connection may
    stay open for hours, and must not hold a pooled connection all that time.
    Without a pool the connection is kept: opening one costs more than a query."""
    if connection.settings_dict.get("OPTIONS", {}).get("pool"):
        connection.close()


HELD_APPLICATION_NAME = "ris-held"
PREPARED_STATEMENTS = 64  # kept per held connection, the least recently used let go beyond


class HeldConnection:
    """A PostgreSQL connection kept by a listener (the MLLP loop's lane, a
    DICOM listener's few), for statements that must cost one round trip:
    autocommit (a statement is its own transaction: one commit; statements
    sent together share one), server-side prepared (parsed and planned once
    per connection), no pool check before each use.

    Opened at first use; after an error that left it unusable (the database
    went away, a statement left it in doubt) it is closed, and the next use
    opens a new one; after a statement refused on its data it is kept.
    Checked before use when it was idle for a while. The caller decides what
    a failed statement means."""

    CONNECT_TIMEOUT_SECONDS = 5
    IDLE_CHECK_SECONDS = 30.0  # after this long unused, the connection is checked before use
    APPLICATION_NAME = HELD_APPLICATION_NAME

    def __init__(self, *, generic_plans: bool = True, application_name: str = HELD_APPLICATION_NAME) -> None:
        self._connection: psycopg.Connection[tuple[Any, ...]] | None = None
        self._wire: _Wire | None = None
        self._used = 0.0
        self.generic_plans = generic_plans
        self.application_name = application_name

    @staticmethod
    def available() -> bool:
        return connection.vendor == "postgresql"

    def execute(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """Run one statement (`%s` placeholders); its rows. Raises
        psycopg.Error (the connection is then dropped when unusable)."""
        self.send(sql, params)
        while not self.gather():
            self.wait()
        return self.rows()

    def send(self, sql: str, params: Sequence[Any]) -> bool:
        """Send one statement (`%s` placeholders) and return at once:
        `gather` until it says the answer is in, then `rows`. Opens the
        connection first if need be (that waits). Raises psycopg.Error (the
        connection is then dropped when unusable)."""
        try:
            return self._opened().send(_numbered(sql), params)
        except psycopg.Error:
            self._close_if_unusable()
            raise

    def connect(self) -> None:
        """Open the connection now (that waits), so that `send_together` need not."""
        self._opened()

    def _opened(self) -> _Wire:
        conn = self._open()
        if self._wire is None or self._wire.connection is not conn:
            self._wire = _Wire(conn)
        return self._wire

    def send_together(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> None:
        """Send `statements` (`%s` placeholders) as one transaction, committed
        once after the last of them, and return at once, without waiting for
        the network (what the socket does not take yet is sent by `flush`):
        `gather` until it says the answers are in, then `together`. A shape
        not prepared on the connection yet is prepared on the way. Raises
        psycopg.Error, the connection then closed; OperationalError, nothing
        sent, when it is not open (`connect` it first)."""
        wire = self._wire
        if wire is None or not self.usable:
            raise psycopg.OperationalError("not connected: nothing sent")
        self._used = time.monotonic()
        try:
            wire.send_together([(_numbered(sql), params) for sql, params in statements])
        except psycopg.Error:
            self.close()
            raise

    def flush(self) -> bool:
        """Send more of what `send_together` left unsent; whether some is left still."""
        assert self._wire is not None, "nothing sent"
        try:
            return self._wire.flush()
        except psycopg.Error:
            self.close()
            raise

    def together(self) -> tuple[list[Any], psycopg.Error | None]:
        """What the statements sent together came to, once gathered: for
        each, its rows (all were committed), the psycopg.Error it raised, or
        None (not applied: another's error or the commit's rolled all back);
        and the commit's own error (a deferred constraint), which names no
        statement."""
        assert self._wire is not None, "nothing sent"
        return self._wire.together()

    def channel(self) -> tuple[int, object] | None:
        """The open connection's socket, to wait on for a statement sent,
        with a token that changes when the connection is opened again (a
        new socket may reuse the number); None while it is closed."""
        wire = self._wire
        if wire is None or not self.usable:
            return None
        return wire.fileno(), wire

    def drain(self) -> bool:
        """Read and drop what the server sent while no statement was out (a
        notice; its end, when it closed the connection): False, the
        connection closed, once it is gone."""
        try:
            if self._wire is not None:
                self._wire.drain()
        except psycopg.Error:
            self.close()
        return self.channel() is not None

    def wait(self) -> None:
        """Until the server sends more of the statement's answer."""
        assert self._wire is not None, "nothing sent"
        self._wire.wait()

    def gather(self) -> bool:
        """Read what the server sent so far, without waiting; whether the
        statement's whole answer is in."""
        assert self._wire is not None, "nothing sent"
        try:
            return self._wire.gather()
        except psycopg.Error:
            self._close_if_unusable()
            raise

    def rows(self) -> list[tuple[Any, ...]]:
        """The rows of the statement gathered; raises the psycopg.Error it met."""
        assert self._wire is not None, "nothing sent"
        try:
            return self._wire.rows()
        except psycopg.Error:
            self._close_if_unusable()
            raise

    def _close_if_unusable(self) -> None:
        if not self._usable():
            self.close()

    def _open(self) -> psycopg.Connection[tuple[Any, ...]]:
        now = time.monotonic()
        if self._connection is not None and now - self._used > self.IDLE_CHECK_SECONDS:
            self._check()  # as the pool checks a connection that waited: the database may have gone since
        self._used = now
        if self._connection is None or self._connection.closed or self._connection.broken:
            self.close()
            self._connection = psycopg.connect(
                **_connect_params(), autocommit=True, application_name=self.application_name
            )
            if self.generic_plans:
                # The statements are prepared once per connection; their plan too
                # (the default would plan five executions anew before choosing).
                self._connection.execute("SET plan_cache_mode = force_generic_plan")
        return self._connection

    def query(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """Rows of one statement as Django compiles it (`%s` placeholders,
        `%%` for a percent sign), prepared on this connection. Raises
        psycopg.Error (the connection is then dropped if unusable)."""
        try:
            with psycopg.Cursor(self._open()) as cursor:
                cursor.execute(sql, params, prepare=True)
                return cursor.fetchall()
        except psycopg.Error:
            if not self._usable():
                self.close()
            raise

    @property
    def stale(self) -> bool:
        """Unused for so long that it is to be checked (`connect`) before use."""
        return time.monotonic() - self._used > self.IDLE_CHECK_SECONDS

    @property
    def usable(self) -> bool:
        """Open and not broken (it is reopened at next use otherwise)."""
        return self._connection is not None and not self._connection.closed and not self._connection.broken

    def _usable(self) -> bool:
        """After a statement failed on its data (a unique index, a value too
        long) the connection is idle and fine; after anything else, dropped."""
        conn = self._connection
        return conn is not None and not conn.broken and conn.info.transaction_status == TransactionStatus.IDLE

    def _check(self) -> None:
        if self._connection is None:
            return
        try:
            self._connection.execute("SELECT 1")
        except psycopg.Error:
            self.close()

    def close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(psycopg.Error):
                self._connection.close()
            self._connection = None
        self._wire = None


@dataclasses.dataclass(frozen=True, slots=True)
class _Slot:
    """One result expected of statements sent together: statement `number`'s
    (`key` None), its prepare's (`key`, `name`), or a deallocation's (`number` None)."""

    number: int | None
    key: tuple[bytes, tuple[int, ...]] | None = None
    name: bytes = b""


class _Wire:
    """Prepared statements on one connection through psycopg's libpq layer
    (`psycopg.pq`) and its adapters, without its cursors: a cursor's
    machinery cost 20-40 µs of CPU more per statement (docs/benchmarks.md,
    "The statement without a cursor"). Parameters are adapted as a
    cursor adapts them (one `Transformer` for the connection's life), errors
    raised as a cursor raises them (`psycopg.errors`), each statement
    prepared once per shape of its parameters' types; the least recently
    used beyond `PREPARED_STATEMENTS` are deallocated."""

    def __init__(self, conn: psycopg.Connection[tuple[Any, ...]]) -> None:
        self.connection = conn
        self._pgconn = conn.pgconn
        self._encoding = conn.info.encoding
        self._transformer = Transformer(conn)
        self._names: OrderedDict[tuple[bytes, tuple[int, ...]], bytes] = OrderedDict()
        self._made = 0
        self._poll = select.poll()
        self._poll.register(self._pgconn.socket, select.POLLIN)
        self._received: pq.abc.PGresult | None = None  # of the statement sent, as it arrives
        self._error: pq.abc.PGresult | None = None  # the first error among them
        self._slots: list[_Slot] | None = None  # of the statements sent together, while their answers come
        self._next = 0  # the slot the next result is for
        self._answers: list[pq.abc.PGresult | None] = []
        self._commit_error: pq.abc.PGresult | None = None
        self._stale: list[bytes] = []  # prepared statements to deallocate with the next ones sent together

    def fileno(self) -> int:
        return self._pgconn.socket

    def send(self, query: str, params: Sequence[Any]) -> bool:
        """Send the statement, prepared first if its shape is new (that waits)."""
        tx = self._transformer
        values = tx.dump_sequence(params, [PyFormat.AUTO] * len(params))
        name = self._prepared(_encoded(query, self._encoding), tuple(tx.types or ()))
        self._pgconn.send_query_prepared(name, values, param_formats=tx.formats)
        self._flush()
        self._received = self._error = None
        return True

    def send_together(self, queries: Sequence[tuple[str, Sequence[Any]]]) -> None:
        """The queries in pipeline mode up to one Sync: PostgreSQL runs what
        comes before a Sync as one transaction, and commits it at the Sync,
        or rolls it all back when one fails. New shapes are prepared in the
        same pipeline; the connection is non-blocking from now on."""
        pgconn, tx = self._pgconn, self._transformer
        if not pgconn.nonblocking:
            pgconn.nonblocking = 1
        slots: list[_Slot] = []
        fresh: dict[tuple[bytes, tuple[int, ...]], bytes] = {}  # prepared in this pipeline
        pgconn.enter_pipeline_mode()
        for stale in self._stale:
            pgconn.send_query_params(b"DEALLOCATE " + stale, None)
            slots.append(_Slot(None))
        self._stale = []
        for number, (query, params) in enumerate(queries):
            values = tx.dump_sequence(params, [PyFormat.AUTO] * len(params))
            key = (_encoded(query, self._encoding), tuple(tx.types or ()))
            name = self._names.get(key, fresh.get(key))
            if name is None:
                name = fresh[key] = self._new_name()
                pgconn.send_prepare(name, key[0], param_types=key[1])
                slots.append(_Slot(number, key, name))
            elif key in self._names:
                self._names.move_to_end(key)
            pgconn.send_query_prepared(name, values, param_formats=tx.formats)
            slots.append(_Slot(number))
        pgconn.pipeline_sync()
        pgconn.flush()
        self._slots, self._next, self._commit_error = slots, 0, None
        self._answers = [None] * len(queries)

    def flush(self) -> bool:
        return bool(self._pgconn.flush())

    def gather(self) -> bool:
        """Consume what has arrived, without waiting; True once the server
        has answered the statement all (its result, then its end)."""
        pgconn = self._pgconn
        pgconn.consume_input()
        if self._slots is not None:
            return self._gather_together()
        while not pgconn.is_busy():
            received = pgconn.get_result()
            if received is None:
                return True
            failed = received.status not in (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.COMMAND_OK)
            if failed and self._error is None:  # the first error is the one to raise
                self._error = received
            self._received = received
        return False

    def _gather_together(self) -> bool:
        """Each result to its slot: a statement's or a prepare's, in the order
        sent, then the commit's error if it failed, then the Sync's end."""
        pgconn, slots = self._pgconn, self._slots
        assert slots is not None
        while not pgconn.is_busy():
            received = pgconn.get_result()
            if received is None:  # between one query's results and the next's
                continue
            status = received.status
            if status == pq.ExecStatus.PIPELINE_SYNC:
                pgconn.exit_pipeline_mode()
                self._slots = None
                return True
            if self._next == len(slots):
                self._commit_error = received
                continue
            slot = slots[self._next]
            self._next += 1
            if slot.number is None or status == pq.ExecStatus.PIPELINE_ABORTED:
                continue
            if slot.key is None:  # the statement's own result
                if self._answers[slot.number] is None:  # not its prepare's error
                    self._answers[slot.number] = received
            elif status == pq.ExecStatus.COMMAND_OK:
                self._keep(slot.key, slot.name)
            else:  # its prepare failed: the statement's error
                self._answers[slot.number] = received
        return False

    def together(self) -> tuple[list[Any], psycopg.Error | None]:
        results, self._answers = self._answers, []
        commit, self._commit_error = self._commit_error, None
        errors = [self._error_of(result) for result in results]
        if commit is None and not any(errors) and all(result is not None for result in results):
            tx = self._transformer
            answers: list[Any] = []
            for result in results:
                assert result is not None
                tx.set_pgresult(result)
                answers.append(tx.load_rows(0, result.ntuples, tuple) if result.ntuples else [])
            return answers, None
        return errors, self._error_of(commit)

    def _error_of(self, result: pq.abc.PGresult | None) -> psycopg.Error | None:
        if result is None or result.status in (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.COMMAND_OK):
            return None
        return psycopg.errors.error_from_result(result, encoding=self._encoding)

    def rows(self) -> list[tuple[Any, ...]]:
        """The gathered statement's rows; raises the psycopg.Error a cursor would."""
        result, error, self._received, self._error = self._received, self._error, None, None
        if error is not None:
            raise psycopg.errors.error_from_result(error, encoding=self._encoding)
        if result is None:
            raise psycopg.OperationalError("the server sent no result")
        if result.status == pq.ExecStatus.TUPLES_OK:
            tx = self._transformer
            tx.set_pgresult(result)
            return tx.load_rows(0, result.ntuples, tuple)
        return []

    def wait(self) -> None:
        self._poll.poll()

    def drain(self) -> None:
        pgconn = self._pgconn
        pgconn.consume_input()
        if pgconn.status != pq.ConnStatus.OK:
            raise psycopg.OperationalError("the server closed the connection")
        while not pgconn.is_busy() and pgconn.get_result() is not None:
            pass

    def _prepared(self, query: bytes, types: tuple[int, ...]) -> bytes:
        key = (query, types)
        name = self._names.get(key)
        if name is not None:
            self._names.move_to_end(key)
            return name
        name = self._new_name()
        self._pgconn.send_prepare(name, query, param_types=types)
        self._flush()
        self._wait_rows()
        self._keep(key, name)
        for oldest in self._stale:
            self._pgconn.send_query(b"DEALLOCATE " + oldest)
            self._flush()
            self._wait_rows()
        self._stale = []
        return name

    def _new_name(self) -> bytes:
        self._made += 1
        return f"_ris_{self._made}".encode()

    def _keep(self, key: tuple[bytes, tuple[int, ...]], name: bytes) -> None:
        """A statement prepared; the least recently used beyond the limit to deallocate."""
        self._names[key] = name
        if len(self._names) > PREPARED_STATEMENTS:
            self._stale.append(self._names.popitem(last=False)[1])

    def _wait_rows(self) -> list[tuple[Any, ...]]:
        while not self.gather():
            self.wait()
        return self.rows()

    def _flush(self) -> None:
        """A message larger than the socket's buffer: the rest as it drains."""
        pgconn = self._pgconn
        if pgconn.flush():
            self._poll.modify(pgconn.socket, select.POLLOUT)
            try:
                while pgconn.flush():
                    self._poll.poll()
            finally:
                self._poll.modify(pgconn.socket, select.POLLIN)


@functools.lru_cache(maxsize=128)
def _numbered(sql: str) -> str:
    """`%s` placeholders as PostgreSQL's own `$1, $2...`, converted once per
    statement text: the statement goes to libpq as it is (`_Wire`)."""
    pieces = sql.split("%s")
    return "".join(f"{piece}${number}" for number, piece in enumerate(pieces[:-1], start=1)) + pieces[-1]


@functools.lru_cache(maxsize=128)
def _encoded(query: str, encoding: str) -> bytes:
    return query.encode(encoding)


def _connect_params() -> dict[str, Any]:
    """The Django database's server and credentials (the test database in tests)."""
    settings = connection.settings_dict
    options = {key: value for key, value in settings.get("OPTIONS", {}).items() if key in _LIBPQ_OPTIONS}
    params = {
        "dbname": settings["NAME"],
        "user": settings.get("USER") or None,
        "password": settings.get("PASSWORD") or None,
        "host": settings.get("HOST") or None,
        "port": settings.get("PORT") or None,
        "connect_timeout": HeldConnection.CONNECT_TIMEOUT_SECONDS,
        **options,
    }
    return {key: value for key, value in params.items() if value is not None}


# OPTIONS that are libpq's own (the rest, such as `pool`, are Django's).
_LIBPQ_OPTIONS = {"sslmode", "sslrootcert", "sslcert", "sslkey", "options", "target_session_attrs"}


def prepared_rows(queryset: QuerySet[Any], columns: tuple[str, ...]) -> list[dict[str, Any]]:
    """The rows of `queryset` as dicts keyed by `columns`, in one round trip.

    On PostgreSQL the statement is prepared on the connection that runs it
    (psycopg's `prepare=True` through a server-side binding cursor): Django's
    own cursors bind on the client, which psycopg never prepares. A connection
    (pooled, it outlives the request) then plans each query shape once; the
    caller keeps the SQL text of one shape stable (same keys, same matching
    types: one text). psycopg keeps the last 100 statements per connection.
    Elsewhere the rows come from the ORM; SQLite's module caches statements
    by their text itself."""
    query = queryset.values_list(*columns)
    if connection.vendor != "postgresql":
        return [dict(zip(columns, row, strict=True)) for row in query]

    sql, params = query.query.sql_with_params()
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, prepare=True)
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


class HeldConnections:
    """A few held connections shared by one process's listener threads, for
    a read that runs on every request (the worklist query): each one taken,
    used for one statement and given back at once, without the pool's check
    before each use (a held connection checks itself after an idle while);
    its prepared statements stay with it. At most `size` statements run at
    once; a thread beyond waits up to `timeout` seconds, then DatabaseError."""

    APPLICATION_NAME = "ris-dicom-query"

    def __init__(self, size: int = 4, timeout: float = 5.0):
        self.size, self.timeout = size, timeout
        self._slots = threading.BoundedSemaphore(size)
        self._idle: list[HeldConnection] = []
        self._lock = threading.Lock()

    def rows(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """Raises django.db.DatabaseError when the database is unavailable."""
        if not self._slots.acquire(timeout=self.timeout):
            raise DatabaseError(f"no database connection free within {self.timeout:.0f} s")
        try:
            with self._lock:
                held = self._idle.pop() if self._idle else self._new()
            try:
                return self._query(held, sql, params)
            finally:
                with self._lock:
                    self._idle.append(held)
        finally:
            self._slots.release()

    def _new(self) -> HeldConnection:
        return HeldConnection(generic_plans=False, application_name=self.APPLICATION_NAME)

    @staticmethod
    def _query(held: HeldConnection, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """A connection the server ended since its last use (a restart, an
        administrator) fails its next statement: a read is run once more, on
        a new connection, before the database counts as unavailable."""
        try:
            return held.query(sql, params)
        except psycopg.OperationalError as exc:
            if held.usable:
                raise DatabaseError(str(exc)) from exc
        except psycopg.Error as exc:
            raise DatabaseError(str(exc)) from exc
        try:
            return held.query(sql, params)  # held reopens itself
        except psycopg.Error as exc:
            raise DatabaseError(str(exc)) from exc

    def close(self) -> None:
        """Close the idle connections (a listener's shutdown; a test database is dropped after)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for held in idle:
            held.close()


@functools.lru_cache(maxsize=512)
def compiled(queryset_of: Any, condition: Q, columns: tuple[str, ...]) -> tuple[str, tuple[Any, ...]]:
    """The SQL and parameters of `queryset_of(condition).values_list(*columns)`,
    compiled once per condition: a modality asks the same question again and
    again (its station, today). Q objects compare and hash by their content."""
    sql, params = queryset_of(condition).values_list(*columns).query.sql_with_params()
    return sql, tuple(params)
