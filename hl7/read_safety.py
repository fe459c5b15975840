"""Safety screening values an order message carries, read into plain records.

OBX (HL7 2.5.1 7.4.2) in the order group: OBX-3 the observation (LOINC),
OBX-5 its value, OBX-6 units, OBX-14 when it was observed. AL1 (HL7 2.5.1
3.4.6) in the patient group: an allergy to contrast media. Observations and
allergies of other kinds are not safety screening and are left alone
(docs/hl7-interface.md lists what is read).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from hl7.datatypes import parse_dtm, site_zone, text
from hl7.er7 import Segment
from hl7.errors import DATA_TYPE_ERROR, HL7Error, Location
from hl7.read_message import ParsedMessage
from ris.records import SafetyData

# LOINC codes read from OBX-3.1 (any OBX-3.3 coding system naming LOINC, or none)
EGFR_CODES = frozenset({"33914-3", "62238-1", "98979-8", "48642-3", "48643-1", "69405-9", "50044-7"})
WEIGHT_CODES = frozenset({"29463-7", "3141-9"})
PREGNANCY_CODES = frozenset({"82810-3", "11449-6"})
# OBX-5 answers for pregnancy status: LOINC answer codes (LL4129-4) and plain words
PREGNANCY_ANSWERS = {
    "LA15173-0": "pregnant",
    "LA26683-5": "not-pregnant",
    "LA4489-6": "unknown",
    "pregnant": "pregnant",
    "not pregnant": "not-pregnant",
    "possible": "possible",
    "possibly pregnant": "possible",
    "unknown": "unknown",
    "y": "pregnant",
    "n": "not-pregnant",
}
# Units of weight (OBX-6.1, UCUM or plain) and their factor to kilograms
WEIGHT_UNITS = {
    "": Decimal(1),
    "kg": Decimal(1),
    "g": Decimal("0.001"),
    "[lb_av]": Decimal("0.45359237"),
    "lb": Decimal("0.45359237"),
}
# An AL1 is a contrast allergy when AL1-3 (code or text) names contrast media.
_CONTRAST = re.compile(r"contrast|iodin|iohexol|iopamidol|iodixanol|gadolin|gadobutrol|gadoterate", re.IGNORECASE)
_DELETED = {"D", "W", "X"}  # OBX-11 result status: deleted, wrong, cannot be obtained


def safety_from_message(message: ParsedMessage) -> tuple[SafetyData, ...]:
    """Every OBX and AL1 of the message that is safety screening, in order."""
    values: list[SafetyData] = []
    counts: dict[str, int] = {}
    for segment in message.segments:
        if segment.name not in ("OBX", "AL1"):
            continue
        counts[segment.name] = sequence = counts.get(segment.name, 0) + 1
        value = _from_obx(segment, sequence) if segment.name == "OBX" else _from_al1(segment)
        if value is not None:
            values.append(value)
    return tuple(values)


def _from_obx(obx: Segment, sequence: int) -> SafetyData | None:
    code = text(obx.get(3, 1))
    if not code or text(obx.get(11)).upper() in _DELETED:
        return None
    if code in EGFR_CODES:
        return SafetyData(item="EGFR", number=_number(obx, sequence), measured_on=_observed(obx, sequence))
    if code in WEIGHT_CODES:
        unit = text(obx.get(6, 1)).lower()
        factor = WEIGHT_UNITS.get(unit)
        if factor is None:
            raise HL7Error(DATA_TYPE_ERROR, f"weight unit {unit!r} is not kg, g or lb", Location("OBX", sequence, 6))
        number = _number(obx, sequence)
        return SafetyData(
            item="WEIGHT",
            number=float(round(Decimal(str(number)) * factor, 1)) if number is not None else None,
            measured_on=_observed(obx, sequence),
        )
    if code in PREGNANCY_CODES:
        answer = text(obx.get(5, 1)).strip()
        words = text(obx.get(5, 2)).strip().lower()
        value = PREGNANCY_ANSWERS.get(answer) or PREGNANCY_ANSWERS.get(answer.lower()) or PREGNANCY_ANSWERS.get(words)
        if value is None:
            raise HL7Error(DATA_TYPE_ERROR, f"pregnancy status {answer!r} is not known", Location("OBX", sequence, 5))
        return SafetyData(item="PREGNANCY", value=value)
    return None


def _number(obx: Segment, sequence: int) -> float | None:
    raw = text(obx.get(5, 1)).strip().lstrip("<>=")  # "<15" or ">90" as a laboratory writes it
    if not raw:
        return None
    try:
        return float(Decimal(raw))
    except InvalidOperation as exc:
        raise HL7Error(DATA_TYPE_ERROR, f"OBX-5 {raw!r} is not a number", Location("OBX", sequence, 5)) from exc


def _observed(obx: Segment, sequence: int) -> dt.date | None:
    when = parse_dtm(text(obx.get(14)), Location("OBX", sequence, 14))
    return when.astimezone(site_zone()).date() if when is not None else None


def _from_al1(al1: Segment) -> SafetyData | None:
    allergen = " ".join(part for part in (text(al1.get(3, 1)), text(al1.get(3, 2))) if part)
    if not _CONTRAST.search(allergen):
        return None
    reaction = text(al1.get(5))
    detail = f"{text(al1.get(3, 2)) or text(al1.get(3, 1))}{f': {reaction}' if reaction else ''}"
    return SafetyData(item="CONTRAST_ALLERGY", value="yes", detail=detail[:255])
