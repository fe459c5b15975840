"""dicomweb-client (a DICOMweb client we did not write) pointed at the
worklist services: its session, query-parameter encoding, paging and DICOM
JSON decoding, on the MWL-RS resource it has no method of its own for."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any

from dicomweb_client import DICOMwebClient
from dicomweb_client.uri import parse_query_parameters
from pydicom.dataset import Dataset

MWL = "modality-scheduled-procedure-steps"


def run_apart(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run a WebSocket client coroutine on an event loop of its own thread:
    the test's thread may already run one (the browser tests' Playwright)."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = asyncio.run(coroutine)
        except BaseException as exc:  # handed back to the test's thread
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(60)
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


class WorklistClient(DICOMwebClient):
    def search_for_scheduled_steps(
        self,
        *,
        search_filters: dict[str, Any] | None = None,
        fields: list[str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
        fuzzymatching: bool | None = None,
        get_remaining: bool = False,
    ) -> list[Dataset]:
        params = parse_query_parameters(
            fuzzymatching=fuzzymatching, limit=limit, offset=offset, fields=fields, search_filters=search_filters
        )
        found = self._http_get_application_json(f"{self.base_url}/{MWL}", params=params, get_remaining=get_remaining)
        return [Dataset.from_json(item) for item in found]


def worklist_client(base_url: str, token: str) -> WorklistClient:
    return WorklistClient(url=f"{base_url}/dicomweb", headers={"Authorization": f"Token {token}"})
