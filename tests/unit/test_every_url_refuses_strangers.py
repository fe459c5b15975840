"""Walk every URL the project routes: without a login, and logged in without a
role, each one is refused, except the few that are public on purpose."""

import re

import pytest
from django.contrib.auth.models import User
from django.urls import get_resolver

PUBLIC = {
    "login/",
    "admin/login/",
    "api/token/",  # where one logs in
    "logout/",
    "admin/logout/",
    "health/live",
    "health/ready",
    "metrics",  # for load balancers and Prometheus; no patient data
    "i18n/setlang/",  # the language switcher, on the login page too; sets a cookie, shows nothing
    "fhir/metadata",  # FHIR capability discovery, as FHIR clients expect
    "dicomweb/",  # the DICOMweb services' capability statement, no data
    "api/schema/",  # the OpenAPI description, no data
}
# Pages any logged-in user may see, role or not: where to go, and how to leave.
ANY_USER = {"", "no-role/", "api/", "api/json"}  # api/: the list of endpoints, no data
ANY_USER |= {"api/tokens/", "api/tokens.json", "account/tokens/"}  # one's own API tokens


def _all_paths() -> list[str]:
    return sorted(p for p in _paths_of(get_resolver(), "") if not p.startswith("static/"))


def _paths_of(resolver, prefix: str) -> set[str]:
    """Every routed path, namespaced includes (the admin) too, with sample arguments."""
    paths = set()
    for _key, entries in resolver.reverse_dict.lists():
        for possibilities, _pattern, _defaults, _converters in entries:
            for template, params in possibilities:
                paths.add(prefix + template % {name: _sample(name) for name in params})
    for namespace_prefix, sub in resolver.namespace_dict.values():
        paths |= _paths_of(sub, prefix + namespace_prefix)
    return paths


def _sample(param: str) -> str:
    return {"kind": "rooms", "format": "json", "app_label": "ris"}.get(param, "1")


ALL_PATHS = _all_paths()


def test_the_walk_finds_the_pages_the_api_fhir_and_the_admin():
    joined = "\n".join(ALL_PATHS)
    for expected in ("orders/", "calendar/", "board/", "api/orders/", "fhir/rooms", "admin/", "reporting/"):
        assert re.search(rf"^{re.escape(expected)}", joined, re.M), expected


@pytest.mark.parametrize("path", [p for p in ALL_PATHS if p not in PUBLIC])
def test_anonymous_requests_are_refused(client, db, path):
    for method in (client.get, client.post):
        response = method(f"/{path}")
        if response.status_code == 404:  # the sample arguments name nothing here: no route to refuse
            assert _not_found_for_a_superuser(path)
            continue
        assert response.status_code in (301, 302, 401, 403, 405), (method.__name__, response.status_code)
        if response.status_code in (301, 302):
            assert "login" in response["Location"], response["Location"]


@pytest.mark.parametrize("path", [p for p in ALL_PATHS if p not in PUBLIC | ANY_USER])
def test_a_user_without_a_role_is_refused(client, db, path):
    client.force_login(User.objects.create_user("nobody", password="x"))
    response = client.get(f"/{path}")
    if response.status_code == 404:
        assert _not_found_for_a_superuser(path)
        return
    assert response.status_code in (302, 403, 405), response.status_code
    if response.status_code == 302:
        assert "login" in response["Location"] or "no-role" in response["Location"], response["Location"]


def _not_found_for_a_superuser(path: str) -> bool:
    from django.test import Client

    boss = Client()
    boss.force_login(User.objects.get_or_create(username="boss", is_superuser=True, is_staff=True)[0])
    return boss.get(f"/{path}").status_code == 404
