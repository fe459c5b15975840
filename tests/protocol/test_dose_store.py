"""Dose reports stored to the real listener with dcmtk's storescu and
pynetdicom: the dose appears on the exam and a reference level breach
raises its alert."""

import csv
import io
import subprocess
import tempfile
from pathlib import Path

import pytest
from django.urls import reverse
from prometheus_client import REGISTRY
from pydicom.uid import generate_uid
from pynetdicom import AE
from pynetdicom.sop_class import ComprehensiveSRStorage, XRayRadiationDoseSRStorage

from ris.models import AuditEvent, DiagnosticReferenceLevel, DoseAlert, DoseQuantity, DoseReport
from tests.factories import placed_order, user_with_role
from tests.rdsr import ct_rdsr, fluoro_rdsr, part10

pytestmark = pytest.mark.slow


def storescu(port: int, *datasets) -> subprocess.CompletedProcess:
    folder = Path(tempfile.mkdtemp(prefix="rdsr-"))
    files = []
    for n, ds in enumerate(datasets):
        path = folder / f"{n}.dcm"
        path.write_bytes(part10(ds))
        files.append(str(path))
    return subprocess.run(
        ["storescu", "-v", "-aet", "CTSCAN1", "-aec", "RIS", "127.0.0.1", str(port), *files],
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_ct_rdsr_sent_by_storescu_is_kept_linked_to_its_exam_and_read(dicom, settings, tmp_path, client):
    settings.VAR_DIR = tmp_path
    procedure = placed_order().procedures.get()
    ds = ct_rdsr(study_uid=procedure.study_instance_uid, events=((12.3, 456.0),))
    run = storescu(dicom, ds)
    assert run.returncode == 0, run.stderr
    report = DoseReport.objects.get(sop_instance_uid=ds.SOPInstanceUID)
    assert report.procedure == procedure
    assert report.total_dlp == 456.0
    assert [e.ctdivol for e in report.events.all()] == [12.3]
    assert (tmp_path / report.path).read_bytes()[128:132] == b"DICM"
    assert AuditEvent.objects.filter(object_type="dosereport", patient=procedure.order.patient).exists()
    client.force_login(user_with_role("medical physicist"))
    rows = list(csv.DictReader(io.StringIO(client.get(reverse("dose_table_csv")).content.decode())))
    assert [(r["accession"], r["ctdivol_mGy"], r["dlp_mGy_cm"]) for r in rows] == [("ACC6001", "12.3", "456.0")]


def breaches() -> float:
    return REGISTRY.get_sample_value("ris_dose_reference_level_exceeded_total", {"quantity": "DAP"}) or 0.0


def test_fluoro_rdsr_over_its_modalitys_dap_level_raises_an_alert(dicom, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    before = breaches()
    procedure = placed_order(modality="XA", accession="ACC6002", placer="PL6002").procedures.get()
    DiagnosticReferenceLevel.objects.create(modality="XA", quantity=DoseQuantity.DAP_TOTAL, level=30e-5)
    ds = fluoro_rdsr(study_uid=generate_uid(), accession="ACC6002", dap_dgy_cm2=(15.0, 25.0))
    run = storescu(dicom, ds)
    assert run.returncode == 0, run.stderr
    report = DoseReport.objects.get(sop_instance_uid=ds.SOPInstanceUID)
    assert report.procedure == procedure  # by accession number: the SR had another Study Instance UID
    alert = DoseAlert.objects.get(report=report)
    assert alert.quantity == DoseQuantity.DAP_TOTAL and alert.value == pytest.approx(40e-5)
    assert AuditEvent.objects.filter(object_type="dosealert", patient=procedure.order.patient).exists()
    assert breaches() == before + 1


def test_rdsr_of_no_known_exam_is_kept_unmatched(dicom, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    ds = ct_rdsr(study_uid=generate_uid(), accession="NOSUCH")
    assert storescu(dicom, ds).returncode == 0
    report = DoseReport.objects.get(sop_instance_uid=ds.SOPInstanceUID)
    assert report.procedure is None and "no exam" in report.unmatched_reason


def _send(port: int, ds, contexts) -> int:
    part10(ds)  # gives it its file meta, whose transfer syntax pynetdicom proposes
    ae = AE(ae_title="CTSCAN1")
    for sop_class in contexts:
        ae.add_requested_context(sop_class)
    assoc = ae.associate("127.0.0.1", port, ae_title="RIS")
    assert assoc.is_established
    try:
        return int(assoc.send_c_store(ds).Status)
    finally:
        assoc.release()


def test_a_dose_class_carrying_no_dose_report_is_refused_a900(dicom, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    ds = ct_rdsr(study_uid=generate_uid())
    ds.ConceptNameCodeSequence[0].CodeValue = "126000"
    assert _send(dicom, ds, [XRayRadiationDoseSRStorage]) == 0xA900
    assert not DoseReport.objects.exists()


def test_other_storage_classes_are_not_accepted():
    from worklist.negotiation import SOP_CLASSES

    assert ComprehensiveSRStorage not in SOP_CLASSES and XRayRadiationDoseSRStorage in SOP_CLASSES


def test_same_instance_sent_twice_is_kept_once(dicom, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    ds = ct_rdsr(study_uid=generate_uid())
    assert _send(dicom, ds, [XRayRadiationDoseSRStorage]) == 0x0000
    assert _send(dicom, ds, [XRayRadiationDoseSRStorage]) == 0x0000
    assert DoseReport.objects.count() == 1
