"""The DICOM listener: Verification, Modality Worklist C-FIND and MPPS (worklist/mpps.py).

Handlers get their settings bound at start, not through globals; each C-FIND
is one database query whose rows are yielded one pending response each.
"""
from __future__ import annotations

import logging
import time

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection
from pynetdicom import AE, evt
from pynetdicom.sop_class import ModalityPerformedProcedureStep, ModalityWorklistInformationFind, Verification

from ris import metrics
from ris.tls import server_context
from worklist import pdu_limit
from worklist.matching import InvalidKey
from worklist.mpps import handle_n_create, handle_n_set
from worklist.query import build_query
from worklist.response import response_for

log = logging.getLogger(__name__)

# PS3.4 C.4.1.1.4 / K.4.1.1.4 C-FIND statuses
PENDING = 0xFF00
CANCELLED = 0xFE00
OUT_OF_RESOURCES = 0xA700
IDENTIFIER_DOES_NOT_MATCH = 0xA900
UNABLE_TO_PROCESS = 0xC000


def handle_find(event):
    """EVT_C_FIND: one pending response per matching step, then success."""
    peer = event.assoc.requestor.ae_title
    started = time.perf_counter()
    try:
        identifier = event.identifier
        query = build_query(identifier)
        close_old_connections()
        count = 0
        for step in query.run().iterator(chunk_size=200):
            if event.is_cancelled:
                log.info("C-FIND from %s cancelled after %d items", peer, count)
                yield CANCELLED, None
                return
            count += 1
            yield PENDING, response_for(identifier, step)
        log.info("C-FIND from %s: %d items in %.1f ms", peer, count, (time.perf_counter() - started) * 1000)
        _observe("success", started, count)
    except InvalidKey as exc:
        log.warning("C-FIND from %s refused: %s", peer, exc)
        _observe("unable_to_process", started)
        yield UNABLE_TO_PROCESS, None
    except DatabaseError as exc:
        log.error("C-FIND from %s failed, database unavailable: %s", peer, exc)
        _observe("out_of_resources", started)
        yield OUT_OF_RESOURCES, None
    except Exception:  # a broken identifier pydicom cannot decode, among others
        log.exception("C-FIND from %s failed", peer)
        _observe("unable_to_process", started)
        yield UNABLE_TO_PROCESS, None
    finally:
        connection.close()


def _observe(status: str, started: float, count: int | None = None) -> None:
    metrics.MWL_QUERIES.labels(status).inc()
    metrics.MWL_QUERY_SECONDS.observe(time.perf_counter() - started)
    if count is not None:
        metrics.MWL_RESULTS.observe(count)


def make_ae(ae_title: str | None = None) -> AE:
    # A peer may announce any PDU size; read none larger than this.
    pdu_limit.install(max(settings.RIS_DICOM_MAX_PDU, 1024 * 1024))
    ae = AE(ae_title=ae_title or settings.RIS_DICOM_AE_TITLE)
    ae.add_supported_context(Verification)
    ae.add_supported_context(ModalityWorklistInformationFind)
    ae.add_supported_context(ModalityPerformedProcedureStep)
    ae.maximum_pdu_size = settings.RIS_DICOM_MAX_PDU
    ae.network_timeout = settings.RIS_DICOM_IDLE_TIMEOUT
    ae.acse_timeout = 30
    ae.dimse_timeout = settings.RIS_DICOM_IDLE_TIMEOUT
    ae.maximum_associations = 64
    return ae


HANDLERS = [
    (evt.EVT_C_FIND, handle_find),
    (evt.EVT_N_CREATE, handle_n_create),
    (evt.EVT_N_SET, handle_n_set),
]


def start(host: str, port: int, *, block: bool = False, ae_title: str | None = None, ssl_context=None):
    """Start the SCP; returns the server (non-blocking) for `.shutdown()`."""
    ae = make_ae(ae_title)
    context = ssl_context or server_context(
        settings.RIS_DICOM_TLS_CERT, settings.RIS_DICOM_TLS_KEY, settings.RIS_DICOM_TLS_CA
    )
    return ae.start_server((host, port), block=block, evt_handlers=HANDLERS, ssl_context=context)
