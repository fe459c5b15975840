"""DICOM XML (PS3.19 A.1, the Native DICOM Model) from DICOM JSON, and the
multipart/related answer of a search in it (PS3.18 8.7.3.4, 10.6.3.2): one
part per dataset, each `application/dicom+xml`.

Written from the JSON model the services already build, so that both media
types say exactly the same: each JSON element becomes a DicomAttribute with
its tag, VR and keyword; values are numbered; person names keep their
component groups and components; sequences their items."""

from __future__ import annotations

import secrets
from typing import Any
from xml.etree import ElementTree as ET

from pydicom.datadict import keyword_for_tag

MEDIA_TYPE = "application/dicom+xml"
NAMESPACE = "http://dicom.nema.org/PS3.19/models/NativeDICOM"
PN_COMPONENTS = ("FamilyName", "GivenName", "MiddleName", "NamePrefix", "NameSuffix")
PN_GROUPS = ("Alphabetic", "Ideographic", "Phonetic")


def native_model(dataset: dict[str, Any]) -> bytes:
    root = ET.Element("NativeDicomModel", xmlns=NAMESPACE)
    _attributes(root, dataset)
    text = bytes(ET.tostring(root, encoding="utf-8", xml_declaration=False))
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + text


def _attributes(parent: ET.Element, dataset: dict[str, Any]) -> None:
    for tag in sorted(dataset):
        element = dataset[tag]
        vr = element.get("vr", "UN")
        attribute = ET.SubElement(parent, "DicomAttribute", {"tag": tag.upper(), "vr": vr})
        keyword = keyword_for_tag(int(tag, 16))
        if keyword:
            attribute.set("keyword", keyword)
        for number, value in enumerate(element.get("Value", []), start=1):
            _value(attribute, vr, number, value)
        if "InlineBinary" in element:
            ET.SubElement(attribute, "InlineBinary").text = element["InlineBinary"]


def _value(attribute: ET.Element, vr: str, number: int, value: Any) -> None:
    if vr == "SQ":
        _attributes(ET.SubElement(attribute, "Item", number=str(number)), value)
    elif vr == "PN":
        _person_name(ET.SubElement(attribute, "PersonName", number=str(number)), value)
    else:
        ET.SubElement(attribute, "Value", number=str(number)).text = "" if value is None else str(value)


def _person_name(parent: ET.Element, value: dict[str, str]) -> None:
    for group in PN_GROUPS:
        if not value.get(group):
            continue
        node = ET.SubElement(parent, group)
        for name, part in zip(PN_COMPONENTS, value[group].split("^"), strict=False):
            if part:
                ET.SubElement(node, name).text = part


def multipart(datasets: list[dict[str, Any]]) -> tuple[bytes, str]:
    """The body and its Content-Type: multipart/related of DICOM XML parts."""
    boundary = secrets.token_hex(16)
    parts = [
        f"--{boundary}\r\nContent-Type: {MEDIA_TYPE}\r\n\r\n".encode() + native_model(ds) + b"\r\n" for ds in datasets
    ]
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f'multipart/related; type="{MEDIA_TYPE}"; boundary={boundary}'
