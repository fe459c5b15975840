"""Login throttling, kept in the database so that every web process sees it."""

import datetime as dt

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from ris.exceptions import LoginLocked
from ris.models import LoginAttempt


def _window_start() -> dt.datetime:
    return timezone.now() - dt.timedelta(minutes=settings.RIS_LOGIN_LOCKOUT_MINUTES)


def login_check_allowed(*, username: str, address: str | None) -> None:
    """Refuse with LoginLocked after too many recent failures for the name or address."""
    window = _window_start()
    same = Q(username=username.lower())
    if address:
        same |= Q(address=address)
    failures = LoginAttempt.objects.filter(same, at__gte=window, succeeded=False).count()
    if failures >= settings.RIS_LOGIN_MAX_FAILURES:
        raise LoginLocked(f"Too many failed attempts. Try again in {settings.RIS_LOGIN_LOCKOUT_MINUTES} minutes.")


def login_attempt_record(*, username: str, address: str | None, succeeded: bool) -> None:
    """Count this attempt; attempts older than the window no longer count and are dropped."""
    LoginAttempt.objects.filter(at__lt=_window_start()).delete()
    LoginAttempt.objects.create(username=username.lower()[:150], address=address or None, succeeded=succeeded)
