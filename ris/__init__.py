"""The RIS domain and the Django project package.

The Celery app is imported here so that `shared_task` binds to it wherever
Django is set up (web, listeners, worker).
"""

from .celery import app as celery_app

__all__ = ["celery_app"]
