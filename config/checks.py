"""The project's own system checks (`manage.py check`, run at every start)."""

from typing import Any

from django.conf import settings
from django.core.checks import Warning, register


@register("security", deploy=False)
def development_secret_key(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """Outside production the development key is allowed, but never silently."""
    if settings.SECRET_KEY != settings.DEVELOPMENT_SECRET_KEY:
        return []
    return [
        Warning(
            "DJANGO_SECRET_KEY is the development key: sessions and password resets can be forged.",
            hint="Set DJANGO_SECRET_KEY to 50+ random characters, and RIS_ENV=production on a real site.",
            id="ris.W001",
        )
    ]
