"""Writing HL7 v2 (ER7): segments by field number, values escaped, times, MSH.

Every message the RIS sends is built with these pieces: the ACKs
(hl7/write_ack.py), ORU^R01 (hl7/write_oru.py) and the order status messages
(hl7/write_order_status.py). Values are escaped with the delimiters of the
message being written (an ACK uses those of the message it answers);
helpers that return encoded text (`components`, `xpn`...) are set with
`SegmentBuilder.put`, plain values with `SegmentBuilder.set`.

Person names go out through the domain's PersonName (ris/names.py): XPN
and XCN carry the alphabetic group unless another is asked, components 4
and 5 swapped from DICOM's order (HL7 family^given^middle^suffix^prefix).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.utils import timezone

from hl7.datatypes import site_zone
from hl7.er7 import Delimiters, escape
from ris.models import Patient, RequestedProcedure
from ris.names import GroupName, PersonName

DEFAULT = Delimiters()
UTF8 = "UNICODE UTF-8"  # MSH-18, HL7 table 0211; what hl7/client.py sends


class SegmentBuilder:
    """One segment, fields set by their HL7 number (MSH-1 is the field
    separator, so an MSH's first settable field is MSH-2... set by `msh`)."""

    def __init__(self, name: str, delimiters: Delimiters = DEFAULT) -> None:
        self.name = name
        self.delimiters = delimiters
        self._fields: dict[int, str] = {}

    def set(self, number: int, *values: str) -> SegmentBuilder:
        """Field `number` from plain values, one per component, each escaped."""
        return self.put(number, components(*values, d=self.delimiters))

    def put(self, number: int, encoded: str) -> SegmentBuilder:
        """Field `number` from text already encoded (escaped, with its own delimiters)."""
        self._fields[number] = encoded
        return self

    def repeat(self, number: int, encoded: Iterable[str]) -> SegmentBuilder:
        """Field `number` as repetitions, each already encoded."""
        return self.put(number, self.delimiters.repetition.join(encoded))

    def text(self) -> str:
        """The segment, trailing empty fields dropped."""
        first = 2 if self.name == "MSH" else 1
        last = max(self._fields, default=0)
        values = [self._fields.get(n, "") for n in range(first, last + 1)]
        return self.delimiters.field.join([self.name, *values]).rstrip(self.delimiters.field)


def components(*values: str, d: Delimiters = DEFAULT) -> str:
    """Plain values escaped and joined as components, trailing empty ones dropped."""
    return d.component.join(escape(v or "", d) for v in values).rstrip(d.component)


def subcomponents(*values: str, d: Delimiters = DEFAULT) -> str:
    """Plain values escaped and joined as sub-components, trailing empty ones dropped."""
    return d.subcomponent.join(escape(v or "", d) for v in values).rstrip(d.subcomponent)


def message(segments: Iterable[str]) -> str:
    """Segments joined, each ending with CR (no MLLP framing)."""
    return "".join(segment + "\r" for segment in segments)


def utf8_message(msh: SegmentBuilder, body: Sequence[str]) -> str:
    """A message sent as UTF-8: MSH-18 names the set when the text is not plain ASCII."""
    if not (msh.text().isascii() and all(segment.isascii() for segment in body)):
        msh.put(18, UTF8)
    return message([msh.text(), *body])


# Times (HL7 2.5.1 2.A.74 TS/DTM, 2.A.21 DT): the site's wall clock with its offset.


def hl7_time(moment: dt.datetime | None) -> str:
    """DTM to the second with the UTC offset, in the site time zone; '' for none."""
    if not moment:
        return ""
    return _second_text(math.floor(moment.timestamp()), site_zone())


@functools.lru_cache(maxsize=8)
def _second_text(second: int, zone: dt.tzinfo) -> str:
    """One second's DTM: every ACK of that second is stamped with it (the
    conversion and formatting cost more than the rest of the ACK's MSH)."""
    return dt.datetime.fromtimestamp(second, zone).strftime("%Y%m%d%H%M%S%z")


def hl7_date(day: dt.date | None) -> str:
    return day.strftime("%Y%m%d") if day else ""


# Versions (MSH-12): compared by number, so 2.10 comes after 2.5.

_NUMBER = re.compile(r"\d+")


def version_at_least(version: str, minimum: str) -> bool:
    """Whether `version` is `minimum` or later; a version that is not a
    dotted number counts as recent (the current forms are sent)."""
    parts = version.strip().split(".")
    if not all(_NUMBER.fullmatch(part) for part in parts):
        return True
    return tuple(int(p) for p in parts) >= tuple(int(p) for p in minimum.split("."))


# MSH (HL7 2.5.1 2.14.9)


def msh(
    *,
    message_type: Sequence[str],
    control_id: str,
    version: str,
    receiving_application: Sequence[str] = (),
    receiving_facility: Sequence[str] = (),
    processing_id: str = "P",
    charset: str = "",
    delimiters: Delimiters = DEFAULT,
) -> SegmentBuilder:
    """The header of a message the RIS writes, sent now.

    MSH-3/4 are the RIS (settings RIS_HL7_APPLICATION, RIS_HL7_FACILITY);
    MSH-5/6 the receiver as HD components; MSH-9 the message type's
    components; MSH-18 `charset` as encoded (e.g. an ACK echoes the
    request's own field)."""
    d = delimiters
    header = SegmentBuilder("MSH", d).put(2, d.encoding_characters)
    header.set(3, settings.RIS_HL7_APPLICATION).set(4, settings.RIS_HL7_FACILITY)
    header.set(5, *receiving_application).set(6, *receiving_facility)
    header.put(7, hl7_time(timezone.now())).set(9, *message_type).set(10, control_id)
    header.set(11, processing_id).set(12, version)
    if charset:
        header.put(18, charset)
    return header


# Data types built from domain values


def xpn(name: PersonName, d: Delimiters = DEFAULT, group: GroupName = "alphabetic") -> str:
    """XPN family^given^middle^suffix^prefix from one group of a PN."""
    g = name.group(group)
    return components(g.family, g.given, g.middle, g.suffix, g.prefix, d=d)


def xcn(name: PersonName, identifier: str = "", d: Delimiters = DEFAULT, group: GroupName = "alphabetic") -> str:
    """XCN id^family^given^middle^suffix^prefix from one group of a PN."""
    g = name.group(group)
    return components(identifier, g.family, g.given, g.middle, g.suffix, g.prefix, d=d)


def pn_to_xpn(pn: str) -> str:
    """A stored DICOM PN value as XPN (its alphabetic group)."""
    return xpn(PersonName.from_dicom(pn))


def pn_to_xcn(pn: str, identifier: str = "") -> str:
    """A stored DICOM PN value as XCN (its alphabetic group)."""
    return xcn(PersonName.from_dicom(pn), identifier)


def coded(value: str, text: str, scheme: str, d: Delimiters = DEFAULT) -> str:
    """CE/CWE identifier^text^coding system; only the text when there is no code."""
    return components(value, text, scheme if value else "", d=d)


def procedure_code(procedure: RequestedProcedure) -> str:
    """OBR-4 universal service identifier: the procedure's code, else its description."""
    return coded(procedure.code_value, procedure.code_meaning or procedure.description, procedure.code_scheme)


def pid(patient: Patient) -> str:
    """PID-3 identifier^^^assigning authority, PID-5 name, PID-7 birth date, PID-8 sex."""
    segment = SegmentBuilder("PID").put(1, "1").set(3, patient.patient_id, "", "", patient.issuer)
    segment.put(5, xpn(patient.person_name)).put(7, hl7_date(patient.birth_date)).set(8, patient.sex)
    return segment.text()
