"""Logging filters that keep patient data out of the logs (settings LOGGING).

An access log line names the request (`GET /patients/?name=...`); query
strings carry searches by name, birth date and identifier, so their values
are replaced before the line is written. The parameter names stay, to tell
what kind of request it was.
"""

from __future__ import annotations

import logging
import re

# A query string inside a request line or path: "?" up to a space, a quote or the end.
_QUERY = re.compile(r"\?([^\s\"']*)")
_VALUE = re.compile(r"=[^&;]*")
REDACTED = "…"


def redact_query(text: str) -> str:
    """`/patients/?name=DOE&mrn=1` -> `/patients/?name=…&mrn=…`."""
    return _QUERY.sub(lambda found: "?" + _VALUE.sub("=" + REDACTED, found.group(1)), text)


class RedactQueryStrings(logging.Filter):
    """Rewrites a record's message and arguments with every query value redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_query(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact_query(arg) if isinstance(arg, str) else arg for arg in record.args)
        request = getattr(record, "request", None)
        if request is not None and not isinstance(request, str):
            record.request = redact_query(str(getattr(request, "path", "")))  # no query, no headers
        return True
