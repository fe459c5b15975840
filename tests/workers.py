"""A Celery worker for a test, on the configured broker (RabbitMQ in CI)."""

from contextlib import contextmanager

from celery.contrib.testing.worker import start_worker

from config.celery import app


def purge_queue() -> None:
    """Drop tasks earlier tests queued and nobody ran (their rows are gone):
    a worker must not spend the test's time on them."""
    app.control.purge()


@contextmanager
def running_worker():
    purge_queue()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30) as worker:
        yield worker
