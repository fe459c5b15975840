"""Login (throttled), the capability check every page uses, the client's
address, and the actor a request stands for."""

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from django_htmx.http import HttpResponseClientRedirect

from ris.actors import request_actor
from ris.exceptions import LoginLocked
from ris.models import Patient
from ris.roles import permission
from ris.services.audit import audit_view_many
from ris.services.login_throttle import login_check_allowed
from web.forms import LoginForm


def client_address(request: HttpRequest | None) -> str:
    return str(request.META.get("REMOTE_ADDR", "")) if request is not None else ""


View = Callable[..., HttpResponse]


def requires(capability: str) -> Callable[[View], View]:
    """Page decorator: log in first, then 403 unless a role grants `capability`."""

    def decorate(view: View) -> View:
        @wraps(view)
        def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return to_login(request)
            if not request.user.has_perm(permission(capability)):
                raise PermissionDenied(f"Your role does not allow this ({capability}).")
            return view(request, *args, **kwargs)

        return checked

    return decorate


def door_page(capability: str, view: View, *, search: str = "") -> View:
    """A page another door owns (the HL7 message log, the modality registry),
    routed here: checked like ours, and handed the actor of the request so
    that what it shows is audited by the services. A `search` page (a list
    whose rows name no patient) is recorded here with its query."""

    @requires(capability)
    @wraps(view)
    def page(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, actor=request_actor(request), **kwargs)
        if search and request.method == "GET" and response.status_code == 200:
            audit_page(request, [], search)
        return response

    return page


def audit_page(request: HttpRequest, patients: Iterable[Patient | None], what: str) -> None:
    """A page that lists patients' data: one audit event naming the patients
    shown; the request (and so the query) is its detail's end."""
    audit_view_many(actor=request_actor(request), patients=patients, object_type=what, detail=f"{what} page")


def to_login(request: HttpRequest) -> HttpResponse:
    """To the login page, then back. An htmx request (a poll after the session
    ended) makes the browser load the login page instead of swapping it in."""
    htmx = getattr(request, "htmx", None)  # django-htmx's middleware sets it
    if htmx:
        back = htmx.current_url_abs_path or "/"
        return HttpResponseClientRedirect(f"{resolve_url(settings.LOGIN_URL)}?{urlencode({'next': back})}")
    return redirect_to_login(request.get_full_path())


class LoginThrottle(AuthenticationForm):
    """Login form base: says so while the name and address are locked. The
    attempt itself is checked and counted by the one password backend
    (web/authentication.py), as for every other door."""

    def clean(self) -> dict[str, Any]:
        username, address = self.data.get("username", ""), client_address(self.request)
        try:
            login_check_allowed(username=username, address=address)
        except LoginLocked as refusal:
            raise ValidationError(str(refusal), code="locked") from None
        return super().clean()


class ThrottledLoginForm(LoginThrottle, LoginForm):
    pass


class ThrottledAdminLoginForm(LoginThrottle, AdminAuthenticationForm):
    """The admin's own login page counts toward the same lockout."""


class LoginView(auth_views.LoginView):
    template_name = "web/login.html"
    authentication_form = ThrottledLoginForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        # The hospital's sign-on, offered beside the password form when configured.
        return {**super().get_context_data(**kwargs), "oidc_enabled": settings.RIS_OIDC_ENABLED}
