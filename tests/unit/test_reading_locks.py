"""The reading lock: one radiologist reads an exam at a time."""

import datetime as dt

import pytest
from django.test import override_settings

from ris.exceptions import ReadingLocked
from ris.models import AuditEvent, ReadingLock
from ris.services.reading_locks import reading_lock_of, reading_lock_take
from ris.services.reports import report_save_draft, report_sign
from ris.states import ReportStatus
from tests.factories import TEST_ACTOR, placed_order, radiologist

pytestmark = pytest.mark.django_db


@pytest.fixture
def procedure():
    return placed_order().procedures.get()


@pytest.fixture
def house():
    return radiologist()


@pytest.fixture
def wilson():
    return radiologist("drwilson", "James", "Wilson")


def test_a_second_radiologist_is_refused_and_told_who_holds_the_lock(procedure, house, wilson):
    reading_lock_take(procedure=procedure, reader=house, actor=TEST_ACTOR)
    with pytest.raises(ReadingLocked) as refused:
        reading_lock_take(procedure=procedure, reader=wilson, actor=TEST_ACTOR)
    assert refused.value.holder == "Greg House"
    assert str(refused.value).startswith("being read by Greg House since ")
    assert reading_lock_of(procedure).holder == house


def test_taking_over_is_explicit_and_audited(procedure, house, wilson):
    reading_lock_take(procedure=procedure, reader=house, actor=TEST_ACTOR)
    lock = reading_lock_take(procedure=procedure, reader=wilson, actor=TEST_ACTOR, take_over=True)
    assert lock.holder == wilson and ReadingLock.objects.count() == 1
    event = AuditEvent.objects.get(detail__contains="reading lock taken over")
    assert "from Greg House" in event.detail


@override_settings(RIS_READING_LOCK_IDLE_MINUTES=15)
def test_an_idle_lock_expires_and_is_free_to_take(procedure, house, wilson):
    lock = reading_lock_take(procedure=procedure, reader=house, actor=TEST_ACTOR)
    ReadingLock.objects.filter(pk=lock.pk).update(seen_at=lock.seen_at - dt.timedelta(minutes=16))
    assert reading_lock_of(procedure) is None
    assert reading_lock_take(procedure=procedure, reader=wilson, actor=TEST_ACTOR).holder == wilson
    assert not AuditEvent.objects.filter(detail__contains="taken over").exists()


def test_the_holder_renews_the_lock_and_signing_releases_it(procedure, house, wilson):
    first = reading_lock_take(procedure=procedure, reader=house, actor=TEST_ACTOR)
    again = reading_lock_take(procedure=procedure, reader=house, actor=TEST_ACTOR)
    assert again.pk == first.pk and again.seen_at >= first.seen_at
    draft = report_save_draft(actor=TEST_ACTOR, procedure=procedure, author=house, findings="Normal.", impression="")
    report_sign(actor=TEST_ACTOR, report=draft.report, signer=house, status=ReportStatus.FINAL)
    assert not ReadingLock.objects.exists()
    assert reading_lock_take(procedure=procedure, reader=wilson, actor=TEST_ACTOR).holder == wilson


def test_two_radiologists_opening_the_exam_at_once_get_one_lock(transactional_db):
    """Each reader in its own thread and database connection, at the same moment."""
    import threading

    from django.db import connections

    procedure = placed_order().procedures.get()
    readers = [radiologist(), radiologist("drwilson", "James", "Wilson")]
    start, outcomes = threading.Barrier(2), []

    def read(user):
        try:
            start.wait()
            reading_lock_take(procedure=procedure, reader=user, actor=TEST_ACTOR)
            outcomes.append("took")
        except ReadingLocked:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=read, args=(user,)) for user in readers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["refused", "took"]
    assert ReadingLock.objects.count() == 1
