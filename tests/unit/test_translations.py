"""The pages in English and German: every template string is marked for
translation, the German catalogue translates every entry and is compiled,
and a German page shows no English template string.

Every template is covered: the project's and each app's.
"""

from __future__ import annotations

import gettext
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.conf import settings
from django.contrib.auth.models import Group

from hl7.intake import receive
from hl7.models import InboundMessage
from ris.models import Destination, OutboundMessage, Room
from tests import factories as f
from tests.hl7_builders import orm_new_order

ROOT = Path(settings.BASE_DIR)
TEMPLATES = ROOT / "templates"
TEMPLATE_DIRS = [TEMPLATES, ROOT / "hl7" / "templates", ROOT / "worklist" / "templates"]
CATALOGUE = ROOT / "locale" / "de" / "LC_MESSAGES" / "django.po"
# Not words to translate: names of things, the same in every language.
NOT_WORDS = {"RIS", "PDF", "ACK", "AE", "ms", "CTDIvol", "DLP", "DAP", "mGy", "Gy", "cm", "cm²", "MBq"}
SHOWN_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt", "data-confirm", "data-ask")


def translated_templates() -> list[Path]:
    return sorted(path for directory in TEMPLATE_DIRS for path in directory.glob("**/*.html"))


def untranslated_text(source: str) -> list[str]:
    """Words a template shows that no {% translate %} / {% blocktranslate %} carries."""
    text = re.sub(r"{#.*?#}|{% comment %}.*?{% endcomment %}", "", source, flags=re.S)
    text = re.sub(r"<script\b.*?</script>|<style\b.*?</style>", "", text, flags=re.S)
    text = re.sub(r"{% blocktranslate\b.*?{% endblocktranslate %}", "", text, flags=re.S)
    text = re.sub(r"{%.*?%}|{{.*?}}", "", text, flags=re.S)
    found = []
    for name, value in re.findall(r'\b([\w-]+)="([^"]*)"', text):
        if name in SHOWN_ATTRIBUTES:
            found += _words(value)
    found += _words(re.sub(r"<[^>]*>", " ", text))
    return found


def _words(text: str) -> list[str]:
    return [w for w in re.findall(r"[^\W\d_]{2,}", text) if w not in NOT_WORDS and not w.startswith("&")]


def test_the_list_covers_templates():
    assert len(translated_templates()) >= 20


@pytest.mark.parametrize("path", translated_templates(), ids=lambda p: str(p.relative_to(ROOT)))
def test_a_template_shows_no_text_that_is_not_marked_for_translation(path):
    assert untranslated_text(path.read_text()) == []


def test_the_check_finds_text_outside_the_tags():
    assert untranslated_text('<p>Hello {{ name }}</p><a title="Open it">{% translate "x" %}</a>') == [
        "Open",
        "it",
        "Hello",
    ]


def _catalogue():
    with CATALOGUE.open("rb") as file:
        return read_po(file, locale="de")


def test_every_entry_of_the_german_catalogue_is_translated():
    catalogue = _catalogue()
    untranslated = [
        message.id
        for message in catalogue
        if message.id
        and (message.fuzzy or not all(message.string if isinstance(message.string, tuple) else [message.string]))
    ]
    assert untranslated == []


def test_the_compiled_catalogue_is_the_current_one():
    with CATALOGUE.with_suffix(".mo").open("rb") as file:
        compiled = gettext.GNUTranslations(file)
    for message in _catalogue():
        if message.id and isinstance(message.id, str):
            assert compiled.gettext(message.id) == message.string, message.id


class _Shown(HTMLParser):
    """The text a page shows: text nodes and shown attributes, not scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        self.parts += [value or "" for name, value in attrs if name in SHOWN_ATTRIBUTES]

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def shown_text(html: str) -> str:
    parser = _Shown()
    parser.feed(html)
    return " | ".join(re.sub(r"\s+", " ", part).strip() for part in parser.parts)  # one node: one part


def english_phrases() -> list[str]:
    """Catalogue entries that a German page must not show in English: the
    sentences and phrases (several words, no placeholder)."""
    phrases = []
    for message in _catalogue():
        if (
            isinstance(message.id, str)
            and " " in message.id
            and "%(" not in message.id
            and message.id != message.string
        ):
            phrases.append(message.id)
    return phrases


@pytest.fixture
def pages(transactional_db):
    """A day's worth of rows, so that each page shows its tables."""
    room = f.room("CT1", "CT")
    receive(orm_new_order("TR1").encode(), "test")
    ehr = Destination.objects.create(name="EHR", kind=Destination.Kind.HL7_MLLP, host="127.0.0.1", port=9)
    dead = OutboundMessage.objects.create(destination=ehr, event="report", status="DEAD", payload="MSH|^~\\&|RIS")
    procedure = f.signed_final_report().report.procedure
    return [
        "/reporting/",
        f"/reporting/procedures/{procedure.pk}/",
        f"/reporting/procedures/{procedure.pk}/versions/",
        "/console/",
        "/console/inbound/",
        f"/console/inbound/{InboundMessage.objects.get().pk}/",
        "/console/outbound/?status=DEAD",
        f"/console/outbound/{dead.pk}/",
        "/console/destinations/",
        "/console/destinations/new/",
        "/console/senders/",
        "/console/modalities/",
        "/administration/users/",
        "/administration/users/new/",
        "/administration/roles/",
        f"/administration/roles/{Group.objects.get(name='radiologist').pk}/",
        "/manage/rooms/",
        f"/manage/rooms/{room.pk}/hours/",
        "/manage/blocked/",
        "/manage/blocked/new/",
        "/manage/procedures/",
        "/no-role/",
        "/no-such-page/",
        "/orders/",
        "/audit/",
        "/account/tokens/",
        "/messages/",
        f"/messages/{InboundMessage.objects.get().pk}/",
        "/modalities/",
    ]


def test_a_german_page_shows_no_english_template_string(client, pages):
    client.force_login(f.user_with_role("administrator"))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "de"
    phrases = english_phrases()
    assert Room.objects.exists() and len(phrases) > 50
    for path in pages:
        response = client.get(path)
        assert response.status_code in (200, 404), path
        text = shown_text(response.content.decode())
        assert 'lang="de"' in response.content.decode(), path
        shown = [phrase for phrase in phrases if phrase in text]
        assert shown == [], path


def test_the_language_switcher_sets_german_and_back(client, db):
    client.force_login(f.user_with_role("radiologist"))
    client.post("/i18n/setlang/", {"language": "de", "next": "/reporting/"})
    assert "Befundliste" in client.get("/reporting/").content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/reporting/"})
    assert "Reading list" in client.get("/reporting/").content.decode()
