"""The keys of a worklist identifier checked against their VR before any
database work (PS3.5 6.2, Table 6.2-1).

Which status a bad identifier gets (PS3.4 C.4.1.1.4, K.4.1.1.4):
- A900 "Identifier does not match SOP Class": the identifier is not shaped
  like the Modality Worklist information model, for example the Scheduled
  Procedure Step Sequence (0040,0100) sent with another VR than SQ.
- C000 "Unable to process": the shape is right but a value breaks the rules
  of its VR (longer than the VR allows, a date that is no date) or cannot be
  decoded in the identifier's Specific Character Set (invalid UTF-8 under
  ISO_IR 192, an escape sequence the character set does not declare). The
  SCP cannot process such a value; it is the peer's fault, so never A700
  "Out of resources" (which says the SCP is short of something).

The raw bytes are read as received (pydicom decodes lazily): its own decoding
replaces what it cannot decode, which would answer a query nobody asked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from pydicom.charset import CODES_TO_ENCODINGS, ESC, convert_encodings, default_encoding, handled_encodings
from pydicom.datadict import dictionary_VR, keyword_for_tag
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence as DicomSequence
from pydicom.tag import BaseTag, Tag
from pydicom.valuerep import CUSTOMIZABLE_CHARSET_VR, PN_DELIMS, TEXT_VR_DELIMS

from worklist.matching import InvalidKey, match_date_and_time, match_time_of_day

SPS_SEQUENCE = Tag("ScheduledProcedureStepSequence")
SPECIFIC_CHARACTER_SET = Tag("SpecificCharacterSet")
# (FFFE,E000) Item, little endian: how an implicit VR sequence value starts (PS3.5 7.5)
ITEM_TAG_LE = b"\xfe\xff\x00\xe0"

# PS3.5 Table 6.2-1: the longest value of each VR, in characters; a range
# key of DA, TM and DT may be two values and a hyphen (PS3.4 C.2.2.2.5).
# (pydicom's validate_value checks the repertoire too, and so refuses the
# `*` and `?` a query key may carry in CS or AE.)
MAX_LENGTH = {
    "AE": 16,
    "AS": 4,
    "CS": 16,
    "DA": 18,
    "DS": 16,
    "DT": 54,
    "IS": 12,
    "LO": 64,
    "LT": 10240,
    "PN": 64,  # per component group
    "SH": 16,
    "ST": 1024,
    "TM": 28,
    "UI": 64,
    "UC": 65536,  # unlimited by the standard; no worklist key needs more
    "UR": 65536,
    "UT": 65536,
}
_FRAGMENTS = re.compile(b"(^[^\x1b]+|[\x1b][^\x1b]*)")


class IdentifierMismatch(InvalidKey):
    """An identifier shaped for another information model (answered A900)."""


class UndecodableKey(InvalidKey):
    """A key value that is not text in the identifier's character set (C000)."""


def check_identifier(identifier: Dataset) -> None:
    """Raises IdentifierMismatch or InvalidKey for the first key that is wrong."""
    character_set = _character_set(identifier)
    for tag, element in _elements(identifier):
        if tag == SPS_SEQUENCE:
            for item in _step_items(identifier, element):
                _check_keys(item, character_set, prefix="ScheduledProcedureStepSequence/")
        else:
            _check_key(tag, element, character_set)


def _check_keys(dataset: Dataset, character_set: list[str], prefix: str = "") -> None:
    for tag, element in _elements(dataset):
        _check_key(tag, element, character_set, prefix)


def _elements(dataset: Dataset) -> Iterator[tuple[BaseTag, DataElement | RawDataElement]]:
    """Each element as stored: raw (bytes as received) until something read it."""
    for tag in list(dataset.keys()):
        yield tag, dataset.get_item(tag)


def _step_items(identifier: Dataset, element: DataElement | RawDataElement) -> list[Dataset]:
    """The SPS items, once sure the element is a sequence (PS3.4 K.6.1.2.2)."""
    vr = element.VR
    if vr is not None and vr != "SQ":
        raise IdentifierMismatch(f"Scheduled Procedure Step Sequence sent as {vr}, not SQ")
    if isinstance(element, RawDataElement) and vr is None:
        value = element.value or b""
        if value and element.length != 0xFFFFFFFF and not value.startswith(ITEM_TAG_LE):
            raise IdentifierMismatch("Scheduled Procedure Step Sequence holds no sequence items")
    try:
        items = identifier["ScheduledProcedureStepSequence"].value
    except Exception as exc:  # pydicom cannot read the value as a sequence
        raise IdentifierMismatch(f"Scheduled Procedure Step Sequence is not a sequence: {exc}") from None
    if not isinstance(items, DicomSequence):
        raise IdentifierMismatch("Scheduled Procedure Step Sequence is not a sequence")
    return list(items)


def _check_key(tag: BaseTag, element: DataElement | RawDataElement, character_set: list[str], prefix: str = "") -> None:
    vr = element.VR or _dictionary_vr(tag)
    if vr in ("SQ", "UN", "OB", "OW", "OF", "OD", "OL", "OV") or tag == SPECIFIC_CHARACTER_SET:
        return
    name = prefix + (_keyword(tag) or str(tag))
    text = _text(element, vr, character_set, name)
    for value in text.split("\\"):
        _check_length(name, vr, value.rstrip(" \x00"))
    if vr in ("DA", "TM") and text.strip():
        _check_form(vr, text.strip())


def _text(element: DataElement | RawDataElement, vr: str, character_set: list[str], name: str) -> str:
    value = element.value
    if isinstance(element, RawDataElement) or isinstance(value, bytes):
        return decode_key(value or b"", vr, character_set, name)
    if value is None:
        return ""
    if isinstance(value, MultiValue | list | tuple):
        return "\\".join(str(v) for v in value)
    return str(value)


def decode_key(raw: bytes, vr: str, character_set: list[str], name: str = "key") -> str:
    """The value as text, strictly: an undecodable byte is refused, not replaced."""
    try:
        if vr not in CUSTOMIZABLE_CHARSET_VR:
            return raw.decode("ascii")  # the default repertoire (PS3.5 6.1.2.1)
        return _decode_strict(raw, convert_encodings(character_set), PN_DELIMS if vr == "PN" else TEXT_VR_DELIMS)
    except (UnicodeError, LookupError, ValueError) as exc:
        declared = "\\".join(character_set) or "ASCII"
        raise UndecodableKey(f"{name} cannot be decoded in {declared}: {exc}") from None


def _decode_strict(raw: bytes, encodings: list[str], delimiters: set[int]) -> str:
    """pydicom's decoding (PS3.5 6.1.2.4-5) without its replacement characters."""
    if ESC not in raw:
        return raw.decode(encodings[0])
    return "".join(_decode_fragment(fragment, encodings, delimiters) for fragment in _FRAGMENTS.findall(raw))


def _decode_fragment(fragment: bytes, encodings: list[str], delimiters: set[int]) -> str:
    if not fragment.startswith(ESC):
        return fragment.decode(encodings[0])
    length = 4 if fragment.startswith((b"\x1b$(", b"\x1b$)")) else 3
    encoding = CODES_TO_ENCODINGS.get(fragment[:length], "")
    if encoding not in encodings and encoding != default_encoding:
        raise ValueError(f"escape sequence {fragment[:length]!r} is not of the declared character set")
    if encoding in handled_encodings:  # Python's codecs read their own escape sequences
        return fragment.decode(encoding)
    body = fragment[length:]
    cut = next((i for i, byte in enumerate(body) if byte in delimiters), len(body))
    return body[:cut].decode(encoding) + body[cut:].decode(encodings[0])


def _check_length(name: str, vr: str, value: str) -> None:
    limit = MAX_LENGTH.get(vr)
    if limit is None:
        return
    parts = value.split("=") if vr == "PN" else [value]
    if len(parts) > 3 or any(len(part) > limit for part in parts):
        unit = " per component group" if vr == "PN" else ""
        raise InvalidKey(f"{name} is longer than {vr} allows ({limit} characters{unit})")


def _check_form(vr: str, value: str) -> None:
    """DA and TM keys: a value or a range of the VR's form (PS3.5 6.2, PS3.4 C.2.2.2.5)."""
    if vr == "DA":
        match_date_and_time("start", value, "")
    else:
        match_time_of_day("start", value)


def _character_set(identifier: Dataset) -> list[str]:
    """(0008,0005) as its values; absent means the default repertoire."""
    if SPECIFIC_CHARACTER_SET not in identifier:
        return [""]
    element = identifier.get_item(SPECIFIC_CHARACTER_SET)
    value = element.value
    if isinstance(value, bytes):
        try:
            value = value.decode("ascii")
        except UnicodeError:
            raise UndecodableKey("Specific Character Set is not ASCII") from None
        return [term.strip() for term in value.split("\\")] or [""]
    if isinstance(value, MultiValue | list | tuple):
        return [str(term).strip() for term in value]
    return [str(value or "").strip()]


def _dictionary_vr(tag: BaseTag) -> str:
    try:
        return str(dictionary_VR(tag))
    except KeyError:
        return "UN"


def _keyword(tag: BaseTag) -> str:
    return str(keyword_for_tag(tag))
