from hl7.er7 import Delimiters, Segment, escape, split_segments, unescape
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
