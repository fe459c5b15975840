"""People's forms of data on the pages: names as people read them, one
24-hour date and time format from the settings, long text cut with the
whole of it on hover."""

import datetime as dt

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone

from ris.models import Patient
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def scheduler(client):
    client.force_login(f.user_with_role("scheduler", "sam"))
    return client


def render(text: str, **context) -> str:
    return Template(text).render(Context(context))


def test_order_queue_shows_names_as_people_read_them_never_with_carets(scheduler):
    f.step(patient_id="P1", name="WELBY^MARCUS^^DR", referring="HOUSE^GREGORY")
    f.step(patient_id="P2", name="Yamada^Tarou")
    Patient.objects.filter(patient_id="P2").update(name_ideographic="山田^太郎")
    page = scheduler.get(reverse("order_queue")).content.decode()
    assert "WELBY, DR MARCUS" in page and "HOUSE, GREGORY" in page and "Yamada, Tarou (山田 太郎)" in page
    assert "^" not in page


def test_order_source_is_shown_as_people_say_it(scheduler):
    f.placed_order()  # placed by EHR^HOSP
    assert render("{{ a|source }}|{{ b|source }}", a="EHR|HOSP", b="UI") == "EHR · HOSP|manual entry"


def test_pages_show_dates_and_times_in_one_24_hour_format(scheduler, site_zone):
    step = f.step(patient_id="P1", start=f.local(dt.date(2026, 12, 1), 21, 36))
    patient = scheduler.get(reverse("patient", args=[step.requested_procedure.order.patient_id])).content.decode()
    queue = scheduler.get(reverse("order_queue")).content.decode()
    for page in (patient, queue):
        assert "2026-12-01 21:36" in page
        assert "p.m." not in page and "Jan. 1, 1980" not in page
    assert "born 1980-01-01" in patient


def test_date_and_time_formats_come_from_the_settings(settings, site_zone):
    settings.RIS_DATE_FORMAT, settings.RIS_TIME_FORMAT, settings.RIS_DATETIME_FORMAT = "d.m.Y", "H:i", "d.m.Y H:i"
    moment = timezone.make_aware(dt.datetime(2026, 12, 1, 21, 36))
    shown = render("{{ t|when }}|{{ t|day }}|{{ t|clock }}|{{ d|when }}", t=moment, d=dt.date(1980, 1, 1))
    assert shown == "01.12.2026 21:36|01.12.2026|21:36|01.01.1980"


def test_when_shows_an_aware_time_in_the_site_zone(site_zone):
    utc = dt.datetime(2026, 12, 1, 20, 36, tzinfo=dt.UTC)
    assert render("{{ t|when }}", t=utc) == "2026-12-01 21:36"  # Europe/Berlin


def test_long_text_is_cut_with_the_whole_text_on_hover(scheduler):
    f.step(patient_id="P1", name="A" * 60 + "^" + "B" * 3)
    page = scheduler.get(reverse("order_queue")).content.decode()
    assert f'title="{"A" * 60}, BBB"' in page and "A" * 39 + "…" in page
    clipped = render("{{ v|clip:10 }}", v="<b>short</b> and long")
    assert clipped == '<span title="&lt;b&gt;short&lt;/b&gt; and long">&lt;b&gt;short&lt;…</span>'  # escaped


@pytest.mark.parametrize("language", ["en-us", "de"])
def test_djangos_own_date_rendering_uses_the_site_formats_in_each_language(language):
    from django.utils import translation

    with translation.override(language):
        shown = render("{{ d }}|{{ t|time }}|{{ d|date }}", d=dt.date(1980, 1, 1), t=dt.time(21, 36))
    assert shown == "1980-01-01|21:36|1980-01-01"  # never "Jan. 1, 1980" or "9:36 p.m."
