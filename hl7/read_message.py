"""Bytes to a parsed message: header first, then the segments.

Our own ER7 reader rather than hl7apy's parser: hl7apy took 4-180 ms per
message on the sample set (its tolerant validation walks its whole version
schema), ours well under a millisecond; hl7apy stays in the tests as an
independent reader of what we send. No database here. Everything that can be wrong with the message becomes an
HL7Error carrying the table 0357 code and the place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from hl7 import charsets, validate
from hl7.er7 import Delimiters, Segment, split_segments
from hl7.errors import (
    DATA_TYPE_ERROR,
    REQUIRED_FIELD_MISSING,
    SEGMENT_SEQUENCE_ERROR,
    UNSUPPORTED_PROCESSING_ID,
    UNSUPPORTED_VERSION_ID,
    HL7Error,
    Location,
)

BOM = b"\xef\xbb\xbf"
_SEGMENT_NAME = re.compile(r"[A-Z][A-Z0-9]{2}")
# MSH-12 versions whose messages the RIS reads (docs/hl7-interface.md, version policy)
SUPPORTED_VERSIONS = {"2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.7.1", "2.8", "2.8.1", "2.8.2"}


@dataclass(frozen=True)
class Header:
    """What an ACK needs from MSH, read even from a message that fails later."""

    delimiters: Delimiters
    sending_application: str
    sending_facility: str
    receiving_application: str
    receiving_facility: str
    message_type: str
    trigger_event: str
    control_id: str
    processing_id: str
    version: str
    accept_ack_type: str
    application_ack_type: str
    charset: str
    codec: str

    @property
    def enhanced_mode(self) -> bool:
        return bool(self.accept_ack_type or self.application_ack_type)


@dataclass(frozen=True)
class ParsedMessage:
    header: Header
    segments: list[Segment]

    def all(self, name: str) -> list[Segment]:
        return [s for s in self.segments if s.name == name]

    def first(self, name: str) -> Segment | None:
        return next((s for s in self.segments if s.name == name), None)


def read_header(raw: bytes) -> Header:
    """Read MSH from the raw bytes (its fields are ASCII in every character set)."""
    data = raw[len(BOM) :] if raw.startswith(BOM) else raw
    data = data.lstrip(b"\r\n\t ")
    if not data.startswith(b"MSH") or len(data) < 8:
        raise HL7Error(
            SEGMENT_SEQUENCE_ERROR, "message does not start with an MSH segment", Location("MSH"), ack_code="AR"
        )
    first = _first_segment(data)
    delimiters = _delimiters(first)
    return _header(Segment(first, delimiters), delimiters)


def _first_segment(data: bytes) -> str:
    """The first segment of bytes that start with MSH, as `split_segments`
    would give it (CR ends a segment; with no CR at all, LF does), without
    decoding and splitting the whole message."""
    end = data.find(b"\r")
    if end < 0:
        end = data.find(b"\n")
    return (data if end < 0 else data[:end]).decode("latin-1")


def _header(msh: Segment, delimiters: Delimiters) -> Header:
    msh18 = msh.raw(18)  # every repetition: ISO 2022 alternates follow the default set
    return Header(
        delimiters=delimiters,
        sending_application=_hd(msh, 3),
        sending_facility=_hd(msh, 4),
        receiving_application=_hd(msh, 5),
        receiving_facility=_hd(msh, 6),
        message_type=msh.get(9, 1),
        trigger_event=msh.get(9, 2),
        control_id=msh.get(10),
        processing_id=msh.get(11),
        version=msh.get(12),
        accept_ack_type=msh.get(15),
        application_ack_type=msh.get(16),
        charset=msh18.strip(),
        codec=_codec_or_empty(msh18),
    )


def read_header_for_answer(raw: bytes) -> Header | None:
    """The header as far as it can be read, to address the answer to a message
    whose header is broken: with MSH-2 unreadable, the fields are read with
    the standard encoding characters (MSH-10 for MSA-2, MSH-3/4 for MSH-5/6)
    and the answer is written with them. None when there is no MSH at all."""
    try:
        return read_header(raw)
    except HL7Error:
        pass
    data = (raw[len(BOM) :] if raw.startswith(BOM) else raw).lstrip(b"\r\n\t ")
    if not data.startswith(b"MSH") or len(data) < 4 or chr(data[3]).isalnum() or data[3] in b"\r\n":
        return None
    first = _first_segment(data)
    separator = first[3]
    standard = Delimiters(field=separator)
    if separator in standard.encoding_characters:
        return None
    # MSH-2 is whatever stands between the first two separators: read the rest as standard.
    rest = first[4:].split(separator, 1)[1] if separator in first[4:] else ""
    msh = Segment(f"MSH{separator}{standard.encoding_characters}{separator}{rest}", standard)
    # Answered in original mode: MSH-15/16 of a broken header are not to be trusted.
    return replace(_header(msh, standard), accept_ack_type="", application_ack_type="")


def _codec_or_empty(msh18: str) -> str:
    """'' for an unknown set: the header stays readable for the AE that says so."""
    try:
        return charsets.codec_for(msh18)
    except HL7Error:
        return ""


def parse(raw: bytes) -> ParsedMessage:
    header = read_header(raw)
    _check_header(header)
    if not header.codec:
        charsets.codec_for(header.charset)  # raises the error naming the set
    data = raw[len(BOM) :] if raw.startswith(BOM) else raw
    text = charsets.decode(data, header.codec)
    lines = split_segments(text.lstrip("\ufeff\r\n\t "))
    _check_structure(lines, header)
    segments = [Segment(line, header.delimiters, header.codec) for line in lines]
    validate.check_message(header.message_type, header.trigger_event, segments)  # names a checked field's place
    _check_no_nul(text)  # then a NUL anywhere else
    return ParsedMessage(header, segments)


def _check_no_nul(text: str) -> None:
    """HL7 text carries no NUL (HL7 2.5.1 2.6: printable characters and the
    delimiters); refusing it also keeps the domain's CLEAR marker unforgeable."""
    if "\x00" in text:
        segment = text[: text.index("\x00")].rsplit("\r", 1)[-1][:3]
        raise HL7Error(DATA_TYPE_ERROR, "the message contains a NUL character", Location(segment.strip() or "MSH"))


def _delimiters(msh: str) -> Delimiters:
    chars = msh[4:].split(msh[3], 1)[0] if len(msh) > 4 else ""
    if len(chars) not in (4, 5) or len(set(chars[:4] + msh[3])) != 5 or msh[3].isalnum():
        raise HL7Error(
            DATA_TYPE_ERROR,
            "MSH-2 encoding characters are not valid: four distinct characters, none a letter or digit",
            Location("MSH", 1, 2),
            ack_code="AR",
        )
    return Delimiters.from_msh(msh)


def _hd(msh: Segment, number: int) -> str:
    """An HD field as sent (namespace^universal ID^type), unescaped per component."""
    raw, d = msh.raw(number), msh.delimiters
    if d.repetition not in raw and d.subcomponent not in raw and d.escape not in raw and '""' not in raw:
        return "^".join(raw.split(d.component)[:3]).rstrip("^")  # the common case: the components as they are
    parts = [msh.get(number, c) for c in (1, 2, 3)]
    return "^".join(parts).rstrip("^")


def _check_header(header: Header) -> None:
    if not header.message_type:
        raise HL7Error(REQUIRED_FIELD_MISSING, "MSH-9 message type is empty", Location("MSH", 1, 9))
    if not header.control_id:
        raise HL7Error(REQUIRED_FIELD_MISSING, "MSH-10 message control ID is empty", Location("MSH", 1, 10))
    if header.processing_id[:1] not in ("P", "T", "D"):
        raise HL7Error(
            UNSUPPORTED_PROCESSING_ID,
            f"MSH-11 processing ID {header.processing_id!r} is not P, T or D",
            Location("MSH", 1, 11),
        )
    if header.version not in SUPPORTED_VERSIONS:
        # HL7 2.5.1 2.9.2: a version the receiver does not speak is AR 203.
        raise HL7Error(
            UNSUPPORTED_VERSION_ID,
            f"MSH-12 version ID {header.version[:12]!r} is not supported (2.3 to 2.8.2)",
            Location("MSH", 1, 12),
        )


def _check_structure(lines: list[str], header: Header) -> None:
    """Every segment must start with a three-character name (HL7 2.5.1 2.5.2).

    A CR inside a field (seen in real senders' base64 data) shows up here as
    a line that is no segment.
    """
    for number, line in enumerate(lines, start=1):
        name = line.split(header.delimiters.field, 1)[0]
        if not _SEGMENT_NAME.fullmatch(name):
            raise HL7Error(
                SEGMENT_SEQUENCE_ERROR,
                f"line {number} is not a segment: a segment terminator inside a field?",
                Location(name[:3], 1),
                ack_code="AR",
            )
