"""A stored message laid out for people: its text and its segments field by field.

Read-only and tolerant: a message that failed to parse is still shown.
"""

from __future__ import annotations

from dataclasses import dataclass

from hl7 import charsets
from hl7.er7 import Delimiters, Segment, split_segments
from hl7.errors import HL7Error
from hl7.read_message import BOM, read_header
from ris.records import CLEAR


@dataclass(frozen=True)
class FieldView:
    reference: str  # e.g. PID-5[2]
    raw: str
    value: str  # first component, unescaped; '""' shown as sent


def message_text(raw: bytes) -> str:
    """The message decoded in its MSH-18 set (Latin-1 when that fails), segments on lines."""
    try:
        codec = read_header(raw).codec or "ascii"
        text = charsets.decode(raw[len(BOM) :] if raw.startswith(BOM) else raw, codec)
    except HL7Error:
        text = raw.decode("latin-1")
    return "\n".join(split_segments(text))


def segment_views(raw: bytes) -> list[tuple[str, list[FieldView]]]:
    """Each segment with its non-empty fields, numbered as HL7 numbers them."""
    try:
        header = read_header(raw)
        delimiters, codec = header.delimiters, header.codec
    except HL7Error:
        delimiters, codec = Delimiters(), ""
    views = []
    for line in message_text(raw).split("\n"):
        segment = Segment(line, delimiters, codec)
        views.append((segment.name, _fields(segment)))
    return views


def _fields(segment: Segment) -> list[FieldView]:
    fields = []
    for number in range(1, len(segment.text.split(segment.delimiters.field)) + 1):
        raw = segment.raw(number)
        if not raw:
            continue
        for rep in range(max(1, len(segment.repetitions(number)))):
            value = segment.get(number, repetition=rep)
            suffix = f"[{rep + 1}]" if rep else ""
            shown = '""' if value == CLEAR else value
            fields.append(FieldView(f"{segment.name}-{number}{suffix}", raw if not rep else "", shown))
    return fields


def field_rows(raw: bytes) -> list[tuple[str, str]]:
    """(HL7 position such as PID-5, the field as sent) for every non-empty field, to read a message by eye."""
    return [(field.reference, field.raw) for _, fields in segment_views(raw) for field in fields if field.raw]
