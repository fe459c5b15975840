"""The outbox writes rows only; the worker builds each payload once and freezes it.

Builders and senders are swapped for the test with monkeypatch, so no socket is
needed: a builder failure happens before anything is sent.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from typing import Any

import pytest
from django.utils import timezone

from ris import outbox
from ris.models import Destination, OutboundMessage
from ris.services.outbox import outbox_build, outbox_deliver, outbox_enqueue, outbox_resend
from ris.states import ReportStatus
from tests.factories import TEST_ACTOR, signed_final_report

pytestmark = pytest.mark.django_db
Status = OutboundMessage.Status
HL7 = Destination.Kind.HL7_MLLP


class BuilderBug(Exception):
    pass


def _raise(destination: Destination, context: dict[str, Any]) -> outbox.Built:
    raise BuilderBug(f"no such field in {sorted(context)}")


class Notes:
    """A builder with a fresh control ID per call, and a sender that fails as often as it is told."""

    def __init__(self, failures: int = 0) -> None:
        self.builds = 0
        self.failures = failures
        self.sent: list[tuple[str, str]] = []
        self._ids = itertools.count(1)

    def build(self, destination: Destination, context: dict[str, Any]) -> outbox.Built:
        self.builds += 1
        control_id = f"N{next(self._ids)}"
        return outbox.Built(f"MSH|^~\\&|RIS|RAD|EHR|HOSP|20261126||ORM^O01|{control_id}|P|2.5.1\r", control_id)

    def send(self, destination: Destination, message: OutboundMessage) -> outbox.SendResult:
        self.sent.append((message.control_id, message.payload))
        if len(self.sent) <= self.failures:
            return outbox.SendResult(False, error="ConnectionRefusedError: [Errno 111] Connection refused")
        return outbox.SendResult(True, response=f"MSA|AA|{message.control_id}")


@pytest.fixture
def notes(monkeypatch: pytest.MonkeyPatch) -> Notes:
    recorder = Notes(failures=2)
    monkeypatch.setitem(outbox._builders, (HL7, "test_note"), recorder.build)
    monkeypatch.setitem(outbox._senders, HL7, recorder.send)
    return recorder


def _destination(name: str = "EHR", **extra: Any) -> Destination:
    return Destination.objects.create(name=name, kind=HL7, host="127.0.0.1", port=1, **extra)


def _make_due() -> None:
    OutboundMessage.objects.update(next_attempt_at=timezone.now() - dt.timedelta(seconds=1))


def test_enqueue_stores_the_event_and_its_context_and_builds_nothing(notes: Notes) -> None:
    _destination()
    [row] = outbox_enqueue(event="test_note", context={"id": 7, "text": "Grüße"})
    row.refresh_from_db()
    assert (row.event, row.context, row.status) == ("test_note", {"id": 7, "text": "Grüße"}, Status.PENDING)
    assert (row.payload, row.control_id, row.built_at, row.is_built) == ("", "", None, False)
    assert notes.builds == 0


def test_enqueue_skips_destinations_without_a_builder_for_the_event_or_not_wanting_it(notes: Notes) -> None:
    wanted = _destination("EHR")
    _destination("Reports only", events=["report"])
    _destination("Off", enabled=False)
    Destination.objects.create(name="PACS", kind=Destination.Kind.DICOM, host="127.0.0.1", port=1)
    rows = outbox_enqueue(event="test_note", context={})
    assert [row.destination for row in rows] == [wanted]


def test_a_report_is_signed_even_when_its_builder_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(outbox._builders, (HL7, "report"), _raise)
    _destination(events=["report"])
    version = signed_final_report()
    version.refresh_from_db()
    assert version.status == ReportStatus.FINAL and version.signed_at is not None
    assert version.report.status == ReportStatus.FINAL
    row = OutboundMessage.objects.get()
    assert (row.status, row.context) == (Status.PENDING, {"report_version_id": version.pk})


def test_a_builder_that_raises_is_a_failed_delivery_logged_retried_then_dead(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(outbox._builders, (HL7, "test_note"), _raise)
    destination = _destination(max_attempts=2)
    outbox_enqueue(event="test_note", context={"id": 1})
    with caplog.at_level(logging.ERROR, logger="ris.services.outbox"):
        assert outbox_deliver(destination_id=destination.pk) == 0
    row = OutboundMessage.objects.get()
    assert (row.status, row.attempts, row.built_at) == (Status.RETRYING, 1, None)
    assert row.last_error == "build failed: BuilderBug: no such field in ['id']"
    assert row.next_attempt_at is not None and row.next_attempt_at > timezone.now()
    [record] = [r for r in caplog.records if r.exc_info]
    assert "building outbound message" in record.getMessage() and record.exc_info[0] is BuilderBug

    _make_due()
    outbox_deliver(destination_id=destination.pk)
    row.refresh_from_db()
    assert (row.status, row.attempts, row.payload) == (Status.DEAD, 2, "")
    assert "BuilderBug" in row.last_error


def test_a_failed_build_holds_a_strictly_ordered_queue_like_a_failed_send(
    monkeypatch: pytest.MonkeyPatch, notes: Notes
) -> None:
    destination = _destination(ordering=Destination.Ordering.DESTINATION)
    [built] = outbox_enqueue(event="test_note", context={"id": 1})
    outbox_build(message=built)
    monkeypatch.setitem(outbox._builders, (HL7, "test_note"), _raise)
    outbox_enqueue(event="test_note", context={"id": 2})
    outbox_enqueue(event="test_note", context={"id": 3})
    notes.failures = 0
    assert outbox_deliver(destination_id=destination.pk) == 1
    first, second, third = OutboundMessage.objects.order_by("id")
    assert (first.status, second.status, third.status) == (Status.ACKED, Status.RETRYING, Status.PENDING)


def test_the_payload_is_built_once_and_kept_across_retries_and_a_resend(notes: Notes) -> None:
    destination = _destination()
    outbox_enqueue(event="test_note", context={"id": 1})
    for _ in range(3):  # fails, fails, is acknowledged
        outbox_deliver(destination_id=destination.pk)
        _make_due()
    row = OutboundMessage.objects.get()
    assert (row.status, row.attempts, row.control_id) == (Status.ACKED, 3, "N1")
    outbox_resend(message=row, actor=TEST_ACTOR)
    assert outbox_deliver(destination_id=destination.pk) == 1
    assert notes.builds == 1
    assert notes.sent == [("N1", row.payload)] * 4 and "|N1|" in row.payload


def test_a_resend_of_a_message_whose_build_failed_builds_it_again(
    monkeypatch: pytest.MonkeyPatch, notes: Notes
) -> None:
    destination = _destination(max_attempts=1)
    outbox_enqueue(event="test_note", context={"id": 1})
    monkeypatch.setitem(outbox._builders, (HL7, "test_note"), _raise)
    outbox_deliver(destination_id=destination.pk)
    row = OutboundMessage.objects.get()
    assert row.status == Status.DEAD and "BuilderBug" in row.last_error
    monkeypatch.setitem(outbox._builders, (HL7, "test_note"), notes.build)  # the builder is fixed
    notes.failures = 0
    outbox_resend(message=row, actor=TEST_ACTOR)
    assert outbox_deliver(destination_id=destination.pk) == 1
    row.refresh_from_db()
    assert (row.status, row.control_id, row.last_error) == (Status.ACKED, "N1", "")


def test_a_message_frozen_by_another_worker_keeps_that_payload(notes: Notes) -> None:
    _destination()
    [row] = outbox_enqueue(event="test_note", context={"id": 1})
    stale = OutboundMessage.objects.get(pk=row.pk)
    outbox_build(message=row)
    assert outbox_build(message=stale).control_id == "N1"  # built again, but the first freeze stands
    assert OutboundMessage.objects.get(pk=row.pk).control_id == "N1"


def test_a_message_with_no_builder_left_is_a_failed_delivery(monkeypatch: pytest.MonkeyPatch, notes: Notes) -> None:
    destination = _destination()
    outbox_enqueue(event="test_note", context={"id": 1})
    monkeypatch.delitem(outbox._builders, (HL7, "test_note"))
    with pytest.raises(outbox.NoBuilder):
        outbox_build(message=OutboundMessage.objects.get())
    outbox_deliver(destination_id=destination.pk)
    row = OutboundMessage.objects.get()
    assert row.status == Status.RETRYING and row.last_error.startswith("build failed: NoBuilder: no builder for")


def test_sending_again_is_in_the_audit_trail_with_who_asked(notes: Notes) -> None:
    from ris.models import AuditEvent
    from tests.factories import actor_of, user_with_role

    destination = _destination()
    [row] = outbox_enqueue(event="test_note", context={"id": 5})
    outbox_deliver(destination_id=destination.pk)
    row.refresh_from_db()
    engineer = user_with_role("integration engineer", "ines")
    outbox_resend(message=row, actor=actor_of(engineer))
    event = AuditEvent.objects.get(object_type="outboundmessage")
    assert (event.actor, event.action, event.door) == ("ines", "CHANGE", "WEB")
    assert f"test_note {row.control_id} to EHR sent again" in event.detail
