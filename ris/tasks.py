"""Celery tasks: another door, each a call of one service.

`schedule_delivery` is the outbox's scheduler, registered in RisConfig.ready():
the outbox service queues deliveries through the registry and never imports
this module, so the two do not import each other.
"""

from __future__ import annotations

from celery import shared_task

from ris.services import critical_results, outbox


@shared_task(name="ris.deliver_destination", ignore_result=True)
def deliver_destination(destination_id: int) -> int:
    return outbox.outbox_deliver(destination_id=destination_id)


@shared_task(name="ris.outbox_sweep", ignore_result=True)
def outbox_sweep() -> list[int]:
    return outbox.outbox_sweep()


def schedule_delivery(destination_id: int, countdown: float) -> None:
    """Queue the destination's delivery on the broker, `countdown` seconds from now."""
    deliver_destination.apply_async((destination_id,), countdown=countdown)


@shared_task(name="ris.critical_results_escalate", ignore_result=True)
def critical_results_escalate() -> list[int]:
    return critical_results.critical_results_escalate()
