import pytest

from hl7.mllp import FrameDecoder, FrameTooLarge, frame


def test_one_frame_is_returned_without_its_envelope():
    assert FrameDecoder(100).feed(b"\x0bMSH|x\x1c\x0d") == [b"MSH|x"]


def test_frame_split_over_three_reads_is_returned_once_complete():
    decoder = FrameDecoder(100)
    assert decoder.feed(b"\x0bMSH") == []
    assert decoder.feed(b"|a|b\x1c") == []
    assert decoder.feed(b"\x0d") == [b"MSH|a|b"]


def test_two_frames_in_one_read_are_both_returned_in_order():
    assert FrameDecoder(100).feed(frame(b"A") + frame(b"B")) == [b"A", b"B"]


def test_bytes_between_frames_are_dropped_and_counted():
    decoder = FrameDecoder(100)
    assert decoder.feed(b"noise" + frame(b"A") + b"\r\n") == [b"A"]
    assert decoder.discarded == 7


def test_a_start_byte_inside_a_frame_abandons_the_half_frame():
    decoder = FrameDecoder(100)
    assert decoder.feed(b"\x0bhalf" + frame(b"whole")) == [b"whole"]
    assert decoder.discarded == 4


def test_frame_over_the_limit_raises_with_its_head():
    decoder = FrameDecoder(10)
    with pytest.raises(FrameTooLarge) as caught:
        decoder.feed(b"\x0bMSH|" + b"x" * 20)
    assert caught.value.head.startswith(b"MSH|")
