"""Celery tasks: another door, each a call of one service."""

from celery import shared_task

from ris.services import outbox


@shared_task(name="ris.deliver_destination", ignore_result=True)
def deliver_destination(destination_id: int) -> int:
    return outbox.outbox_deliver(destination_id=destination_id)


@shared_task(name="ris.outbox_sweep", ignore_result=True)
def outbox_sweep() -> list[int]:
    return outbox.outbox_sweep()
