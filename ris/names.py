"""A person's name as the domain holds it: DICOM PN (PS3.5 6.2, 6.2.1).

A PN value has up to three component groups separated by `=`: alphabetic,
ideographic and phonetic (`Yamada^Tarou=山田^太郎=やまだ^たろう`). Each group has
five components separated by `^`: family, given, middle, prefix, suffix.
Stored values keep this form; the doors turn it into theirs:

- HL7 XPN/XCN (hl7/writer.py, hl7/datatypes.py) carry one group per
  repetition: the alphabetic group unless the ideographic or phonetic one is
  asked, with components 4 and 5 swapped (HL7 family^given^middle^suffix^prefix).
- FHIR HumanName (fhir/builders.py) is built from the alphabetic group; its
  `text` is `display()` of that group.
- Pages (web/templatetags/names.py) show `display()`: the alphabetic group as
  "FAMILY, GIVEN MIDDLE", the ideographic group after it in parentheses.
- The DICOM door sends the whole value (`to_dicom()`).

People search names through `search_text()`: every component of every group,
casefolded and without accents (NFKD, combining marks dropped), ideographic
characters kept, so "Müller", "MULLER" and "muller" are one search and 山田
finds 山田. The patient keeps it in its own indexed column.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

# PS3.5 Table 6.2-1: a PN value holds at most 64 characters per component group.
PN_GROUP_MAX = 64
# Characters a component cannot hold: the PN delimiters (PS3.5 6.2.1) and the
# backslash that separates values of a multi-valued element (PS3.5 6.4).
PN_DELIMITERS = "^=\\"

GroupName = Literal["alphabetic", "ideographic", "phonetic"]


@dataclass(frozen=True)
class NameGroup:
    """One component group of a PN value."""

    family: str = ""
    given: str = ""
    middle: str = ""
    prefix: str = ""
    suffix: str = ""

    @classmethod
    def from_dicom(cls, text: str) -> NameGroup:
        family, given, middle, prefix, suffix = ([*text.split("^"), "", "", "", ""])[:5]
        return cls(family, given, middle, prefix, suffix)

    def to_dicom(self) -> str:
        """Components joined by `^`, trailing empty ones dropped (PS3.5 6.2)."""
        return "^".join((self.family, self.given, self.middle, self.prefix, self.suffix)).rstrip("^")

    def __bool__(self) -> bool:
        return any((self.family, self.given, self.middle, self.prefix, self.suffix))

    @property
    def components(self) -> tuple[str, str, str, str, str]:
        return (self.family, self.given, self.middle, self.prefix, self.suffix)

    @property
    def given_names(self) -> list[str]:
        """Given and middle names, in order, the empty ones left out."""
        return [name for name in (self.given, self.middle) if name]

    def display(self, separator: str = ", ") -> str:
        """'FAMILY, Prefix Given Middle, Suffix', the parts that are there."""
        first = " ".join(part for part in (self.prefix, *self.given_names) if part)
        shown = separator.join(part for part in (self.family, first) if part)
        return f"{shown}, {self.suffix}" if self.suffix and shown else shown or self.suffix


@dataclass(frozen=True)
class PersonName:
    """A DICOM PN value: its three component groups."""

    alphabetic: NameGroup = NameGroup()
    ideographic: NameGroup = NameGroup()
    phonetic: NameGroup = NameGroup()

    @classmethod
    def from_dicom(cls, value: str) -> PersonName:
        """From `A^B^C^D^E=ideographic=phonetic`; missing groups are empty."""
        alphabetic, ideographic, phonetic = ([*value.split("="), "", ""])[:3]
        return cls(NameGroup.from_dicom(alphabetic), NameGroup.from_dicom(ideographic), NameGroup.from_dicom(phonetic))

    @classmethod
    def from_groups(cls, alphabetic: str, ideographic: str = "", phonetic: str = "") -> PersonName:
        """From groups stored apart (the patient's three name columns)."""
        return cls(NameGroup.from_dicom(alphabetic), NameGroup.from_dicom(ideographic), NameGroup.from_dicom(phonetic))

    def to_dicom(self) -> str:
        """The PN value, trailing empty groups dropped."""
        groups = (self.alphabetic.to_dicom(), self.ideographic.to_dicom(), self.phonetic.to_dicom())
        return "=".join(groups).rstrip("=")

    def __bool__(self) -> bool:
        return bool(self.alphabetic or self.ideographic or self.phonetic)

    def group(self, name: GroupName = "alphabetic") -> NameGroup:
        return {"alphabetic": self.alphabetic, "ideographic": self.ideographic, "phonetic": self.phonetic}[name]

    def search_text(self) -> str:
        """Every component of every group, normalised for search (see the module)."""
        groups = (self.alphabetic, self.ideographic, self.phonetic)
        return " ".join(search_words(" ".join(part for group in groups for part in group.components)))

    def display(self) -> str:
        """For people: 'DOE, JANE'; an ideographic group follows in parentheses
        ('YAMADA, TAROU (山田 太郎)'); a name with only that group shows it alone."""
        alphabetic, ideographic = self.alphabetic.display(), self.ideographic.display(separator=" ")
        if alphabetic and ideographic:
            return f"{alphabetic} ({ideographic})"
        return alphabetic or ideographic or self.phonetic.display(separator=" ")


def fold(text: str) -> str:
    """Casefolded, compatibility-decomposed (NFKD) and without combining marks:
    'José' -> 'jose', 'MÜLLER' -> 'muller', 'Straße' -> 'strasse'; ideographs stay."""
    if text.isascii():  # nothing to decompose, no combining mark: the common case, at once
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


# What separates words: neither a letter nor a digit (`str.isalnum`; \w is that and `_`), nor ' or -.
_NOT_IN_WORDS = re.compile(r"[^\w'-]|_")


def search_words(text: str) -> list[str]:
    """The folded words of what a person typed, punctuation and PN delimiters as spaces."""
    return _NOT_IN_WORDS.sub(" ", fold(text)).split()


def group_problem(label: str, group: NameGroup) -> str:
    """Why a component group cannot be stored as DICOM PN, or ''."""
    for part in group.components:
        if any(char in PN_DELIMITERS for char in part):
            return f"{label} cannot contain ^, = or \\"
        if any(unicodedata.category(char) == "Cc" for char in part):
            return f"{label} cannot contain control characters"
    length = len(group.to_dicom())
    if length > PN_GROUP_MAX:
        return f"{label} is {length} characters long as a DICOM name; at most {PN_GROUP_MAX} fit (PS3.5 6.2)"
    return ""
