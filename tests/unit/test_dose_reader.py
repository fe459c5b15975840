"""RDSRs made with pydicom, read into dose records (worklist/rdsr.py)."""

import pytest
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from ris.models import DoseReport
from tests.rdsr import ct_rdsr, fluoro_rdsr, radiopharmaceutical_rdsr
from worklist.rdsr import NotADoseReport, read_dose_report


def test_ct_rdsr_gives_each_acquisitions_ctdivol_dlp_phantom_and_length_and_the_total_dlp():
    record = read_dose_report(ct_rdsr(study_uid=generate_uid(), events=((12.3, 456.0), (8.0, 100.0))))
    assert record.kind == DoseReport.Kind.CT
    assert record.total_dlp == pytest.approx(556.0)
    assert record.event_count == 2
    assert [(e.ctdivol, e.dlp) for e in record.events] == [(12.3, 456.0), (8.0, 100.0)]
    assert record.events[0].phantom == "IEC Head Dosimetry Phantom"
    assert record.events[0].scanning_length == 180.0
    assert record.events[0].target_region == "Head"


def test_fluoro_rdsr_gives_dap_in_gy_m2_reference_point_dose_in_gy_and_fluoro_time():
    record = read_dose_report(fluoro_rdsr(study_uid=generate_uid(), dap_dgy_cm2=(15.0, 25.0), rp_dose_mgy=42.0))
    assert record.kind == DoseReport.Kind.PROJECTION
    assert record.total_dap == pytest.approx(40.0e-5)  # 40 dGy.cm2
    assert record.reference_point_dose == pytest.approx(0.042)
    assert record.fluoro_time == 184.0
    assert record.event_count == 2
    assert [e.dap for e in record.events] == [pytest.approx(15e-5), pytest.approx(25e-5)]
    assert record.events[0].started_at is not None and record.events[0].started_at.tzinfo is not None


def test_an_sr_of_another_class_is_not_a_dose_report():
    ds = ct_rdsr(study_uid=generate_uid())
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.88.33"  # Comprehensive SR
    with pytest.raises(NotADoseReport, match="not a radiation dose SR"):
        read_dose_report(ds)


def test_a_dose_class_whose_title_is_no_dose_report_is_refused():
    ds = ct_rdsr(study_uid=generate_uid())
    ds.ConceptNameCodeSequence[0].CodeValue = "126000"
    with pytest.raises(NotADoseReport, match="document title"):
        read_dose_report(ds)


def test_a_value_in_a_unit_not_known_is_left_out_rather_than_misread():
    ds = ct_rdsr(study_uid=generate_uid())
    dose: Dataset = ds.ContentSequence[3].ContentSequence[4]
    dose.ContentSequence[0].MeasuredValueSequence[0].MeasurementUnitsCodeSequence[0].CodeValue = "rad"
    assert read_dose_report(ds).events[0].ctdivol is None


def test_radiopharmaceutical_rdsr_gives_the_agent_and_administered_activity():
    record = read_dose_report(radiopharmaceutical_rdsr(study_uid=generate_uid(), activity_mbq=370.0))
    assert record.kind == DoseReport.Kind.RADIOPHARMACEUTICAL
    assert record.radiopharmaceutical == "Fluorodeoxyglucose F^18^"
    assert record.administered_activity == 370.0


def test_enhanced_xray_rdsr_is_read_with_the_same_templates():
    ds = ct_rdsr(study_uid=generate_uid())
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.88.76"
    assert read_dose_report(ds).total_dlp == 456.0


@pytest.mark.parametrize("uid", ["../../etc/passwd", "1.2.03", "1." + "2" * 70])
def test_an_instance_uid_that_is_no_uid_is_refused_before_it_names_a_file(uid):
    ds = ct_rdsr(study_uid=generate_uid())
    ds.SOPInstanceUID = uid
    with pytest.raises(NotADoseReport, match="not a UID"):
        read_dose_report(ds)


def test_an_accession_number_longer_than_sh_is_refused():
    with pytest.raises(NotADoseReport, match="AccessionNumber"):
        read_dose_report(ct_rdsr(study_uid=generate_uid(), accession="A" * 17))
