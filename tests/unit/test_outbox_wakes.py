"""Delivery tasks for a stream of changes: one immediate task per window and
destination, one trailing task for the changes within it, and every change
covered by a task that starts after it."""

import pytest

from ris import outbox
from ris.services import outbox as outbox_service


@pytest.fixture
def queued(monkeypatch):
    """The tasks queued, as (destination, countdown), on a clock the test moves."""
    clock = [1000.0]
    calls: list[tuple[int, float]] = []
    previous = outbox.scheduler()
    outbox.register_scheduler(lambda destination_id, countdown: calls.append((destination_id, countdown)))
    monkeypatch.setattr(outbox_service, "_clock", lambda: clock[0])
    monkeypatch.setattr(outbox_service, "_wakes", {})
    yield calls, clock
    if previous is not None:
        outbox.register_scheduler(previous)


def test_a_burst_of_changes_queues_one_task_now_and_one_at_the_end_of_the_window(queued):
    calls, clock = queued
    window = outbox_service.WAKE_WINDOW_SECONDS
    for _ in range(50):  # fifty changes within a tenth of the window
        outbox_service.outbox_wake([7])
        clock[0] += window / 500
    assert calls == [(7, 0), (7, window)]


def test_a_change_after_the_trailing_task_ran_queues_a_task_of_its_own(queued):
    calls, clock = queued
    window = outbox_service.WAKE_WINDOW_SECONDS
    outbox_service.outbox_wake([7])
    clock[0] += window / 2
    outbox_service.outbox_wake([7])  # trailing: runs at 1.5 windows
    clock[0] += window * 1.1  # past the trailing task's start
    outbox_service.outbox_wake([7])
    assert calls == [(7, 0), (7, window), (7, 0)]


def test_destinations_are_woken_each_on_their_own(queued):
    calls, _ = queued
    outbox_service.outbox_wake([7, 8])
    outbox_service.outbox_wake([8])
    assert calls == [(7, 0), (8, 0), (8, outbox_service.WAKE_WINDOW_SECONDS)]


def test_a_retry_at_a_later_time_is_queued_as_asked(queued):
    calls, _ = queued
    outbox_service.outbox_wake([7])
    outbox_service._schedule(7, 30)  # a message whose next attempt is due in 30 s
    assert calls == [(7, 0), (7, 30)]
