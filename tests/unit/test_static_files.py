"""The pages' libraries are served by the RIS itself, with DEBUG off: no CDN, no extra web server."""

import pytest

VENDORED = [
    "vendor/htmx/htmx.min.js",
    "vendor/event-calendar/event-calendar.min.js",
    "vendor/event-calendar/event-calendar.min.css",
    "vendor/bootstrap/bootstrap.min.css",
    "ris/calendar.js",
]


@pytest.mark.parametrize("path", VENDORED)
def test_static_file_is_served_with_debug_off(client, settings, path):
    assert settings.DEBUG is False
    response = client.get(f"/static/{path}")
    assert response.status_code == 200


def test_every_vendored_library_keeps_its_licence():
    from pathlib import Path

    vendor = Path(__file__).resolve().parents[2] / "static" / "vendor"
    for library in (p for p in vendor.iterdir() if p.is_dir()):
        assert (library / "LICENSE").is_file(), library.name
