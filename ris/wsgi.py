"""Entry point kept for the command line: `gunicorn ris.wsgi` (the
application lives in `config.wsgi`)."""

from config.wsgi import application

__all__ = ["application"]
