"""The message log's own page (/messages/<pk>/) shows a message in the character set it was sent in."""

import pytest
from django.urls import reverse

from hl7.models import InboundMessage
from tests import factories as f
from tests.hl7_builders import orm_new_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def engineer(client):
    client.force_login(f.user_with_role("integration engineer"))
    return client


def _stored(text: str, codec: str) -> InboundMessage:
    return InboundMessage.objects.create(raw=text.encode(codec), control_id="X", message_type="ORM^O01")


def _page(client, message: InboundMessage) -> str:
    return client.get(reverse("message_detail", args=[message.pk])).content.decode()


def _parsed(client, message: InboundMessage) -> list[tuple[str, str]]:
    return client.get(reverse("message_detail", args=[message.pk])).context["parsed"]


def test_a_utf8_message_shows_its_names_as_sent(engineer):
    message = _stored(orm_new_order("U1", name="MÜLLER^HANS=山田^太郎", charset="UNICODE UTF-8"), "utf-8")
    page = _page(engineer, message)
    assert "MÜLLER^HANS=山田^太郎" in page
    assert "MÃ" not in page  # not read as Latin-1


def test_a_latin1_message_shows_its_names_as_sent(engineer):
    message = _stored(orm_new_order("L1", name="MÜLLER^HANS", charset="8859/1"), "latin-1")
    page = _page(engineer, message)
    assert "MÜLLER^HANS" in page and ("PID-5", "MÜLLER^HANS") in _parsed(engineer, message)


def test_the_fields_table_reads_the_utf8_message_too(engineer):
    message = _stored(orm_new_order("U2", name="Müller^Hans", charset="UNICODE UTF-8"), "utf-8")
    assert ("PID-5", "Müller^Hans") in _parsed(engineer, message)
