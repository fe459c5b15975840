from hypothesis import given, settings
from hypothesis import strategies as st

from hl7.er7 import Delimiters, Segment, component_of, escape, split_segments, unescape
from ris.records import CLEAR

D = Delimiters()


def test_escapes_decode_to_delimiters_and_line_breaks():
    assert unescape(r"1\F\2\S\3\T\4\R\5\E\6\.br\7", D) == "1|2^3&4~5\\6\r7"


def test_hex_escape_decodes_latin1_bytes():
    assert unescape(r"Fran\XE7\ois", D) == "François"


def test_unknown_escape_is_kept_as_sent():
    assert unescape(r"\H\bold\N\\", D) == r"\H\bold\N\\"


def test_escape_then_unescape_gives_back_the_value():
    value = "a|b^c&d~e\\f\rg"
    assert unescape(escape(value), D) == value


def test_double_quotes_mean_clear_and_empty_means_absent():
    pid = Segment('PID|1||""|X^""', D)
    assert pid.get(3) == CLEAR
    assert pid.get(4, 2) == CLEAR
    assert pid.get(5) == ""


def test_msh_fields_use_hl7_numbering():
    msh = Segment("MSH|^~\\&|APP|FAC|||20260101||ORM^O01|ID1|P|2.3.1", D)
    assert msh.get(3) == "APP"
    assert (msh.get(9, 1), msh.get(9, 2), msh.get(10)) == ("ORM", "O01", "ID1")


def test_segments_split_on_cr_crlf_or_bare_lf():
    assert split_segments("A|1\r\nB|2\r\n") == ["A|1", "B|2"]
    assert split_segments("A|1\nB|2\n") == ["A|1", "B|2"]
    assert split_segments("A|1\rB|2\r") == ["A|1", "B|2"]


_PIECES = st.sampled_from(["", "a", "b1", '""', "\\F\\", "\\X41\\", "^", "&", "~", "|", "\\"])


@settings(max_examples=300, deadline=None)
@given(
    name=st.sampled_from(["PID", "MSH", "OBR"]),
    text=st.lists(_PIECES, max_size=24).map("".join),
    number=st.integers(1, 6),
    component=st.integers(1, 4),
    subcomponent=st.integers(1, 3),
    repetition=st.integers(0, 2),
)
def test_segment_reads_each_value_as_component_of_reads_it(name, text, number, component, subcomponent, repetition):
    """A segment splits each field once and keeps the pieces; every value it
    reads, in any order and read again, is what `component_of` reads from
    the repetition's text."""
    segment = Segment(f"{name}|{text}", D)
    fields = [name, *text.split("|")] if name != "MSH" else [name, "|", *text.split("|")]
    raw = fields[number] if number < len(fields) else ""
    reps = [raw] if name == "MSH" and number <= 2 else (raw.split("~") if raw else [])
    expected = component_of(reps[repetition], D, component, subcomponent) if repetition < len(reps) else ""
    for _ in range(2):  # the second read comes from the kept pieces
        assert segment.repetitions(number) == reps
        assert segment.get(number, component, subcomponent, repetition) == expected
