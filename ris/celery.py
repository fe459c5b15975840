"""Entry point kept for the command line: `celery -A ris worker` finds the
project's Celery app here (it lives in `config.celery`)."""

from config.celery import app

__all__ = ["app"]
