"""Database connections of the listener threads."""

from typing import Any

from django.db import connection
from django.db.models import QuerySet


def release_connection() -> None:
    """Between two requests of one peer, give this thread's connection back to
    the pool, when there is one: a DICOM association or an MLLP connection may
    stay open for hours, and must not hold a pooled connection all that time.
    Without a pool the connection is kept: opening one costs more than a query."""
    if connection.settings_dict.get("OPTIONS", {}).get("pool"):
        connection.close()


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
    import psycopg  # the PostgreSQL driver, needed only here

    sql, params = query.query.sql_with_params()
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, prepare=True)
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
