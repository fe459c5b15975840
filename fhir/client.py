"""The outbound FHIR client: POST a transaction Bundle to the server's base URL.

Registered as the outbox sender for FHIR destinations (fhir/apps.py). A 2xx
answer is delivery; a 4xx/5xx answer, a timeout or a refused connection is a
failure with the reason, retried by the outbox.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from ris.models import Destination, OutboundMessage
from ris.outbox import SendResult

MAX_RESPONSE_BYTES = 1024 * 1024


def send_fhir(destination: Destination, message: OutboundMessage) -> SendResult:
    request = urllib.request.Request(
        destination.base_url.rstrip("/"),
        data=message.payload.encode("utf-8"),
        method="POST",
        headers={"Content-Type": f"{message.content_type}; charset=utf-8", "Accept": "application/fhir+json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=destination.timeout_seconds) as answer:
            return SendResult(True, response=_describe(answer.status, answer.read(MAX_RESPONSE_BYTES)))
    except urllib.error.HTTPError as exc:
        body = exc.read(MAX_RESPONSE_BYTES)
        # A 4xx refuses this resource (it would fail again); 408, 429 and 5xx are the server's state.
        refused = 400 <= exc.code < 500 and exc.code not in (408, 429)
        error = f"HTTP {exc.code}: {_reason(exc, body)}"
        return SendResult(False, response=_describe(exc.code, body), error=error, refused=refused)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return SendResult(False, error=f"{destination.base_url}: {type(exc).__name__}: {reason}")


def _describe(status: int, body: bytes) -> str:
    return f"HTTP {status}\n{body.decode('utf-8', errors='replace')}"


def _reason(exc: urllib.error.HTTPError, body: bytes) -> str:
    """The OperationOutcome's diagnostics when the server sent one, else the HTTP reason."""
    try:
        issues = json.loads(body).get("issue", [])
        texts = [i.get("diagnostics") or i.get("details", {}).get("text", "") for i in issues]
        return "; ".join(t for t in texts if t) or str(exc.reason)
    except (ValueError, AttributeError):
        return str(exc.reason)
