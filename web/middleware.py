"""HTTP middleware of the web door (settings MIDDLEWARE)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers

Handler = Callable[[HttpRequest], HttpResponse]


class NoStoreMiddleware:
    """Every answer the RIS builds may carry patient data (pages, API, FHIR,
    the admin): `Cache-Control: no-store`, so that no browser or proxy keeps
    a copy. Static files are answered before this runs (WhiteNoise) and stay
    cacheable."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        add_never_cache_headers(response)  # no-cache, no-store, must-revalidate, private, max-age=0
        response.headers.setdefault("Pragma", "no-cache")  # HTTP/1.0 caches
        return response


class ClientAddressFromProxy:
    """Behind RIS_TRUSTED_PROXIES proxies, the client's address is the one the
    outermost trusted proxy appended to X-Forwarded-For: throttling and the
    audit trail then see the person's machine, not the proxy."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        trusted = settings.RIS_TRUSTED_PROXIES
        if trusted and len(hops) >= trusted:
            request.META["REMOTE_ADDR"] = hops[-trusted]
        return self.get_response(request)
