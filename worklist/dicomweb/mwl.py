"""MWL-RS search (PS3.18 ch. 14): the Modality Worklist C-FIND over HTTP.

The query string becomes the identifier a C-FIND would carry
(`worklist.dicomweb.params`), run by the same query (`worklist.query`) and
answered by the same response plan (`worklist.response`) as the DIMSE door.
The C-FIND's statuses become HTTP ones here (PS3.18 8.3.4, 10.6.3):

| DIMSE                                   | HTTP                                        |
|-----------------------------------------|---------------------------------------------|
| pending / success with matches          | 200, a DICOM JSON array                     |
| success, nothing matched                | 204 No Content                              |
| FF01 unsupported optional keys          | 200 with `Warning: 299 … unsupported`       |
| A900 identifier does not match / C000   | 400 with `Warning: 299 <reason>`            |
| more matches than RIS_DICOMWEB_MAX_RESULTS, no limit asked | 413, page with limit/offset  |
| A700 out of resources (database away)   | 503                                         |
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError
from django.http import HttpRequest

from ris.selectors.worklist import PATIENT
from worklist.dicomweb.json import dataset_to_json
from worklist.dicomweb.params import InvalidParameter, WorklistSearch, max_results, search_from_parameters
from worklist.matching import InvalidKey
from worklist.query import build_query
from worklist.response import Context, ResponsePlan

log = logging.getLogger(__name__)
SERVICE = "RIS"  # the warn-agent of PS3.18 8.3.4.2 Warning headers


@dataclass
class SearchAnswer:
    status: int
    body: list[dict[str, Any]] | None = None
    warnings: tuple[str, ...] = ()
    reason: str = ""
    patients: frozenset[tuple[str, str]] = frozenset()  # (patient ID, issuer) of the steps shown
    matched: int = 0


def mwl_search(parameters: list[tuple[str, str]]) -> SearchAnswer:
    """The answer to one search; every refusal is an answer, never an exception."""
    try:
        search = search_from_parameters(parameters)
        query = build_query(search.identifier)
        rows = list(query.rows())
    except (InvalidParameter, InvalidKey) as exc:
        return SearchAnswer(400, warnings=(warning(str(exc)),), reason=str(exc))
    except DatabaseError as exc:
        log.error("MWL-RS search failed, database unavailable: %s", exc)
        return SearchAnswer(503, reason="database unavailable")
    return _page(search, rows, query.unsupported_keys)


def _page(search: WorklistSearch, rows: list[dict[str, Any]], unsupported: list[str]) -> SearchAnswer:
    warnings = []
    if unsupported:
        warnings.append(warning(f"unsupported keys, neither matched nor returned: {', '.join(unsupported)}"))
    if search.fuzzy_matching:
        warnings.append(warning("fuzzymatching is not supported; the search used exact matching"))
    cap = max_results()
    if search.limit is None and len(rows) - search.offset > cap:
        reason = f"{len(rows)} matches, more than {cap}: narrow the search or page it with limit and offset"
        return SearchAnswer(413, warnings=(warning(reason),), reason=reason, matched=len(rows))
    limit = cap if search.limit is None else min(search.limit, cap)
    if search.limit is not None and search.limit > cap:
        warnings.append(warning(f"limit lowered to the maximum of {cap}"))
    shown = rows[search.offset : search.offset + limit]
    if len(rows) > search.offset + limit:
        warnings.append(warning("there are more results: ask again with a larger offset"))
    plan, context = ResponsePlan(search.identifier), Context()
    body = [dataset_to_json(plan.build(row, context)) for row in shown]
    shown_patients = frozenset((row[f"{PATIENT}patient_id"], row[f"{PATIENT}issuer"] or "") for row in shown)
    return SearchAnswer(200 if body else 204, body or None, tuple(warnings), patients=shown_patients, matched=len(rows))


def warning(text: str) -> str:
    """A Warning header value (RFC 7234 5.5, PS3.18 8.3.4.2): `299 <agent> "<text>"`."""
    return '299 {} "{}"'.format(SERVICE, text.replace('"', "'").replace("\r", " ").replace("\n", " "))


def query_pairs(request: HttpRequest) -> list[tuple[str, str]]:
    return [(name, value) for name in request.GET for value in request.GET.getlist(name)]
