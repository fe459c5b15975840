"""ER7, HL7 v2's pipe-and-hat encoding: segments, fields and escapes.

hl7apy checks the structure (hl7/read_message.py); reading values needs what it
does not give: the repetition/component/sub-component split with the
message's own delimiters, unescaping, and HL7's `""` (erase) kept apart from
an empty field (no change).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from ris.records import CLEAR


@dataclass(frozen=True)
class Delimiters:
    field: str = "|"
    component: str = "^"
    repetition: str = "~"
    escape: str = "\\"
    subcomponent: str = "&"

    @classmethod
    def from_msh(cls, segment: str) -> Delimiters:
        field, chars = segment[3], segment[4:8]
        return cls(field, chars[0], chars[1], chars[2], chars[3])

    @property
    def encoding_characters(self) -> str:
        return self.component + self.repetition + self.escape + self.subcomponent


_UNREAD: list[str] = []  # a field's repetition not split yet (`Segment.get`)


class Segment:
    """One segment. `field(n)` uses HL7 numbering: for MSH, field 1 is the
    field separator and field 2 the encoding characters."""

    def __init__(self, text: str, delimiters: Delimiters, codec: str = "latin-1"):
        self.text = text
        self.delimiters = delimiters
        self.codec = codec  # the message's character set, for \Xhh\ escapes
        parts = text.split(delimiters.field)
        self.name = parts[0]
        if self.name == "MSH":
            parts = [parts[0], delimiters.field, *parts[1:]]
        self._fields = parts
        self._subcomponent, self._escape = delimiters.subcomponent, delimiters.escape
        # Readers ask for many components of few fields: each field is split once.
        self._repetitions: dict[int, list[str]] = {}
        self._components: dict[tuple[int, int], list[str] | None] = {}

    @property
    def field_count(self) -> int:
        """One more than the last field's number (HL7 numbering)."""
        return len(self._fields)

    def raw(self, number: int) -> str:
        return self._fields[number] if number < len(self._fields) else ""

    def repetitions(self, number: int) -> list[str]:
        """The field's repetitions (the list is kept: do not change it)."""
        reps = self._repetitions.get(number)
        if reps is None:
            reps = self._repetitions[number] = self._split_repetitions(number)
        return reps

    def _split_repetitions(self, number: int) -> list[str]:
        raw = self.raw(number)
        if self.name == "MSH" and number <= 2:  # MSH-1 and MSH-2 hold the delimiters
            return [raw]
        return raw.split(self.delimiters.repetition) if raw else []

    def get(self, number: int, component: int = 1, subcomponent: int = 1, repetition: int = 0) -> str:
        """The unescaped value; CLEAR for HL7 `""`, '' when absent (as `component_of`)."""
        key = (number, repetition)
        components = self._components.get(key, _UNREAD)
        if components is _UNREAD:  # the first read of it
            components = self._components[key] = self._split_components(number, repetition)
        if components is None:  # the whole repetition sent as "" (erase)
            return CLEAR
        if component > len(components):
            return ""
        piece = components[component - 1]
        if self._subcomponent in piece:
            subs = piece.split(self._subcomponent)
            if subcomponent > len(subs):
                return ""
            piece = subs[subcomponent - 1]
        elif subcomponent > 1:
            return ""
        if piece == '""':
            return CLEAR
        return unescape(piece, self.delimiters, self.codec) if self._escape in piece else piece

    def _split_components(self, number: int, repetition: int) -> list[str] | None:
        """The repetition's components; None for a repetition sent as `""`."""
        reps = self.repetitions(number)
        if repetition >= len(reps):
            return []
        value = reps[repetition]
        return None if value == '""' else value.split(self.delimiters.component)


def component_of(value: str, d: Delimiters, component: int = 1, subcomponent: int = 1, codec: str = "latin-1") -> str:
    if value == '""':
        return CLEAR
    components = value.split(d.component)
    if component > len(components):
        return ""
    subs = components[component - 1].split(d.subcomponent)
    if subcomponent > len(subs):
        return ""
    piece = subs[subcomponent - 1]
    return CLEAR if piece == '""' else unescape(piece, d, codec)


def split_segments(text: str) -> list[str]:
    """Segments end with CR; tolerate CRLF and bare LF from real senders."""
    lines = text.replace("\r\n", "\r").split("\r") if "\r" in text else text.split("\n")
    return [line for line in lines if line.strip()]


def unescape(value: str, d: Delimiters, codec: str = "latin-1") -> str:
    """Decode HL7 escapes (HL7 2.5.1 ch. 2.7): \\F\\ \\S\\ \\T\\ \\R\\ \\E\\ \\Xhh\\ \\.br\\.

    \\Xhh\\ carries bytes of the message's own character set (HL7 2.5.1
    2.7.5): they are decoded with `codec`, else read as Latin-1.
    """
    e = d.escape
    if e not in value:
        return value
    simple = {"F": d.field, "S": d.component, "T": d.subcomponent, "R": d.repetition, "E": e, ".br": "\r"}

    def replace(match: re.Match[str]) -> str:
        code = match.group(1)
        if code in simple:
            return simple[code]
        if code.startswith("X") and len(code) % 2 == 1:
            return _hex_escape(code[1:], codec) or match.group(0)
        return match.group(0)  # unknown escapes (\H\, \N\, \Cxxyy\...) are kept as sent

    return re.sub(re.escape(e) + r"([^" + re.escape(e) + r"]*)" + re.escape(e), replace, value)


def _hex_escape(digits: str, codec: str) -> str:
    try:
        data = bytes.fromhex(digits)
    except ValueError:
        return ""
    if codec in ("", "ascii"):  # undeclared: read as the message itself is (charsets.decode)
        codec = "utf-8"
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return data.decode("latin-1")


_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")


@functools.lru_cache(maxsize=16)
def _special(d: Delimiters) -> re.Pattern[str]:
    """What `escape` changes: the delimiters and the control characters."""
    delimiters = d.escape + d.field + d.component + d.subcomponent + d.repetition
    return re.compile(f"[{re.escape(delimiters)}\\x00-\\x1f\\x7f]")


def escape(value: str, d: Delimiters = Delimiters()) -> str:
    """Encode what a field cannot carry as it is (the outbound direction;
    hl7/writer.py builds segments with it): the delimiters as \\F\\ \\S\\ \\T\\
    \\R\\ \\E\\, and every control character as \\Xhh\\ (HL7 2.5.1 2.7.5) - CR
    would end the segment, 0x0B and 0x1C would break the MLLP frame, and
    the others are no text. A line break is one \\X0D\\, whatever it was."""
    if not _special(d).search(value):  # most values: nothing to escape
        return value
    e = d.escape
    out = value.replace(e, f"{e}E{e}")
    for char, code in ((d.field, "F"), (d.component, "S"), (d.subcomponent, "T"), (d.repetition, "R")):
        out = out.replace(char, f"{e}{code}{e}")
    if not _CONTROLS.search(out):
        return out
    out = out.replace("\r\n", "\r")
    return _CONTROLS.sub(lambda match: f"{e}X{ord(match.group(0)):02X}{e}", out)
