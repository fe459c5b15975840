"""The intake pipeline without sockets: what it answers when our own code fails."""

import pytest

from hl7 import handlers
from hl7.intake import receive
from hl7.models import InboundMessage
from ris.models import ImagingOrder
from tests.hl7_builders import orm_new_order

pytestmark = pytest.mark.django_db(transaction=True)  # intake closes connections it finds in a transaction


def test_a_fault_in_a_handler_is_answered_ar_207_and_kept_for_reprocessing(monkeypatch):
    def broken(*args):
        raise KeyError("bug")

    monkeypatch.setitem(handlers.HANDLERS, ("ORM", "O01"), broken)
    [ack] = receive(orm_new_order("L9").encode(), "test")
    assert b"MSA|AR|L9" in ack and b"207" in ack
    stored = InboundMessage.objects.get(control_id="L9")
    assert stored.status == "REJECTED" and ImagingOrder.objects.count() == 0
