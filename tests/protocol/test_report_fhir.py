"""Signed reports reach a real HTTP FHIR endpoint as transaction Bundles."""

import datetime as dt

import pytest
from django.utils import timezone

from fhir.resources.R4B.bundle import Bundle
from ris.models import Destination, OutboundMessage
from ris.services.outbox import outbox_deliver
from ris.services.reports import report_addendum, report_correct
from tests.conftest import free_port
from tests.factories import TEST_ACTOR, radiologist, signed_final_report
from tests.fhir_server import FakeFhirServer
from tests.workers import running_worker

pytestmark = pytest.mark.slow
Status = OutboundMessage.Status
R5_ONLY_REPORT_ELEMENTS = {"study", "note", "supportingInfo", "composition"}


@pytest.fixture
def fhir_server():
    server = FakeFhirServer()
    yield server
    server.stop()


def _destination(base_url: str, **extra) -> Destination:
    return Destination.objects.create(
        name="EHR FHIR", kind=Destination.Kind.FHIR, base_url=base_url, timeout_seconds=1, **extra
    )


def _report_of(bundle: dict) -> dict:
    return next(e for e in bundle["entry"] if e["resource"]["resourceType"] == "DiagnosticReport")


def _make_due():
    OutboundMessage.objects.update(next_attempt_at=timezone.now() - dt.timedelta(seconds=1))


def test_final_report_arrives_as_a_valid_r4_transaction_without_r5_elements(transactional_db, fhir_server):
    destination = _destination(fhir_server.base_url)
    signed_final_report()
    assert outbox_deliver(destination_id=destination.pk) == 1
    [request] = fhir_server.requests
    assert request["path"] == "/fhir" and request["headers"]["Content-Type"].startswith("application/fhir+json")
    [bundle] = fhir_server.bundles()
    assert Bundle.model_validate(bundle).type == "transaction"
    report = _report_of(bundle)["resource"]
    assert report["status"] == "final" and not R5_ONLY_REPORT_ELEMENTS & set(report)
    row = OutboundMessage.objects.get()
    assert row.status == Status.ACKED
    assert "transaction-response" in row.response


def test_correction_and_addendum_update_the_same_diagnostic_report(transactional_db, fhir_server):
    destination = _destination(fhir_server.base_url)
    final = signed_final_report()
    report_correct(
        actor=TEST_ACTOR, report=final.report, signer=radiologist(), findings="Bleed.", impression="Small bleed."
    )
    report_addendum(actor=TEST_ACTOR, report=final.report, signer=radiologist(), text="Called the ward.")
    assert outbox_deliver(destination_id=destination.pk) == 3
    sent = [_report_of(b) for b in fhir_server.bundles()]
    assert [e["resource"]["status"] for e in sent] == ["final", "corrected", "amended"]
    assert len({e["request"]["url"] for e in sent}) == 1 and sent[0]["request"]["method"] == "PUT"


def test_a_failing_server_gets_retries_and_the_report_when_it_recovers(transactional_db):
    server = FakeFhirServer(answer=500)
    try:
        destination = _destination(server.base_url)
        signed_final_report()
        assert outbox_deliver(destination_id=destination.pk) == 0
        row = OutboundMessage.objects.get()
        assert row.status == Status.RETRYING and row.last_error == "HTTP 500: server is unwell"
        server.answer = 200
        _make_due()
        assert outbox_deliver(destination_id=destination.pk) == 1
        assert len(server.requests) == 2 and server.bundles()[0] == server.bundles()[1]
    finally:
        server.stop()


def test_a_server_that_does_not_answer_or_is_down_is_a_failure_with_the_reason(transactional_db):
    silent = FakeFhirServer(answer="silence")
    try:
        destination = _destination(silent.base_url)
        signed_final_report()
        outbox_deliver(destination_id=destination.pk)
        assert "timed out" in OutboundMessage.objects.get().last_error
    finally:
        silent.stop()
    Destination.objects.filter(pk=destination.pk).update(base_url=f"http://127.0.0.1:{free_port()}/fhir")
    _make_due()
    outbox_deliver(destination_id=destination.pk)
    row = OutboundMessage.objects.get()
    assert row.attempts == 2 and "Connection refused" in row.last_error


def test_a_celery_worker_delivers_one_signature_to_the_ehr_over_hl7_and_fhir(transactional_db, fhir_server):
    import time

    from tests.ehr import FakeEhr

    ehr = FakeEhr()
    try:
        _destination(fhir_server.base_url)
        Destination.objects.create(name="EHR HL7", kind=Destination.Kind.HL7_MLLP, host="127.0.0.1", port=ehr.port)
        with running_worker():
            signed_final_report()
            deadline = time.monotonic() + 20
            while (not ehr.received or not fhir_server.requests) and time.monotonic() < deadline:
                time.sleep(0.1)
        assert len(ehr.received) == 1 and len(fhir_server.requests) == 1
        assert set(OutboundMessage.objects.values_list("status", flat=True)) == {Status.ACKED}
    finally:
        ehr.stop()


def test_a_server_that_refuses_the_bundle_makes_it_a_dead_letter_after_max_refusals(transactional_db):
    server = FakeFhirServer(answer=422)  # the resource itself is refused: it would fail again
    try:
        destination = _destination(server.base_url, max_refusals=2)
        signed_final_report()
        outbox_deliver(destination_id=destination.pk)
        _make_due()
        outbox_deliver(destination_id=destination.pk)
        row = OutboundMessage.objects.get()
        assert (row.status, row.attempts) == (Status.DEAD, 2) and row.last_error.startswith("HTTP 422")
    finally:
        server.stop()
