"""Radiation Dose SR objects made with pydicom, as a CT scanner or a
fluoroscopy unit writes them (PS3.16 TID 10001 / 10011 / 10003)."""

from __future__ import annotations

from io import BytesIO

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

XRAY_RDSR = "1.2.840.10008.5.1.4.1.1.88.67"


def code(value: str, meaning: str, scheme: str = "DCM") -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


def _item(value_type: str, concept: Dataset, relationship: str = "CONTAINS") -> Dataset:
    item = Dataset()
    item.RelationshipType = relationship
    item.ValueType = value_type
    item.ConceptNameCodeSequence = Sequence([concept])
    return item


def container(concept: Dataset, *children: Dataset, relationship: str = "CONTAINS") -> Dataset:
    item = _item("CONTAINER", concept, relationship)
    item.ContinuityOfContent = "SEPARATE"
    item.ContentSequence = Sequence(list(children))
    return item


def num(concept: Dataset, value: float, unit: str, meaning: str = "") -> Dataset:
    item = _item("NUM", concept)
    measured = Dataset()
    measured.NumericValue = f"{value:g}"
    measured.MeasurementUnitsCodeSequence = Sequence([code(unit, meaning or unit, "UCUM")])
    item.MeasuredValueSequence = Sequence([measured])
    return item


def coded(concept: Dataset, value: Dataset) -> Dataset:
    item = _item("CODE", concept)
    item.ConceptCodeSequence = Sequence([value])
    return item


def text(concept: Dataset, value: str) -> Dataset:
    item = _item("TEXT", concept)
    item.TextValue = value
    return item


def uidref(concept: Dataset, value: str) -> Dataset:
    item = _item("UIDREF", concept)
    item.UID = value
    return item


def datetime_item(concept: Dataset, value: str) -> Dataset:
    item = _item("DATETIME", concept)
    item.DateTime = value
    return item


def pname(concept: Dataset, value: str) -> Dataset:
    item = _item("PNAME", concept)
    item.PersonName = value
    return item


def _document(
    *,
    study_uid: str,
    accession: str,
    patient_id: str,
    patient_name: str,
    birth_date: str,
    when: str,
    procedure: Dataset,
    content: list[Dataset],
) -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = XRAY_RDSR
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = "SR"
    ds.StudyDate = ds.ContentDate = when[:8]
    ds.StudyTime = ds.ContentTime = when[8:14]
    ds.AccessionNumber = accession
    ds.PatientID = patient_id
    ds.PatientName = patient_name
    ds.PatientBirthDate = birth_date
    ds.PatientSex = "M"
    ds.ReferringPhysicianName = "WHO^JOHN"
    ds.StudyID = "1"
    ds.SeriesNumber = 99
    ds.InstanceNumber = 1
    ds.Manufacturer = "ACME Medical"
    ds.StationName = "CTSCAN1"
    ds.InstitutionName = "St Elsewhere Hospital"
    ds.StudyDescription = f"CT for {patient_name.split('^')[0]}"
    ds.ValueType = "CONTAINER"
    ds.ConceptNameCodeSequence = Sequence([code("113701", "X-Ray Radiation Dose Report")])
    ds.ContinuityOfContent = "SEPARATE"
    ds.CompletionFlag, ds.VerificationFlag = "COMPLETE", "UNVERIFIED"
    template = Dataset()
    template.MappingResource, template.TemplateIdentifier = "DCMR", "10001"
    ds.ContentTemplateSequence = Sequence([template])
    ds.ContentSequence = Sequence(
        [
            coded(code("121058", "Procedure reported"), procedure),
            pname(code("121008", "Person Observer Name"), "TECH^TINA"),
            *content,
        ]
    )
    return ds


def ct_rdsr(
    *,
    study_uid: str,
    accession: str = "",
    patient_id: str = "PAT6001",
    patient_name: str = "MUELLER^HANS",
    birth_date: str = "19700215",
    when: str = "20261201101500",
    events: tuple[tuple[float, float], ...] = ((12.3, 456.0),),  # (CTDIvol mGy, DLP mGy.cm)
) -> Dataset:
    """A CT RDSR (TID 10011) with one CT Acquisition per (CTDIvol, DLP)."""
    acquisitions = [
        container(
            code("113819", "CT Acquisition"),
            text(code("125203", "Acquisition Protocol"), f"Head routine for {patient_name.split('^')[0]}"),
            coded(code("123014", "Target Region"), code("T-D1100", "Head", "SRT")),
            uidref(code("113769", "Irradiation Event UID"), generate_uid()),
            container(
                code("113822", "CT Acquisition Parameters"),
                num(code("113824", "Exposure Time"), 5.2, "s"),
                num(code("113825", "Scanning Length"), 180.0, "mm"),
            ),
            container(
                code("113829", "CT Dose"),
                num(code("113830", "Mean CTDIvol"), ctdi, "mGy"),
                coded(code("113835", "CTDIw Phantom Type"), code("113690", "IEC Head Dosimetry Phantom")),
                num(code("113838", "DLP"), dlp, "mGy.cm"),
            ),
        )
        for ctdi, dlp in events
    ]
    accumulated = container(
        code("113811", "CT Accumulated Dose Data"),
        num(code("113812", "Total Number of Irradiation Events"), len(events), "{events}"),
        num(code("113813", "CT Dose Length Product Total"), sum(d for _, d in events), "mGy.cm"),
    )
    return _document(
        study_uid=study_uid,
        accession=accession,
        patient_id=patient_id,
        patient_name=patient_name,
        birth_date=birth_date,
        when=when,
        procedure=code("P5-08000", "Computed Tomography X-Ray", "SRT"),
        content=[accumulated, *acquisitions],
    )


def fluoro_rdsr(
    *,
    study_uid: str,
    accession: str = "",
    patient_id: str = "PAT6001",
    patient_name: str = "MUELLER^HANS",
    birth_date: str = "19700215",
    when: str = "20261201101500",
    dap_dgy_cm2: tuple[float, ...] = (15.0, 25.0),
    fluoro_seconds: float = 184.0,
    rp_dose_mgy: float = 42.0,
) -> Dataset:
    """A fluoroscopy RDSR (TID 10001 with TID 10002 totals and TID 10003
    events), DAP in dGy.cm2 and reference point dose in mGy as many units write."""
    events = [
        container(
            code("113706", "Irradiation Event X-Ray Data"),
            uidref(code("113769", "Irradiation Event UID"), generate_uid()),
            datetime_item(code("111526", "DateTime Started"), when),
            coded(code("113721", "Irradiation Event Type"), code("P5-06000", "Fluoroscopy", "SRT")),
            text(code("125203", "Acquisition Protocol"), "Abdomen fluoro"),
            num(code("122130", "Dose Area Product"), dap, "dGy.cm2"),
            num(code("113738", "Dose (RP)"), rp_dose_mgy / len(dap_dgy_cm2), "mGy"),
        )
        for dap in dap_dgy_cm2
    ]
    accumulated = container(
        code("113702", "Accumulated X-Ray Dose Data"),
        container(
            code("113705", "Accumulated Fluoroscopy and Acquisition Projection X-Ray Dose"),
            num(code("113722", "Dose Area Product Total"), sum(dap_dgy_cm2), "dGy.cm2"),
            num(code("113725", "Dose (RP) Total"), rp_dose_mgy, "mGy"),
            num(code("113730", "Total Fluoro Time"), fluoro_seconds, "s"),
        ),
    )
    return _document(
        study_uid=study_uid,
        accession=accession,
        patient_id=patient_id,
        patient_name=patient_name,
        birth_date=birth_date,
        when=when,
        procedure=code("113704", "Projection X-Ray"),
        content=[accumulated, *events],
    )


def part10(ds: Dataset) -> bytes:
    """The object as a DICOM file (PS3.10), Explicit VR Little Endian."""
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    out = BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


RADIOPHARMACEUTICAL_RDSR = "1.2.840.10008.5.1.4.1.1.88.68"


def radiopharmaceutical_rdsr(*, study_uid: str, activity_mbq: float = 370.0) -> Dataset:
    """A Radiopharmaceutical Radiation Dose SR (TID 10021 with one TID 10022 administration)."""
    ds = _document(
        study_uid=study_uid,
        accession="",
        patient_id="PAT6001",
        patient_name="MUELLER^HANS",
        birth_date="19700215",
        when="20261201101500",
        procedure=code("P5-40000", "Nuclear medicine procedure", "SRT"),
        content=[
            container(
                code("113502", "Radiopharmaceutical Administration"),
                coded(
                    code("349358000", "Radiopharmaceutical agent", "SCT"),
                    code("35321007", "Fluorodeoxyglucose F^18^", "SCT"),
                ),
                num(code("113507", "Administered activity"), activity_mbq, "MBq"),
            )
        ],
    )
    ds.SOPClassUID = RADIOPHARMACEUTICAL_RDSR
    ds.ConceptNameCodeSequence = Sequence([code("113500", "Radiopharmaceutical Radiation Dose Report")])
    return ds
