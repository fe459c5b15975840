"""Every public sample message, sent as it is over one connection: each gets
the ACK it should (or none, when its MSH-15/16 ask for none)."""

import pytest

from hl7.models import InboundMessage
from hl7.read_message import read_header_for_answer
from ris.models import ImagingOrder, Patient, Procedure
from tests.conftest import SAMPLES
from tests.peers import MllpClient, ack_segments

pytestmark = pytest.mark.slow

# sample -> MSA-1 expected; None: enhanced mode NE/NE, no ACK at all
EXPECTED = {
    "dcm4che_ADT_A08_v251.hl7": "AA",
    "dcm4che_ADT_A40_PatientMerge.hl7": "AR",  # no sender is allowed to merge by default
    "dcm4che_ADT_A47_ChangePatientID.hl7": "AR",  # no sender is allowed to change identifiers by default
    "dcm4che_OMG_O19_Eyecare.hl7": "AE",  # OBR-24 CT is imaging; PV1-8 is a PN group of 65
    "dcm4che_OMI_O23_ImagingOrder_IPC.hl7": "AE",  # PV1-8 a PN group of 65; IPC-4 longer than SH's 16
    "dcm4che_OMI_O23_veterinary_v251.hl7": "AA",
    "dcm4che_ORM_O01-GeneralOrder_but_MSH9_is_OMI.hl7": "AE",  # the same PV1-8 and 19-character SPS ID
    "dcm4che_ORM_O01_ihe_mesa_v231.hl7": "AA",
    "dcm4che_ORU_R01_CDA_CRLF.hl7": "AR",
    "dcm4che_ORU_R01_PDF_base64.hl7": "AR",
    "dcm4che_ORU_R01_SR.hl7": "AR",
    "dcm4che_ORU_R01_findings_v251.hl7": "AR",
    "dcm4che_SIU_S12_hex_escapes.hl7": "AR",
    "fhirconv_ADT_A01-01_v28_dense.hl7": "AA",
    "fhirconv_ADT_A40-01_v28.hl7": None,  # MSH-15 NE, MSH-16 NE
    "fhirconv_ORM_O01-01_CT_head_BOM_LF.hl7": "AA",  # modality from the catalogue (LOINC 24725-4)
    # same sender and MSH-10 (MSG00018) as -01 with other content (a second order): the control ID is reused
    "fhirconv_ORM_O01-03_BOM_LF.hl7": "AE",
    "fhirconv_ORU_R01_v24_minimal_LF.hl7": "AR",
    "lfh_ADT_A01_broken_CRLF_literal_escapes.hl7": "AR",
    "lfh_ADT_A01_broken_doubled_backslash.hl7": "AR",
    "lfh_ORU_R01_imaging_report_v26_LF.hl7": "AR",
}


def _control_id(raw: bytes) -> str:
    try:
        header = read_header_for_answer(raw)
        return header.control_id if header else ""
    except Exception:
        return ""


def test_each_sample_gets_the_expected_ack_and_nothing_is_lost(mllp):
    Procedure.objects.create(code="24725-4", code_scheme="LN", modality="CT", name="CT Head")
    names = sorted(p.name for p in SAMPLES.glob("*.hl7"))
    assert set(names) == set(EXPECTED)
    answers = {}
    with MllpClient(mllp.port) as client:
        for name in names:
            raw = (SAMPLES / name).read_bytes()
            client.send_raw(b"\x0b" + raw + b"\x1c\x0d")
            if EXPECTED[name] is None:
                continue  # the next ACK read must then belong to the next sample
            ack = ack_segments(client.read_ack(), "latin-1")
            assert ack["MSA"][2] == _control_id(raw), name
            answers[name] = ack["MSA"][1]
            if ack["MSA"][1] != "AA":
                assert "ERR" in ack, name
    assert answers == {name: code for name, code in EXPECTED.items() if code is not None}
    assert InboundMessage.objects.count() == len(names)  # every one stored raw
    assert ImagingOrder.objects.filter(accession_number="MOF5026").exists()
    assert not Patient.objects.filter(merged_into__isnull=False).exists()  # merges refused (silently for NE/NE)
    reused = InboundMessage.objects.get(control_id="MSG00018", status=InboundMessage.Status.REJECTED)
    assert reused.order is None and reused.error.startswith("205 ")
