"""What the HL7 door accepts in a value, checked before anything is applied.

Every value the RIS keeps is checked against the DICOM VR it becomes in the
worklist (PS3.5 6.2: LO 64, SH 16, CS 16, AE 16, UI 64, PN 64 per component
group) and against the column that holds it, the stricter of the two, so
that the answer is the same on every database: a value that is too long is
refused AE 102 (HL7 2.5.1 table 0357 "data type error") with its ERR-2
location, never cut and never left to the database (PostgreSQL refuses it,
SQLite keeps it). Control characters are refused after unescaping in every
value: `\\X00\\`, `\\X0B\\` and the other C0 controls (HL7 2.5.1 2.7: text is
printable characters and the delimiters); TAB, CR (`\\.br\\`) and LF are
kept only in fields that are not identifiers, codes or names.

The reasons name the field and the rule, never the value: they are logged,
and the log carries no patient data.

Called from `hl7.read_message.parse`, so every path that applies a message
(the reference intake and any faster one) checks the same rules first.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings

from hl7.datatypes import xcn_to_pn, xpn_to_pn
from hl7.er7 import Segment, unescape
from hl7.errors import DATA_TYPE_ERROR, HL7Error, Location
from ris.records import CLEAR

# The messages the RIS reads (hl7/handlers.py HANDLERS); others are refused
# for their type or event, and their content is not ours to judge.
READ_MESSAGES = {
    ("ORM", "O01"),
    ("OMI", "O23"),
    ("OMG", "O19"),
    *(("ADT", event) for event in ("A01", "A04", "A05", "A08", "A10", "A11", "A12", "A13", "A28", "A31")),
    ("ADT", "A40"),
    ("ADT", "A47"),
}

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # C0 controls but TAB, LF, CR; and DEL
_ANY_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Rule:
    """A value's name, the DICOM VR it becomes, and its size in characters."""

    name: str
    vr: str
    size: int

    def reason(self, where: str) -> str:
        return f"{where} {self.name} is longer than {self.size} characters (DICOM {self.vr})"


def _lo(name: str) -> Rule:
    return Rule(name, "LO", 64)


def _sh(name: str) -> Rule:
    return Rule(name, "SH", 16)


# (segment, field, component) -> rule; component 0: the whole field as a
# person name (XPN, or XCN for physicians), 64 characters per PN group.
PERSON_NAMES: dict[tuple[str, int], tuple[str, str]] = {
    ("PID", 5): ("patient name", "XPN"),
    ("PV1", 8): ("referring physician", "XCN"),
    ("ORC", 12): ("ordering provider", "XCN"),
    ("OBR", 16): ("ordering provider", "XCN"),
    ("OBR", 34): ("technician / performing physician", "XCN"),
}
_PN_GROUP = 64
VALUES: dict[tuple[str, int, int], Rule] = {
    ("PID", 3, 1): _lo("patient identifier"),
    ("PID", 3, 4): _lo("assigning authority"),
    ("PID", 8, 1): Rule("administrative sex", "CS", 16),
    ("MRG", 1, 1): _lo("prior patient identifier"),
    ("MRG", 1, 4): _lo("prior assigning authority"),
    ("PV1", 19, 1): _lo("visit number"),
    ("ORC", 2, 1): _lo("placer order number"),
    ("ORC", 3, 1): _lo("filler order number"),
    ("ORC", 18, 1): Rule("station AE title", "AE", 16),
    ("OBR", 2, 1): _lo("placer order number"),
    ("OBR", 3, 1): _lo("filler order number"),
    ("OBR", 4, 1): _lo("procedure code value"),  # the column: DICOM puts a long code in Long Code Value
    ("OBR", 4, 2): _lo("procedure code meaning"),
    ("OBR", 4, 3): _lo("procedure coding scheme"),
    ("OBR", 4, 4): _lo("protocol code value"),
    ("OBR", 4, 5): _lo("protocol code meaning"),
    ("OBR", 4, 6): _lo("protocol coding scheme"),
    ("OBR", 18, 1): _sh("accession number"),
    ("OBR", 19, 1): _sh("requested procedure ID"),
    ("OBR", 20, 1): _sh("scheduled procedure step ID"),
    ("OBR", 24, 1): Rule("modality", "CS", 16),
    ("OBR", 31, 1): _lo("reason for study"),
    ("OBR", 31, 2): _lo("reason for study"),
    ("ZDS", 1, 1): Rule("Study Instance UID", "UI", 64),
    ("IPC", 1, 1): _sh("accession number"),
    ("IPC", 2, 1): _sh("requested procedure ID"),
    ("IPC", 3, 1): Rule("Study Instance UID", "UI", 64),
    ("IPC", 4, 1): _sh("scheduled procedure step ID"),
    ("IPC", 5, 1): Rule("modality", "CS", 16),
    ("IPC", 6, 1): _lo("protocol code value"),
    ("IPC", 6, 2): _lo("protocol code meaning"),
    ("IPC", 6, 3): _lo("protocol coding scheme"),
    ("IPC", 9, 1): Rule("station AE title", "AE", 16),
}
_RULES_BY_SEGMENT: dict[str, list[tuple[int, int, Rule]]] = {}
for (_segment, _field, _component), _rule in VALUES.items():
    _RULES_BY_SEGMENT.setdefault(_segment, []).append((_field, _component, _rule))
_SMALLEST = min(rule.size for rule in VALUES.values())
_NAMES_BY_SEGMENT: dict[str, list[tuple[int, str, str]]] = {}
for (_segment, _field), (_what, _kind) in PERSON_NAMES.items():
    _NAMES_BY_SEGMENT.setdefault(_segment, []).append((_field, _what, _kind))
# Identifiers, codes and names take no control character at all; other
# fields (free text, what the RIS does not read) keep TAB, CR and LF.
_NO_CONTROLS = {(segment, number) for segment, number, _ in VALUES} | set(PERSON_NAMES)


def check_message(message_type: str, trigger_event: str, segments: list[Segment]) -> None:
    """Raise the first HL7Error (AE 102) for a value the RIS cannot take as it is."""
    if (message_type.upper(), trigger_event.upper()) not in READ_MESSAGES:
        return  # refused for its type or event (AR 200/201), whatever it holds
    check_group_count(segments)
    sequences: dict[str, int] = {}
    for segment in segments:
        sequence = sequences[segment.name] = sequences.get(segment.name, 0) + 1
        check_controls(segment, sequence)
        check_sizes(segment, sequence)


def check_group_count(segments: list[Segment]) -> None:
    """A message is applied in one transaction; on SQLite that transaction
    holds every other writer (each sender's next message) until it commits,
    so the number of order groups in one message is capped
    (RIS_HL7_MAX_ORDER_GROUPS): a larger one is refused, to be sent split."""
    limit = settings.RIS_HL7_MAX_ORDER_GROUPS
    orcs = [segment for segment in segments if segment.name == "ORC"]
    if limit and len(orcs) > limit:
        where = Location("ORC", limit + 1)
        reason = f"the message has {len(orcs)} ORC groups, more than the {limit} taken in one message; send them split"
        raise HL7Error(DATA_TYPE_ERROR, reason, where)


def check_controls(segment: Segment, sequence: int) -> None:
    """Control characters, as sent or escaped (`\\Xhh\\`), refused where they land."""
    if segment.delimiters.escape + "X" not in segment.text and not _ANY_CONTROL.search(segment.text):
        return  # the common case: nothing to look at closer
    for number, component, value in _values(segment):
        pattern = _ANY_CONTROL if (segment.name, number) in _NO_CONTROLS else _CONTROL
        if pattern.search(value):
            where = Location(segment.name, sequence, number, component)
            raise HL7Error(DATA_TYPE_ERROR, f"{_place(where)} contains a control character", where)


def check_sizes(segment: Segment, sequence: int) -> None:
    # Unescaping never lengthens a value, and a PN group is no longer than
    # the XPN/XCN it is read from: a field whose raw text fits needs no look.
    rules = _RULES_BY_SEGMENT.get(segment.name, ())
    if rules and len(segment.text) <= _SMALLEST:
        return
    for number, component, rule in rules:
        if len(segment.raw(number)) <= rule.size:
            continue
        for repetition in range(len(segment.repetitions(number))):
            value = segment.get(number, component, repetition=repetition)
            if value != CLEAR and len(value) > rule.size:
                where = Location(segment.name, sequence, number, component)
                raise HL7Error(DATA_TYPE_ERROR, rule.reason(_place(where)), where)
    for number, what, kind in _NAMES_BY_SEGMENT.get(segment.name, ()):
        if len(segment.raw(number)) > _PN_GROUP:
            _check_name(segment, sequence, number, what, kind)


def _check_name(segment: Segment, sequence: int, number: int, what: str, kind: str) -> None:
    read = xpn_to_pn if kind == "XPN" else xcn_to_pn
    for repetition in range(len(segment.repetitions(number))):
        if len(read(segment, number, repetition)) > _PN_GROUP:
            where = Location(segment.name, sequence, number)
            reason = f"{_place(where)} {what} is longer than {_PN_GROUP} characters per component group (DICOM PN)"
            raise HL7Error(DATA_TYPE_ERROR, reason, where)


def _values(segment: Segment) -> Iterator[tuple[int, int, str]]:
    """(field, component, unescaped value) of every sub-component of every field."""
    d = segment.delimiters
    first = 3 if segment.name == "MSH" else 1
    for number in range(first, segment.field_count):
        for repetition in segment.repetitions(number):
            for component, text in enumerate(repetition.split(d.component), start=1):
                for piece in text.split(d.subcomponent):
                    yield number, component, unescape(piece, d, segment.codec)


def _place(where: Location) -> str:
    text = f"{where.segment}-{where.field}"
    if where.component:
        text += f".{where.component}"
    return text if where.sequence == 1 else f"{text} (segment {where.sequence})"


def same_message(earlier: bytes, now: bytes) -> bool:
    """Whether a message under an applied control ID is a resend of it: the
    same segments, whatever their line ends, and MSH-7 (the time of the
    message, which some engines stamp anew on a resend) aside."""
    return _content(earlier) == _content(now)


def _content(raw: bytes) -> list[bytes]:
    data = raw.removeprefix(b"\xef\xbb\xbf").replace(b"\r\n", b"\r")
    lines = [line for line in data.replace(b"\n", b"\r").split(b"\r") if line.strip()]
    if lines and lines[0].startswith(b"MSH") and len(lines[0]) > 3:
        fields = lines[0].split(lines[0][3:4])
        lines[0] = lines[0][3:4].join(fields[:6] + fields[7:])
    return lines
