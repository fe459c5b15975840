"""The Django project: settings, URLs, WSGI, the Celery app, health, `serve`.

The Celery app is imported here so that `shared_task` binds to it wherever
Django is set up with these settings (web, listeners, worker).
"""

from config.celery import app as celery_app

__all__ = ["celery_app"]
