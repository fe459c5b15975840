"""Worklist responses to bytes, Little Endian (PS3.5 7.1, 7.5), without
pydicom's general writer on the hot path.

A C-FIND response holds only text values and sequences, in one character
set that is not ISO 2022 (the default UTF-8, Latin-1, ASCII, Cyrillic,
Greek): for those each element is a header packed with `struct` and a value
encoded with Python's codec, sequences and items in undefined length with
their delimiters (PS3.5 7.5.2). Anything else (ISO 2022 code extensions,
binary or multi-valued values, Big Endian, deflate) returns None and is
encoded by pydicom.
"""

from __future__ import annotations

import struct

from pydicom.charset import python_encoding
from pydicom.dataset import Dataset
from pydicom.valuerep import PersonName

from worklist.charsets import TEXT_VRS as FITTED_VRS
from worklist.charsets import UTF8, declare_fit, fit_value, terms
from worklist.response import SPECIFIC_CHARACTER_SET, Codes, Context, Entry, ResponsePlan, Row, entry_value

TEXT_VRS = frozenset(
    {"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UI", "UR", "UT"}
)
# VRs whose values the Specific Character Set applies to (PS3.5 6.1.2.3); the others are ASCII.
SPECIFIC_VRS = frozenset({"LO", "LT", "PN", "SH", "ST", "UC", "UT"})
# Explicit VR with a 4-byte length (PS3.5 Table 7.1-1)
LONG_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"})
UNDEFINED = 0xFFFFFFFF
ITEM = struct.pack("<HHL", 0xFFFE, 0xE000, UNDEFINED)
ITEM_END = struct.pack("<HHL", 0xFFFE, 0xE00D, 0)
SEQUENCE_END = struct.pack("<HHL", 0xFFFE, 0xE0DD, 0)
IMPLICIT = struct.Struct("<HHL")
SHORT = struct.Struct("<HH2sH")
LONG = struct.Struct("<HH2s2xL")


class _Unsupported(Exception):
    pass


def encode_response(ds: Dataset, *, implicit: bool) -> bytes | None:
    """The data set's bytes in Implicit or Explicit VR Little Endian, or None
    when it holds something only pydicom's writer encodes."""
    codec = _codec(ds.get("SpecificCharacterSet", ""))
    if codec is None:
        return None
    out: list[bytes] = []
    try:
        _write(ds, implicit, codec, out)
    except (_Unsupported, UnicodeError):
        return None
    return b"".join(out)


def _codec(declared: object) -> str | None:
    if not isinstance(declared, str):
        return None  # several values: ISO 2022 code extensions
    term = declared.strip() or "ISO_IR 6"
    if "2022" in term:
        return None
    return "ascii" if term == "ISO_IR 6" else python_encoding.get(term)


def _write(ds: Dataset, implicit: bool, codec: str, out: list[bytes]) -> None:
    for element in ds:
        tag, vr = element.tag, element.VR
        if vr == "SQ":
            out.append(_header(tag, vr, UNDEFINED, implicit))
            for item in element.value or ():
                out.append(ITEM)
                _write(item, implicit, codec, out)
                out.append(ITEM_END)
            out.append(SEQUENCE_END)
            continue
        data = _value(vr, element.value, codec)
        out.append(_header(tag, vr, len(data), implicit))
        out.append(data)


def _value(vr: str, value: object, codec: str) -> bytes:
    if value is None or value == "":
        return b""
    if vr not in TEXT_VRS or not isinstance(value, (str, PersonName)):
        raise _Unsupported(vr)
    data = str(value).encode(codec if vr in SPECIFIC_VRS else "ascii")
    if len(data) % 2:
        data += b"\x00" if vr == "UI" else b" "  # PS3.5 6.2: padded to an even length
    return data


def _header(tag: int, vr: str, length: int, implicit: bool) -> bytes:
    group, element = tag >> 16, tag & 0xFFFF
    if implicit:
        return IMPLICIT.pack(group, element, length)
    if vr in LONG_VRS:
        return LONG.pack(group, element, vr.encode(), length)
    if length > 0xFFFF:
        raise _Unsupported("value too long for its VR")
    return SHORT.pack(group, element, vr.encode(), length)


def encode_row(plan: ResponsePlan, row: Row, ctx: Context, *, implicit: bool) -> bytes | None:
    """One worklist row straight from the response plan to bytes: the same
    elements and values `plan.build` would give (then fitted to the character
    set by `charsets.declare`), without a pydicom Dataset in between. None
    when only the general path can encode it."""
    values = terms(plan.character_set)
    codec = _codec(values[0]) if len(values) == 1 else None
    if codec is None or (plan.entries and plan.entries[0].tag < SPECIFIC_CHARACTER_SET):
        return None
    declared = _value("CS", values[0], "ascii")
    out = [_header(SPECIFIC_CHARACTER_SET, "CS", len(declared), implicit), declared]
    fit = None if plan.character_set == UTF8 else plan.character_set  # UTF-8 carries every value
    try:
        _entries(plan.entries, row, ctx, implicit, codec, fit, out)
    except (_Unsupported, UnicodeError):
        return None
    return b"".join(out)


def _entries(
    entries: list[Entry], row: Row, ctx: Context, implicit: bool, codec: str, fit: str | None, out: list[bytes]
) -> None:
    for entry in entries:
        if entry.item is not None:  # the one SPS item (PS3.4 K.6.1.2.2)
            out += [_header(entry.tag, "SQ", UNDEFINED, implicit), ITEM]
            _entries(entry.item, row, ctx, implicit, codec, fit, out)
            out += [ITEM_END, SEQUENCE_END]
        elif isinstance(entry.source, Codes):
            out.append(_code_sequence(entry, entry.source.values(row), implicit, codec, fit))
        elif entry.vr == "SQ":
            value = entry_value(entry, row, ctx)
            out.append(_header(entry.tag, "SQ", UNDEFINED, implicit))
            for item in value or ():
                if fit is not None:
                    declare_fit(item, fit)
                out.append(ITEM)
                _write(item, implicit, codec, out)
                out.append(ITEM_END)
            out.append(SEQUENCE_END)
        else:
            value = entry_value(entry, row, ctx)
            if fit is not None and entry.vr in FITTED_VRS and value:
                value = fit_value(entry.vr, value, fit)
            data = _value(entry.vr, value, codec)
            out += [_header(entry.tag, entry.vr, len(data), implicit), data]


# (Code Value, Coding Scheme Designator, Code Meaning): the item of a code sequence (PS3.3 8.8)
CODE_ITEM = ((0x00080100, "SH"), (0x00080102, "SH"), (0x00080104, "LO"))
_code_cache: dict[tuple[object, ...], bytes] = {}


def _code_sequence(
    entry: Entry, values: tuple[str, str, str] | None, implicit: bool, codec: str, fit: str | None
) -> bytes:
    """A code sequence's bytes, as `_write` gives them for the item `Codes`
    builds (the keys asked inside it only, fitted to the character set);
    the same few codes recur on every row: each is encoded once."""
    keys = tuple(entry.item_keys) if entry.item_keys else None
    cache_key = (entry.tag, keys, values, implicit, codec, fit)
    encoded = _code_cache.get(cache_key)
    if encoded is not None:
        return encoded
    parts = [_header(entry.tag, "SQ", UNDEFINED, implicit)]
    if values is not None:
        present = {tag: (vr, value) for (tag, vr), value in zip(CODE_ITEM, values, strict=True)}
        if keys is not None:  # only what was asked, zero-length when we hold nothing (response._only)
            present = {tag: present.get(tag, (vr, "")) for tag, vr in keys}
        parts.append(ITEM)
        for tag in sorted(present):
            vr, value = present[tag]
            if fit is not None and vr in FITTED_VRS and value:
                value = str(fit_value(vr, value, fit))
            data = _value(vr, value, codec)
            parts += [_header(tag, vr, len(data), implicit), data]
        parts.append(ITEM_END)
    parts.append(SEQUENCE_END)
    encoded = b"".join(parts)
    if len(_code_cache) >= 4096:
        _code_cache.clear()
    _code_cache[cache_key] = encoded
    return encoded
