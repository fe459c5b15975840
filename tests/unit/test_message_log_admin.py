"""The message log in the admin: parsed view, filters, reprocess action."""

import pytest
from django.urls import reverse

from hl7.intake import receive
from hl7.models import HL7Sender, InboundMessage
from ris.models import ImagingOrder
from tests.hl7_builders import orm_new_order

pytestmark = pytest.mark.django_db(transaction=True)  # intake closes connections it finds in a transaction


def _receive(text: str, codec: str = "ascii") -> InboundMessage:
    receive(text.encode(codec), "test")
    return InboundMessage.objects.latest("pk")


def test_change_view_shows_raw_text_parsed_fields_ack_and_order(admin_client):
    stored = _receive(orm_new_order("L1", name="MÜLLER^HANS", charset="8859/1"), "latin-1")
    page = admin_client.get(reverse("admin:hl7_inboundmessage_change", args=[stored.pk])).content.decode()
    assert "PID-5" in page and "MÜLLER" in page  # decoded in the message's set
    assert "MSA|AA|L1" in page
    assert reverse("admin:ris_imagingorder_change", args=[stored.order_id]) in page


def test_changelist_filters_by_status_and_sender(admin_client):
    _receive(orm_new_order("L2"))
    _receive(orm_new_order("L3", modality="", placer="P3", accession="A3"))
    url = reverse("admin:hl7_inboundmessage_changelist")
    page = admin_client.get(url, {"status__exact": "REJECTED", "sending_application": "EHR"}).content.decode()
    assert "L3" in page and "L2" not in page


def test_reprocess_action_applies_a_rejected_message_after_the_fix(admin_client):
    HL7Sender.objects.create(application="EHR")
    stored = _receive(orm_new_order("L4").replace("|EHR|", "|LATE|", 1))
    assert stored.status == "REJECTED"
    HL7Sender.objects.create(application="LATE")
    url = reverse("admin:hl7_inboundmessage_changelist")
    admin_client.post(url, {"action": "reprocess_messages", "_selected_action": [stored.pk]})
    stored.refresh_from_db()
    assert (stored.status, stored.ack_code) == ("APPLIED", "AA")
    assert ImagingOrder.objects.count() == 1


def test_parsed_view_of_a_message_that_does_not_parse_still_shows_its_text(admin_client):
    stored = _receive("not HL7 at all\rPID|1||X")
    page = admin_client.get(reverse("admin:hl7_inboundmessage_change", args=[stored.pk])).content.decode()
    assert "not HL7 at all" in page and "PID-3" in page
