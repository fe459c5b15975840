"""Pseudonyms, date shifts and free-text scrubbing for the research export
(PS3.15 Annex E), as plain values: no database, no wire format.

Every value is keyed by the site secret (HMAC-SHA256), so one patient has
one pseudonym and one date offset in every export of the site, and no one
without the secret can recompute them from the source identifiers."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

# PS3.16 CID 7050 De-identification Method codes (DCM)
BASIC_PROFILE = ("113100", "Basic Application Confidentiality Profile")
CLEAN_STRUCTURED_CONTENT = ("113104", "Clean Structured Content Option")
CLEAN_DESCRIPTORS = ("113105", "Clean Descriptors Option")
RETAIN_DATES_MODIFIED = ("113107", "Retain Longitudinal Temporal Information Modified Dates Option")
MAX_SHIFT_DAYS = 3650


@dataclass(frozen=True)
class ExportOptions:
    """The Annex E options a research export applies on top of the Basic Profile."""

    retain_dates_modified: bool = True  # dates shifted per patient; else removed
    clean_descriptors: bool = False  # descriptions kept, scrubbed; else removed

    def methods(self) -> list[tuple[str, str]]:
        chosen = [BASIC_PROFILE, CLEAN_STRUCTURED_CONTENT]
        if self.retain_dates_modified:
            chosen.append(RETAIN_DATES_MODIFIED)
        if self.clean_descriptors:
            chosen.append(CLEAN_DESCRIPTORS)
        return chosen


class Keys:
    """The site's keyed pseudonyms and UIDs."""

    def __init__(self, secret: str):
        self._secret = secret.encode()

    def digest(self, purpose: str, value: str) -> bytes:
        return hmac.new(self._secret, f"{purpose}\x00{value}".encode(), hashlib.sha256).digest()

    def patient(self, issuer: str, patient_id: str) -> str:
        return "R" + self.digest("patient", f"{issuer}\x00{patient_id}").hex()[:12].upper()

    def accession(self, accession: str) -> str:
        return "A" + self.digest("accession", accession).hex()[:12].upper() if accession else ""

    def uid(self, uid: str) -> str:
        """A UID from a UUID-derived root (PS3.5 B.2), the same for the same source UID."""
        return f"2.25.{int.from_bytes(self.digest('uid', uid)[:16], 'big')}" if uid else ""

    def shift_days(self, issuer: str, patient_id: str) -> int:
        """How many days this patient's dates move back: 1 to MAX_SHIFT_DAYS, always the same."""
        return 1 + int.from_bytes(self.digest("shift", f"{issuer}\x00{patient_id}")[:4], "big") % MAX_SHIFT_DAYS


_GENERIC_DATE = re.compile(
    r"\b(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|(19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01]))\b"
)
_LONG_NUMBER = re.compile(r"\b\d{6,}\b")


@dataclass
class PatientKey:
    """What the export knows of one patient: the replacements and what to scrub."""

    pseudonym: str
    shift: dt.timedelta
    options: ExportOptions
    keys: Keys
    words: set[str] = field(default_factory=set)  # names, identifiers: replaced wherever they occur
    dates: set[dt.date] = field(default_factory=set)  # birth and exam dates, in every common spelling

    def date(self, value: dt.date | None) -> dt.date | None:
        if value is None or not self.options.retain_dates_modified:
            return None
        return value - self.shift

    def moment(self, value: dt.datetime | None) -> dt.datetime | None:
        if value is None or not self.options.retain_dates_modified:
            return None
        return value - self.shift

    def know(self, *values: str) -> None:
        for value in values:
            for part in re.split(r"[\^=\s,]+", value or ""):
                if len(part) >= 2:
                    self.words.add(part)
            if value and len(value) >= 2:
                self.words.add(value)

    def scrub(self, text: str) -> str:
        """Free text without the patient's names, identifiers and dates, and without
        anything else that looks like a date or an identifier."""
        if not text:
            return ""
        for day in self.dates:
            text = re.sub("|".join(re.escape(s) for s in _spellings(day)), "[DATE]", text)
        for word in sorted(self.words, key=len, reverse=True):
            text = re.sub(rf"(?<!\w){re.escape(word)}(?!\w)", "[REMOVED]", text, flags=re.IGNORECASE)
        text = _GENERIC_DATE.sub("[DATE]", text)
        return _LONG_NUMBER.sub("[ID]", text)


def _spellings(day: dt.date) -> Iterable[str]:
    d, m, y = day.day, day.month, day.year
    return {
        day.isoformat(),
        day.strftime("%Y%m%d"),
        f"{d:02}.{m:02}.{y}",
        f"{d}.{m}.{y}",
        f"{d:02}/{m:02}/{y}",
        f"{m:02}/{d:02}/{y}",
        f"{d}/{m}/{y}",
        f"{m}/{d}/{y}",
        f"{d:02}-{m:02}-{y}",
    }
