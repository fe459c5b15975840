"""Audit messages for a hospital's audit record repository (IHE ATNA): the
DICOM audit message (PS3.15 A.5, the successor of RFC 3881), as XML.

`AuditEntry` is a plain record, so that this module knows no model: the web
door turns the domain's audit events into entries (web/audit_export.py).
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from xml.etree import ElementTree as ET

# PS3.15 A.5.1 EventActionCode
ACTION_CODES = {"CREATE": "C", "VIEW": "R", "CHANGE": "U", "DELETE": "D", "EXPORT": "R", "QUERY": "E"}


@dataclass(frozen=True)
class AuditEntry:
    at: dt.datetime
    action: str  # CREATE, VIEW, CHANGE, DELETE, EXPORT, or QUERY (a search or a list)
    actor: str  # the user name, or the peer (HL7 application, calling AE title)
    person: bool  # a person (True) or a system (False)
    door: str  # WEB, API, FHIR, HL7, DICOM, SYSTEM
    address: str  # the requestor's network address
    detail: str  # what was seen or done (the query, for a search)
    patient_id: str = ""  # "ID^^^ISSUER" (HL7 CX), when one patient is named
    patient_name: str = ""
    object_type: str = ""
    object_id: str = ""


# PS3.16 CID 400 (DCM) audit event IDs.
def _event_id(entry: AuditEntry) -> tuple[str, str, str]:
    if entry.action == "QUERY":
        return "110112", "DCM", "Query"
    if entry.action == "EXPORT":
        return "110106", "DCM", "Export"
    return "110110", "DCM", "Patient Record"


def _code(parent: ET.Element, tag: str, code: tuple[str, str, str]) -> ET.Element:
    value, system, text = code
    return ET.SubElement(parent, tag, {"csd-code": value, "codeSystemName": system, "originalText": text})


def audit_message(entry: AuditEntry, *, source_id: str, site_id: str) -> ET.Element:
    """One <AuditMessage> (PS3.15 A.5.1) for one entry."""
    message = ET.Element("AuditMessage")
    event = ET.SubElement(
        message,
        "EventIdentification",
        {
            "EventActionCode": ACTION_CODES.get(entry.action, "E"),
            "EventDateTime": entry.at.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "EventOutcomeIndicator": "0",  # success: refusals are not recorded as events
        },
    )
    _code(event, "EventID", _event_id(entry))
    _code(event, "EventTypeCode", ("110180" if entry.door == "DICOM" else entry.door, "DCM", f"{entry.door} door"))
    requestor = ET.SubElement(
        message,
        "ActiveParticipant",
        {
            "UserID": entry.actor or "unknown",
            "UserIsRequestor": "true",
            "NetworkAccessPointID": entry.address or "",
            "NetworkAccessPointTypeCode": "2",  # an IP address
        },
    )
    if not entry.address:
        del requestor.attrib["NetworkAccessPointID"], requestor.attrib["NetworkAccessPointTypeCode"]
    _code(requestor, "RoleIDCode", ("110153", "DCM", "Source Role ID"))
    ourselves = ET.SubElement(message, "ActiveParticipant", {"UserID": source_id, "UserIsRequestor": "false"})
    _code(ourselves, "RoleIDCode", ("110152", "DCM", "Destination Role ID"))
    source = ET.SubElement(message, "AuditSourceIdentification", {"AuditSourceID": source_id})
    if site_id:
        source.set("AuditEnterpriseSiteID", site_id)
    _code(source, "AuditSourceTypeCode", ("4", "DCM", "Application Server Process"))
    if entry.patient_id:
        _patient(message, entry)
    if entry.action == "QUERY" or entry.object_type:
        _object(message, entry)
    return message


def _patient(message: ET.Element, entry: AuditEntry) -> None:
    patient = ET.SubElement(
        message,
        "ParticipantObjectIdentification",
        {
            "ParticipantObjectID": entry.patient_id,
            "ParticipantObjectTypeCode": "1",
            "ParticipantObjectTypeCodeRole": "1",
        },
    )
    _code(patient, "ParticipantObjectIDTypeCode", ("2", "RFC-3881", "Patient Number"))
    if entry.patient_name:
        ET.SubElement(patient, "ParticipantObjectName").text = entry.patient_name


def _object(message: ET.Element, entry: AuditEntry) -> None:
    query = entry.action == "QUERY"
    role = "24" if query else "3"  # PS3.15 A.5.2.5: 24 query, 3 report
    item = ET.SubElement(
        message,
        "ParticipantObjectIdentification",
        {
            "ParticipantObjectID": entry.object_id or entry.object_type or "query",
            "ParticipantObjectTypeCode": "2",  # a system object
            "ParticipantObjectTypeCodeRole": role,
        },
    )
    _code(item, "ParticipantObjectIDTypeCode", (entry.object_type or "query", "RIS", entry.object_type or "query"))
    if query:
        ET.SubElement(item, "ParticipantObjectQuery").text = base64.b64encode(entry.detail.encode()).decode()
    ET.SubElement(item, "ParticipantObjectDetail", {"type": "detail", "value": _b64(entry.detail)})


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def audit_message_xml(entry: AuditEntry, *, source_id: str, site_id: str = "") -> bytes:
    return _xml(audit_message(entry, source_id=source_id, site_id=site_id))


def audit_messages_xml(entries: Iterable[AuditEntry], *, source_id: str, site_id: str = "") -> bytes:
    """Several messages in one document (an export file): <AuditMessages>."""
    root = ET.Element("AuditMessages")
    for entry in entries:
        root.append(audit_message(entry, source_id=source_id, site_id=site_id))
    return _xml(root)


def _xml(element: ET.Element) -> bytes:
    return bytes(ET.tostring(element, encoding="utf-8", xml_declaration=True))
