"""Specific Character Set (0008,0005) of worklist responses (PS3.5 6.1).

Each calling AE is answered in its configured set (UTF-8 by default). A
value the set cannot carry degrades instead of failing the response:
ideographic and phonetic name groups that do not fit are dropped, accents
are stripped where the set lacks the letter (ISO_IR 100 has no Ř: DVOŘÁK becomes
DVORÁK), and any character still left over
becomes `?`.
"""

from __future__ import annotations

import functools
import unicodedata

from pydicom.charset import convert_encodings
from pydicom.dataset import Dataset
from pydicom.valuerep import PersonName

UTF8 = "ISO_IR 192"
TEXT_VRS = ("PN", "LO", "SH", "LT", "ST", "UT", "UC")


def terms(character_set: str) -> list[str]:
    """`\\ISO 2022 IR 87` (as configured) to its values ['', 'ISO 2022 IR 87']."""
    return character_set.split("\\") if character_set else [""]


def declare(ds: Dataset, character_set: str) -> None:
    """Set (0008,0005) and make every text value fit it."""
    values = terms(character_set)
    ds.SpecificCharacterSet = values if len(values) > 1 else values[0]
    if character_set != UTF8:
        for element in ds.iterall():
            if element.VR in TEXT_VRS and element.value:
                element.value = _fit(element.VR, element.value, character_set)


def declare_fit(ds: Dataset, character_set: str) -> None:
    """Make every text value of `ds` fit the set."""
    if character_set != UTF8:
        for element in ds.iterall():
            if element.VR in TEXT_VRS and element.value:
                element.value = _fit(element.VR, element.value, character_set)


def fit_value(vr: str, value: object, character_set: str) -> object:
    return _fit(vr, value, character_set)


def _fit(vr: str, value: object, character_set: str) -> object:
    if isinstance(value, (list, tuple)) or not isinstance(value, (str, PersonName)):
        return value
    text = str(value)
    if fits(text, character_set):
        return value
    if vr == "PN":
        return _fit_name(text, character_set)
    return degrade(text, character_set)


def _fit_name(text: str, character_set: str) -> str:
    alphabetic, *others = text.split("=")
    kept = [degrade(alphabetic, character_set)]
    kept += [group if fits(group, character_set) else "" for group in others]
    return "=".join(kept).rstrip("=")


def degrade(text: str, character_set: str) -> str:
    """Each character the set cannot carry: without its accents, else `?`."""
    return "".join(c if _char_fits(c, character_set) else _without_accents(c, character_set) for c in text)


def _without_accents(char: str, character_set: str) -> str:
    base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    return base if base and fits(base, character_set) else "?"


def fits(text: str, character_set: str) -> bool:
    return all(_char_fits(c, character_set) for c in set(text))


@functools.lru_cache(maxsize=4096)
def _char_fits(char: str, character_set: str) -> bool:
    if char.isascii():
        return True
    for encoding in _encodings(character_set):
        try:
            char.encode(encoding)
            return True
        except UnicodeError:
            continue
    return False


@functools.lru_cache(maxsize=64)
def _encodings(character_set: str) -> tuple[str, ...]:
    return tuple(e for e in convert_encodings(terms(character_set)) if e not in ("iso8859", "ascii"))
