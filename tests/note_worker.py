"""The `test_note` builder, for `celery -A ris worker --include tests.note_worker`:
registered when the worker starts, as a door registers its builders in
AppConfig.ready(). The worker builds payloads, so the builder a test
enqueues for must be registered in the worker's process too."""

from typing import Any

from celery.signals import worker_init

__all__ = ["build_note", "register_note_builder"]


def build_note(destination: Any, context: dict[str, Any]) -> Any:
    from ris.outbox import Built

    return Built(f"MSH|^~\\&|RIS|RAD|EHR|HOSP|20261126||ORM^O01|{context['id']}|P|2.5.1\r", context["id"])


def register_note_builder() -> None:
    from ris import outbox
    from ris.models import Destination

    outbox.register_builder(Destination.Kind.HL7_MLLP, "test_note", build_note)


@worker_init.connect
def _register(**kwargs: Any) -> None:
    import django

    django.setup()
    register_note_builder()
