"""Login throttling, kept in the database so that every web process sees it.

One policy for every way of proving who one is over HTTP (the login form,
the admin's login, HTTP Basic, API tokens): failures are counted per user
name *and* address together, so that guessing one user's password from one
place locks only that pair, and a higher address-wide limit stops one place
trying many names. A name that names no user is counted and refused exactly
as a real one, so the answers tell nobody which names exist.
"""

import datetime as dt

from django.conf import settings
from django.utils import timezone

from ris.exceptions import LoginLocked
from ris.models import LoginAttempt

# The name counted for an API token that matched nothing (no user to name).
UNKNOWN_TOKEN = "(token)"


def _window_start() -> dt.datetime:
    return timezone.now() - dt.timedelta(minutes=settings.RIS_LOGIN_LOCKOUT_MINUTES)


def _locked() -> LoginLocked:
    return LoginLocked(f"Too many failed attempts. Try again in {settings.RIS_LOGIN_LOCKOUT_MINUTES} minutes.")


def _failures(address: str | None):  # type: ignore[no-untyped-def]
    return LoginAttempt.objects.filter(at__gte=_window_start(), succeeded=False, address=address or None)


def login_check_allowed(*, username: str, address: str | None) -> None:
    """Refuse with LoginLocked after too many recent failures of this name
    from this address, or from this address under any name."""
    if _failures(address).filter(username=username.lower()[:150]).count() >= settings.RIS_LOGIN_MAX_FAILURES:
        raise _locked()
    address_check_allowed(address=address)


def address_check_allowed(*, address: str | None) -> None:
    """Refuse with LoginLocked after too many recent failures from this
    address under any name (unknown API tokens count here only)."""
    if _failures(address).count() >= settings.RIS_LOGIN_MAX_FAILURES_PER_ADDRESS:
        raise _locked()


def login_attempt_record(*, username: str, address: str | None, succeeded: bool) -> None:
    """Count a failure; a success clears the failures of its name and address
    (no row per request for API clients). Attempts older than the window no
    longer count and are dropped."""
    LoginAttempt.objects.filter(at__lt=_window_start()).delete()
    name, where = username.lower()[:150], address or None
    if succeeded:
        LoginAttempt.objects.filter(username=name, address=where).delete()
    else:
        LoginAttempt.objects.create(username=name, address=where, succeeded=False)
