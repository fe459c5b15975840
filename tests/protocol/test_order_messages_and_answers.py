"""Orders over MLLP: OMG^O19 imaging orders reach the worklist (dcmtk's
findscu), other OMG orders are refused AR with the reason, and ORM^O01,
OMI^O23 and OMG^O19 are each answered in their own response structure,
read strictly by hl7apy (a parser we did not write)."""

import pytest
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message

from ris.models import ImagingOrder, Procedure
from tests.hl7_builders import omg_order, omi_order, orm_new_order
from tests.peers import MllpClient, findscu

pytestmark = pytest.mark.slow
UID = "1.2.826.0.1.3680043.8.498.7001"


def _answer(port: int, text: str):
    with MllpClient(port) as client:
        raw = client.exchange(text)
    return parse_message(raw.strip(b"\x0b\x1c\r").decode("ascii"), validation_level=VALIDATION_LEVEL.STRICT)


def test_an_omg_o19_imaging_order_reaches_the_worklist_with_its_tq1_start(mllp, dicom, site_zone):
    answer = _answer(mllp.port, omg_order("OMG1", study_uid=UID))
    assert (answer.msa.msa_1.value, answer.msa.msa_2.value) == ("AA", "OMG1")
    responses, proc = findscu(
        dicom,
        [
            "AccessionNumber=ACC3001",
            "PatientID",
            "StudyInstanceUID",
            "ScheduledProcedureStepSequence[0].Modality",
            "ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartDate",
            "ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartTime",
        ],
    )
    assert proc.returncode == 0, proc.stderr
    [found] = responses
    step = found.ScheduledProcedureStepSequence[0]
    assert (found.PatientID, found.StudyInstanceUID, step.Modality) == ("PAT3001", UID, "CT")
    assert (step.ScheduledProcedureStepStartDate, step.ScheduledProcedureStepStartTime[:4]) == ("20261126", "1600")


def test_an_omg_o19_section_naming_a_modality_by_hl7_table_0074_takes_that_modality(mllp):
    answer = _answer(mllp.port, omg_order("OMG2", section="NMR"))
    assert answer.msa.msa_1.value == "AA"
    assert ImagingOrder.objects.get().procedures.get().steps.get().modality == "MR"


def test_an_omg_o19_of_a_section_that_is_not_imaging_is_refused_ar_with_the_reason(mllp):
    answer = _answer(mllp.port, omg_order("OMG3", section="HM", code="718-7^Hemoglobin^LN"))
    assert answer.msh.msh_9.to_er7() == "ORG^O20^ORG_O20"
    assert answer.msa.msa_1.value == "AR"
    assert answer.err.err_2.to_er7() == "OBR^1^24"
    assert answer.err.err_3.to_er7() == "103^Table value not found^HL70357"
    assert "imaging orders only" in answer.err.err_8.value
    assert not ImagingOrder.objects.exists()


def test_an_omg_o19_without_section_is_taken_when_the_catalogue_knows_its_procedure(mllp):
    refused = _answer(mllp.port, omg_order("OMG4", section="", code="XRCHEST^Chest X-ray^LOCAL"))
    assert (refused.msa.msa_1.value, refused.err.err_2.to_er7()) == ("AR", "OBR^1^4")
    Procedure.objects.create(code="XRCHEST", name="Chest X-ray", modality="DX")
    taken = _answer(mllp.port, omg_order("OMG5", section="", code="XRCHEST^Chest X-ray^LOCAL"))
    assert taken.msa.msa_1.value == "AA"
    assert ImagingOrder.objects.get().procedures.get().steps.get().modality == "DX"


@pytest.mark.parametrize(
    ("text", "structure"),
    [
        (orm_new_order("ANS1"), "ORR^O02^ORR_O02"),
        (omi_order("ANS2", ipcs=[{1: "ACC2", 2: "RP2", 3: UID, 4: "SPS2", 5: "MR", 9: "MR01"}]), "ORI^O24^ORI_O24"),
        (omg_order("ANS3"), "ORG^O20^ORG_O20"),
    ],
)
def test_each_order_message_is_answered_in_its_own_structure_over_the_door(mllp, text, structure):
    answer = _answer(mllp.port, text)
    assert answer.msh.msh_9.to_er7() == structure
    assert answer.name == structure.rsplit("^", 1)[1]
    assert answer.msa.msa_1.value == "AA"
