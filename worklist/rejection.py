"""IOCM rejection notes to the Image Manager: images stored under the wrong study.

The outbox builder for the "rejection_note" event of DICOM destinations
(registered in worklist/apps.py). A reconciliation that put images under
their right order recorded what the archive must reject
(`Discrepancy.rejection_request`); this builds it as a Key Object
Selection Document (PS3.3 A.35.4) whose title is (113038, DCM, "Incorrect
Modality Worklist Entry") and whose evidence lists the instances, in the
study they were stored under (IHE RAD TF-3 IOCM, RAD-66 Rejection Note
Stored), and sends it by C-STORE. The procedure update (RAD-13) tells the
archive the right patient, accession and study.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from django.conf import settings
from django.utils import timezone
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ImplicitVRLittleEndian
from pynetdicom import AE

from ris.models import Destination, Discrepancy, OutboundMessage
from ris.outbox import Built, SendResult
from ris.uids import new_uid
from worklist.forward import send_mpps

KEY_OBJECT_SELECTION = "1.2.840.10008.5.1.4.1.1.88.59"
C_STORE = "C-STORE"
SUCCESS = 0x0000
WARNINGS = frozenset({0xB000, 0xB006, 0xB007})  # PS3.4 B.2.3: stored, with coercion or elements discarded


def build_rejection_note(destination: Destination, context: dict[str, Any]) -> Built:
    request = Discrepancy.objects.get(pk=context["discrepancy_id"]).rejection_request
    ds = rejection_note(request)
    payload = json.dumps({"operation": C_STORE, "sop_instance_uid": ds.SOPInstanceUID, "dataset": ds.to_json_dict()})
    return Built(payload=payload, control_id=str(ds.SOPInstanceUID), content_type="application/dicom+json")


def rejection_note(request: dict[str, Any]) -> Dataset:
    """The KOS (PS3.3 A.35.4, TID 2010) that rejects the request's instances."""
    now = timezone.localtime()
    ds = Dataset()
    ds.SOPClassUID, ds.SOPInstanceUID = KEY_OBJECT_SELECTION, new_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = request["stored_under_study"], new_uid()
    ds.Modality, ds.SeriesNumber, ds.InstanceNumber = "KO", 999, 1
    patient = request.get("stored_patient") or {}
    ds.PatientID, ds.PatientName = patient.get("patient_id", ""), patient.get("patient_name", "")
    ds.PatientBirthDate, ds.PatientSex, ds.StudyID, ds.AccessionNumber = "", "", "", ""
    ds.StudyDate, ds.StudyTime, ds.ReferringPhysicianName = "", "", ""
    ds.ContentDate, ds.ContentTime = now.strftime("%Y%m%d"), now.strftime("%H%M%S")
    ds.Manufacturer = ""
    ds.ReferencedPerformedProcedureStepSequence = Sequence()
    ds.ValueType, ds.ContinuityOfContent = "CONTAINER", "SEPARATE"
    ds.ConceptNameCodeSequence = Sequence([_code(request["title"])])
    ds.ContentTemplateSequence = Sequence([_template()])
    ds.CurrentRequestedProcedureEvidenceSequence = Sequence([_evidence(request)])
    ds.ContentSequence = Sequence([_content_item(ref) for ref in request["references"]])
    return ds


def _code(title: dict[str, str]) -> Dataset:
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = title["value"], title["scheme"], title["meaning"]
    return code


def _template() -> Dataset:
    template = Dataset()
    template.MappingResource, template.TemplateIdentifier = "DCMR", "2010"  # TID 2010 Key Object Selection
    return template


def _evidence(request: dict[str, Any]) -> Dataset:
    """Hierarchical SOP Instance Reference Macro (PS3.3 C.17.2.1): study, series, instances."""
    by_series: dict[str, list[dict[str, str]]] = defaultdict(list)
    for ref in request["references"]:
        by_series[ref["series"]].append(ref)
    study = Dataset()
    study.StudyInstanceUID = request["stored_under_study"]
    study.ReferencedSeriesSequence = Sequence([_series(uid, refs) for uid, refs in by_series.items()])
    return study


def _series(uid: str, refs: list[dict[str, str]]) -> Dataset:
    series = Dataset()
    series.SeriesInstanceUID = uid
    series.ReferencedSOPSequence = Sequence([_sop(ref) for ref in refs])
    return series


def _sop(ref: dict[str, str]) -> Dataset:
    sop = Dataset()
    sop.ReferencedSOPClassUID, sop.ReferencedSOPInstanceUID = ref["sop_class"], ref["sop_instance"]
    return sop


def _content_item(ref: dict[str, str]) -> Dataset:
    item = Dataset()
    item.RelationshipType, item.ValueType = "CONTAINS", "COMPOSITE"
    item.ReferencedSOPSequence = Sequence([_sop(ref)])
    return item


def send_rejection_note(destination: Destination, message: OutboundMessage) -> SendResult:
    """C-STORE the rejection note to the Image Manager's AE."""
    request = json.loads(message.payload)
    ds = Dataset.from_json(request["dataset"])
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    ae = AE(ae_title=settings.RIS_DICOM_AE_TITLE)
    ae.add_requested_context(KEY_OBJECT_SELECTION)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = destination.timeout_seconds
    assoc = ae.associate(destination.host, destination.port or 0, ae_title=destination.ae_title or "ANY-SCP")
    if not assoc.is_established:
        where = f"{destination.ae_title}@{destination.host}:{destination.port}"
        return SendResult(False, error=f"{where}: association rejected or not answered")
    try:
        status = assoc.send_c_store(ds)
    finally:
        assoc.release()
    code = status.get("Status") if status is not None else None
    if code is None:
        return SendResult(False, error="C-STORE: no response")
    text = f"C-STORE 0x{code:04X} {status.get('ErrorComment', '')}".strip()
    if code == SUCCESS or code in WARNINGS:
        return SendResult(True, response=text)
    return SendResult(False, response=text, error=text, refused=True)


def send_dicom(destination: Destination, message: OutboundMessage) -> SendResult:
    """The DICOM destinations' sender: a rejection note is stored, an MPPS forwarded."""
    if message.event == "rejection_note":
        return send_rejection_note(destination, message)
    return send_mpps(destination, message)
