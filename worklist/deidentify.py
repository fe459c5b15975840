"""DICOM objects (the dose SRs) de-identified for the research export, with
pydicom and the PS3.15 Annex E rules, applied by VR and keyword to every
element at every depth of the content tree:

- the Basic Application Confidentiality Profile: identifying attributes
  removed (X) or emptied (Z), the patient's identity replaced by the
  export's pseudonym, UIDs replaced consistently (U), private tags removed;
- Clean Structured Content (always: a dose SR's content is its point): text
  items scrubbed of what is known of the patient, person names emptied;
- Retain Longitudinal Temporal Information with Modified Dates: dates and
  date-times shifted by the patient's offset; without it they are emptied;
- Clean Descriptors: descriptions scrubbed and kept; without it removed.

Anything this table does not know to be safe is removed: what is left is
numbers, codes, the SR's structure and the few attributes listed as kept.
"""

from __future__ import annotations

import datetime as dt
from io import BytesIO

from pydicom import dcmread
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import UID, ExplicitVRLittleEndian
from pydicom.valuerep import DA, DT

from ris.research import PatientKey

# UIDs that name a kind of thing, not an instance: kept as they are
_CLASS_UIDS = {"TransferSyntaxUID", "CodingSchemeUID", "MappingResourceUID", "ContextGroupExtensionCreatorUID"}
# Text attributes that carry no identity (codes, the device's make and software)
_KEPT_TEXT = {
    "SpecificCharacterSet",
    "CodeValue",
    "CodingSchemeDesignator",
    "CodingSchemeVersion",
    "CodeMeaning",
    "LongCodeValue",
    "URNCodeValue",
    "MappingResource",
    "TemplateIdentifier",
    "ContextIdentifier",
    "Manufacturer",
    "ManufacturerModelName",
    "SoftwareVersions",
    "MappingResourceName",
    "ContextGroupVersion",
}
# Clean Descriptors Option (PS3.15 Table E.1-1, column C of that option)
_DESCRIPTORS = {
    "StudyDescription",
    "SeriesDescription",
    "ProtocolName",
    "PerformedProcedureStepDescription",
    "RequestedProcedureDescription",
    "ScheduledProcedureStepDescription",
    "ReasonForTheRequestedProcedure",
    "ImageComments",
    "AcquisitionDeviceProcessingDescription",
    "BodyPartExamined",
}
# Free text of the content tree, kept scrubbed (Clean Structured Content)
_CONTENT_TEXT = {"TextValue"}
_REMOVED_VRS = {"PN", "AS", "OB", "OW", "OF", "OD", "OL", "OV", "UN", "SV", "UV"}
_PATIENT_BODY = {"PatientWeight", "PatientSize"}  # DS, but X in the Basic Profile


def deidentify_dose_sr(content: bytes, key: PatientKey) -> tuple[str, bytes]:
    """The SR without PHI, as a DICOM file; returns its new SOP Instance UID too."""
    source = dcmread(BytesIO(content), force=True)
    cleaned = _clean(source, key)
    _identify(cleaned, source, key)
    cleaned.file_meta = FileMetaDataset()
    cleaned.file_meta.MediaStorageSOPClassUID = UID(str(cleaned.SOPClassUID))
    cleaned.file_meta.MediaStorageSOPInstanceUID = UID(str(cleaned.SOPInstanceUID))
    cleaned.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    out = BytesIO()
    cleaned.save_as(out, enforce_file_format=True)
    return str(cleaned.SOPInstanceUID), out.getvalue()


def _clean(ds: Dataset, key: PatientKey) -> Dataset:
    out = Dataset()
    for element in ds:
        if element.tag.is_private or element.tag.group in (0x0000, 0x0002):
            continue
        kept = _element(element, key)
        if kept is not None:
            out.add(kept)
    return out


def _element(element: DataElement, key: PatientKey) -> DataElement | None:
    keyword, vr = element.keyword, element.VR
    if vr == "SQ":
        return DataElement(element.tag, "SQ", Sequence([_clean(item, key) for item in element.value or []]))
    if vr in _REMOVED_VRS or keyword in _PATIENT_BODY or not keyword:
        return None
    if vr == "UI":
        if keyword.endswith("ClassUID") or keyword in _CLASS_UIDS:
            return element
        return DataElement(element.tag, vr, _map_uids(element.value, key))
    if vr in ("DA", "DT", "TM"):
        return _temporal(element, key)
    if vr in ("DS", "IS", "FL", "FD", "US", "UL", "SS", "SL", "AT"):
        return element
    if vr == "CS":
        return None if keyword in ("PatientSex", "PatientSexNeutered") else element
    return _text(element, key)


def _text(element: DataElement, key: PatientKey) -> DataElement | None:
    keyword = element.keyword
    if keyword in _KEPT_TEXT:
        return element
    if keyword in _CONTENT_TEXT or (keyword in _DESCRIPTORS and key.options.clean_descriptors):
        return DataElement(element.tag, element.VR, key.scrub(str(element.value or "")))
    return None  # X: every other text attribute (names, addresses, IDs, institution, station...)


def _map_uids(value: object, key: PatientKey) -> object:
    if isinstance(value, str):
        return key.keys.uid(value) if value else value
    return [key.keys.uid(str(v)) for v in value]  # type: ignore[attr-defined]  # a multi-valued UI


def _temporal(element: DataElement, key: PatientKey) -> DataElement | None:
    if not key.options.retain_dates_modified or not element.value:
        return DataElement(element.tag, element.VR, "")  # Z / X: no date at all
    if element.VR == "TM":
        return element  # a time of day alone identifies no one once the date has moved
    try:
        if element.VR == "DA":
            day = DA(str(element.value))
            return DataElement(element.tag, "DA", (day - key.shift).strftime("%Y%m%d"))
        moment = DT(str(element.value))
        shifted = dt.datetime(*moment.timetuple()[:6], moment.microsecond) - key.shift
        return DataElement(element.tag, "DT", shifted.strftime("%Y%m%d%H%M%S"))
    except (ValueError, TypeError):
        return DataElement(element.tag, element.VR, "")


def _identify(cleaned: Dataset, source: Dataset, key: PatientKey) -> None:
    """The pseudonymous identity and the record of what was done (PS3.15 E.1.1)."""
    cleaned.PatientName = key.pseudonym
    cleaned.PatientID = key.pseudonym
    cleaned.PatientBirthDate = ""
    cleaned.PatientSex = ""
    cleaned.AccessionNumber = key.keys.accession(str(source.get("AccessionNumber", "") or ""))
    cleaned.StudyID = ""
    cleaned.ReferringPhysicianName = ""
    cleaned.PatientIdentityRemoved = "YES"
    cleaned.LongitudinalTemporalInformationModified = "MODIFIED" if key.options.retain_dates_modified else "REMOVED"
    methods = key.options.methods()
    cleaned.DeidentificationMethod = "; ".join(meaning for _, meaning in methods)[:64]
    codes = []
    for code, meaning in methods:
        item = Dataset()
        item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = code, "DCM", meaning
        codes.append(item)
    cleaned.DeidentificationMethodCodeSequence = Sequence(codes)
