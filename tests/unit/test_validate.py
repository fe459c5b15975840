"""The door's checks on values, without a database."""

import pytest

from hl7.errors import HL7Error
from hl7.handlers import HANDLERS
from hl7.mllp import FrameDecoder
from hl7.read_message import parse
from hl7.validate import READ_MESSAGES, same_message
from tests.hl7_builders import orm_new_order


def test_the_checked_messages_are_the_handled_ones():
    assert set(HANDLERS) == READ_MESSAGES


def test_a_name_of_64_characters_per_group_is_accepted_and_65_refused():
    parse(orm_new_order("N1", name="A" * 59 + "^HANS").encode())  # 'AAA...^HANS' is 64
    with pytest.raises(HL7Error) as caught:
        parse(orm_new_order("N2", name="A" * 60 + "^HANS").encode())
    assert (caught.value.code, caught.value.ack_code, caught.value.location.field) == (102, "AE", 5)


def test_a_tab_in_free_text_is_kept_and_in_an_identifier_refused():
    parse(orm_new_order("T1").replace("PV1|1|O|", "PV1|1|O\t|").encode())  # PV1-2, not read
    with pytest.raises(HL7Error, match=r"PID-3\.1 contains a control character"):
        parse(orm_new_order("T2", patient_id="P\\X09\\1").encode())


def test_a_resend_stamped_anew_is_the_same_message_and_other_content_is_not():
    first = orm_new_order("R1").encode()
    restamped = first.replace(b"20261126101500", b"20261126101600", 1)
    assert same_message(first, restamped.replace(b"\r", b"\r\n"))
    assert not same_message(first, orm_new_order("R1", placer="PL9").encode())


def test_a_long_run_of_start_bytes_does_not_recurse():
    decoder = FrameDecoder(1 << 20)
    assert decoder.feed(b"\x0b" * 100_000 + b"MSH|x\x1c\x0d") == [b"MSH|x"]
