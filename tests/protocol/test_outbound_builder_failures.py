"""A builder that raises never refuses the change that caused the message: the
signature and the MPPS are committed, the failure is a delivery that failed
(visible, retried), and the other destinations still get theirs. A payload is
built once: retries and resends carry the same bytes and MSH-10."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
from django.utils import timezone
from pydicom.uid import generate_uid

from ris import outbox
from ris.models import (
    Destination,
    ImagingOrder,
    OutboundMessage,
    PerformedProcedureStep,
    ReportVersion,
    ScheduledProcedureStep,
)
from ris.services.outbox import outbox_deliver, outbox_resend
from ris.services.steps import step_start_outside_modality
from ris.states import ReportStatus
from tests.conftest import free_port
from tests.ehr import FakeEhr
from tests.factories import TEST_ACTOR, placed_order, signed_final_report
from tests.fhir_server import FakeFhirServer
from tests.mpps_scu import MppsScu, in_progress, scheduled_item
from tests.protocol.test_mpps_forward import FakePacs
from tests.workers import running_worker

pytestmark = pytest.mark.slow
Status = OutboundMessage.Status
Kind = Destination.Kind
STUDY_UID = "1.2.826.0.1.3680043.8.498.7001"


class BuilderBug(Exception):
    pass


def _raise(destination: Destination, context: dict[str, Any]) -> outbox.Built:
    raise BuilderBug(f"cannot build for {destination.name}")


@pytest.fixture
def ehr():
    server = FakeEhr()
    yield server
    server.stop()


@pytest.fixture
def fhir_server():
    server = FakeFhirServer()
    yield server
    server.stop()


def _hl7(port: int, events: list[str], **extra: Any) -> Destination:
    return Destination.objects.create(
        name="EHR", kind=Kind.HL7_MLLP, host="127.0.0.1", port=port, timeout_seconds=2, events=events, **extra
    )


def _fhir(base_url: str) -> Destination:
    return Destination.objects.create(name="EHR FHIR", kind=Kind.FHIR, base_url=base_url, timeout_seconds=2)


def _result_status(message: str) -> str:
    obr = next(s for s in message.split("\r") if s.startswith("OBR|"))
    return obr.split("|")[25]


def _orc_5(message: str) -> str:
    return next(s for s in message.split("\r") if s.startswith("ORC|")).split("|")[5]


def _make_due() -> None:
    OutboundMessage.objects.update(next_attempt_at=timezone.now() - dt.timedelta(seconds=1))


@pytest.mark.parametrize("failing", [Kind.FHIR, Kind.HL7_MLLP])
def test_a_signature_whose_builder_raises_is_kept_and_the_other_destination_gets_the_report(
    transactional_db, monkeypatch, ehr, fhir_server, failing
):
    monkeypatch.setitem(outbox._builders, (failing, "report"), _raise)
    hl7, fhir = _hl7(ehr.port, ["report"]), _fhir(fhir_server.base_url)
    version = signed_final_report()
    assert ReportVersion.objects.get(pk=version.pk).status == ReportStatus.FINAL  # committed

    broken, working = (fhir, hl7) if failing == Kind.FHIR else (hl7, fhir)
    assert outbox_deliver(destination_id=broken.pk) == 0
    assert outbox_deliver(destination_id=working.pk) == 1
    failed = broken.messages.get()
    assert failed.status == Status.RETRYING and failed.attempts == 1
    assert failed.last_error == "build failed: BuilderBug: cannot build for " + broken.name
    assert failed.payload == "" and failed.next_attempt_at > timezone.now()
    assert working.messages.get().status == Status.ACKED
    if failing == Kind.FHIR:
        assert fhir_server.requests == [] and [_result_status(m) for m in ehr.received] == ["F"]
    else:
        assert ehr.received == [] and len(fhir_server.bundles()) == 1


def test_a_celery_worker_records_the_builder_failure_and_delivers_the_rest(
    transactional_db, monkeypatch, ehr, fhir_server
):
    monkeypatch.setitem(outbox._builders, (Kind.FHIR, "report"), _raise)
    fhir = _fhir(fhir_server.base_url)
    _hl7(ehr.port, ["report"])
    with running_worker():
        signed_final_report()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (ehr.received and fhir.messages.filter(attempts__gt=0).exists()):
            time.sleep(0.1)
    assert [_result_status(m) for m in ehr.received] == ["F"]
    failed = fhir.messages.get()
    assert failed.status == Status.RETRYING and "BuilderBug" in failed.last_error
    assert fhir_server.requests == []


def test_a_failing_builder_makes_the_delivery_dead_after_max_attempts_never_the_signature(
    transactional_db, monkeypatch, fhir_server
):
    monkeypatch.setitem(outbox._builders, (Kind.FHIR, "report"), _raise)
    fhir = _fhir(fhir_server.base_url)
    Destination.objects.filter(pk=fhir.pk).update(max_attempts=2)
    version = signed_final_report()
    for _ in range(2):
        outbox_deliver(destination_id=fhir.pk)
        _make_due()
    failed = fhir.messages.get()
    assert (failed.status, failed.attempts) == (Status.DEAD, 2) and "BuilderBug" in failed.last_error
    assert ReportVersion.objects.get(pk=version.pk).signed_at is not None


def _scheduled_order() -> tuple[ImagingOrder, ScheduledProcedureStep]:
    order = placed_order(patient_id="PAT1001", study_uid=STUDY_UID)
    step = ScheduledProcedureStep.objects.select_related("requested_procedure").get(requested_procedure__order=order)
    return order, step


def test_an_mpps_n_create_whose_forward_builder_raises_is_accepted_and_the_ehr_still_hears_ip(dicom, monkeypatch, ehr):
    monkeypatch.setitem(outbox._builders, (Kind.DICOM, "mpps"), _raise)
    order, step = _scheduled_order()
    port = free_port()
    pacs = Destination.objects.create(
        name="PACS", kind=Kind.DICOM, host="127.0.0.1", port=port, ae_title="PACS", events=["mpps"], timeout_seconds=5
    )
    hl7 = _hl7(ehr.port, ["order_status"])
    rp_id = step.requested_procedure.requested_procedure_id
    item = scheduled_item(STUDY_UID, order.accession_number, rp_id, step.sps_id)
    uid = generate_uid()
    with MppsScu(dicom) as scu:
        assert scu.create(in_progress([item]), uid)[0].Status == 0x0000

    assert PerformedProcedureStep.objects.get(sop_instance_uid=uid).status == "IN PROGRESS"
    assert ScheduledProcedureStep.objects.get(pk=step.pk).status == "STARTED"
    fake_pacs = FakePacs(port)
    try:
        assert outbox_deliver(destination_id=pacs.pk) == 0
    finally:
        fake_pacs.stop()
    assert fake_pacs.received == []
    forward = pacs.messages.get()
    assert forward.status == Status.RETRYING and forward.last_error == "build failed: BuilderBug: cannot build for PACS"
    assert forward.context["sop_instance_uid"] == uid and forward.context["operation"] == "N-CREATE"
    assert outbox_deliver(destination_id=hl7.pk) == 1
    assert [_orc_5(m) for m in ehr.received] == ["IP"]


def test_a_retry_after_a_failed_send_and_a_resend_keep_the_payload_and_msh_10(transactional_db):
    port = free_port()
    destination = _hl7(port, ["order_status"])
    _, step = _scheduled_order()
    step_start_outside_modality(step=step, reason="no MPPS", actor=TEST_ACTOR)
    row = OutboundMessage.objects.get()
    assert row.payload == "" and row.control_id == ""  # built by the worker, not with the change

    outbox_deliver(destination_id=destination.pk)  # nobody listens: built, then the send fails
    row.refresh_from_db()
    assert row.status == Status.RETRYING and "ConnectionRefusedError" in row.last_error
    frozen = (row.payload, row.control_id, row.built_at)
    assert row.control_id.startswith("RIS") and f"|{row.control_id}|" in row.payload
    _make_due()
    outbox_deliver(destination_id=destination.pk)
    row.refresh_from_db()
    assert row.attempts == 2 and (row.payload, row.control_id, row.built_at) == frozen

    ehr = FakeEhr()
    try:
        Destination.objects.filter(pk=destination.pk).update(port=ehr.port)
        _make_due()
        assert outbox_deliver(destination_id=destination.pk) == 1
        row.refresh_from_db()
        outbox_resend(message=row, actor=TEST_ACTOR)
        assert outbox_deliver(destination_id=destination.pk) == 1
    finally:
        ehr.stop()
    assert ehr.control_ids() == [row.control_id, row.control_id]
    assert ehr.received == [frozen[0], frozen[0]] and _orc_5(frozen[0]) == "IP"
    row.refresh_from_db()
    assert row.status == Status.ACKED and (row.payload, row.control_id, row.built_at) == frozen
