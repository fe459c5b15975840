"""Database connections of the listener threads."""

from django.db import connection


def release_connection() -> None:
    """Between two requests of one peer, give this thread's connection back to
    the pool, when there is one: a DICOM association or an MLLP connection may
    stay open for hours, and must not hold a pooled connection all that time.
    Without a pool the connection is kept: opening one costs more than a query."""
    if connection.settings_dict.get("OPTIONS", {}).get("pool"):
        connection.close()
