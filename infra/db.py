"""Database connections of the listener threads."""

from __future__ import annotations

import contextlib
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
# A statement sent without waiting (`HeldConnection.send(without_waiting=True)`)
# must fit a TCP socket's first send buffer (16 KiB on Linux): a larger one
# could wait for the network to drain it, so an event loop leaves it to a thread.
UNWAITED_STATEMENT_BYTES = 16 * 1024


class HeldConnection:
    """A PostgreSQL connection of its own for one listener connection's life,
    for statements that must cost one round trip: autocommit (a statement is
    its own transaction: one commit), server-side prepared (parsed and
    planned once per connection), no pool check before each use.

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

    def send(self, sql: str, params: Sequence[Any], *, without_waiting: bool = False) -> bool:
        """Send one statement (`%s` placeholders) and return at once:
        `gather` until it says the answer is in, then `rows`. Raises
        psycopg.Error (the connection is then dropped when unusable).

        `without_waiting`: only when sending costs no round trip of its own
        (the connection open and recently used, the statement's shape
        prepared on it) and cannot wait for the network (its values within
        `UNWAITED_STATEMENT_BYTES`), for an event loop that must not wait;
        False, and nothing sent, otherwise."""
        try:
            if without_waiting:
                wire = self._wire
                now = time.monotonic()
                if wire is None or not self.usable or now - self._used > self.IDLE_CHECK_SECONDS:
                    return False
                self._used = now
                return wire.send(_numbered(sql), params, prepared_only=True)
            conn = self._open()
            if self._wire is None or self._wire.connection is not conn:
                self._wire = _Wire(conn)
            return self._wire.send(_numbered(sql), params)
        except psycopg.Error:
            self._close_if_unusable()
            raise

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

    def fileno(self) -> int:
        return self._pgconn.socket

    def send(self, query: str, params: Sequence[Any], *, prepared_only: bool = False) -> bool:
        """Send the statement; with `prepared_only`, only if its shape is
        prepared already and its values fit the socket's buffer at once
        (False, nothing sent, if not)."""
        tx = self._transformer
        values = tx.dump_sequence(params, [PyFormat.AUTO] * len(params))
        encoded, types = _encoded(query, self._encoding), tuple(tx.types or ())
        if prepared_only and (
            (encoded, types) not in self._names
            or sum(len(value) for value in values if value is not None) > UNWAITED_STATEMENT_BYTES
        ):
            return False
        name = self._prepared(encoded, types)
        self._pgconn.send_query_prepared(name, values, param_formats=tx.formats)
        self._flush()
        self._received = self._error = None
        return True

    def gather(self) -> bool:
        """Consume what has arrived, without waiting; True once the server
        has answered the statement all (its result, then its end)."""
        pgconn = self._pgconn
        pgconn.consume_input()
        while not pgconn.is_busy():
            received = pgconn.get_result()
            if received is None:
                return True
            failed = received.status not in (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.COMMAND_OK)
            if failed and self._error is None:  # the first error is the one to raise
                self._error = received
            self._received = received
        return False

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
        self._made += 1
        name = f"_ris_{self._made}".encode()
        self._pgconn.send_prepare(name, query, param_types=types)
        self._flush()
        self._wait_rows()
        self._names[key] = name
        if len(self._names) > PREPARED_STATEMENTS:
            _, oldest = self._names.popitem(last=False)
            self._pgconn.send_query(b"DEALLOCATE " + oldest)
            self._flush()
            self._wait_rows()
        return name

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
