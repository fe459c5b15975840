"""The public sample messages, read by our parser as they are (BOM, LF, CRLF)."""

import pytest

from hl7.errors import HL7Error
from hl7.read_message import parse
from hl7.read_orm import orders_from_orm, patient_from_pid
from tests.conftest import SAMPLES

BROKEN = {
    # a CR inside the base64 PDF ends the OBX early: the next line is no segment
    "dcm4che_ORU_R01_PDF_base64.hl7": 100,
    # MSH-2 is '^~\\&': a doubled escape character is not a valid set of encoding characters
    "lfh_ADT_A01_broken_CRLF_literal_escapes.hl7": 102,
    "lfh_ADT_A01_broken_doubled_backslash.hl7": 102,
}
# content refused at the door (AE 102): PV1-8 is a PN group of 65 characters
TOO_LONG = {
    "dcm4che_OMI_O23_ImagingOrder_IPC.hl7",
    "dcm4che_ORM_O01-GeneralOrder_but_MSH9_is_OMI.hl7",
    "dcm4che_OMG_O19_Eyecare.hl7",  # read since OMG^O19 is taken for imaging orders
}
ALL = sorted(p.name for p in SAMPLES.glob("*.hl7"))


def test_the_sample_set_is_there():
    assert len(ALL) == 21


@pytest.mark.parametrize("name", [n for n in ALL if n not in BROKEN and n not in TOO_LONG])
def test_sample_parses_and_names_its_type_from_msh_9(name):
    message = parse((SAMPLES / name).read_bytes())
    assert message.segments[0].name == "MSH"
    # one file is named ORM^O01 but its MSH-9 says OMI^O23: route on MSH-9 only
    expected = "OMI" if "MSH9_is_OMI" in name else name.split("_")[1]
    assert message.header.message_type == expected


@pytest.mark.parametrize("name", sorted(TOO_LONG))
def test_sample_with_a_value_too_long_is_refused_ae_102_where_it_is(name):
    with pytest.raises(HL7Error) as caught:
        parse((SAMPLES / name).read_bytes())
    assert (caught.value.code, caught.value.ack_code) == (102, "AE")
    assert (caught.value.location.segment, caught.value.location.field) == ("PV1", 8)


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_sample_is_refused_with_the_reason(name):
    with pytest.raises(HL7Error) as caught:
        parse((SAMPLES / name).read_bytes())
    assert caught.value.code == BROKEN[name]
    assert caught.value.ack_code == "AR"


def test_ihe_mesa_orm_maps_every_order_field():
    message = parse((SAMPLES / "dcm4che_ORM_O01_ihe_mesa_v231.hl7").read_bytes())
    patient = patient_from_pid(message)
    assert (patient.patient_id, patient.issuer, patient.name, patient.sex) == ("583295", "ADT1", "DOE^J1", "M")
    [item] = orders_from_orm(message)
    assert item.control == "NW"
    order = item.order
    assert (order.placer_number, order.filler_number, order.accession_number) == ("A103Z", "B103Z", "MOF5026")
    assert order.priority == "STAT"  # ORC-7.6 S
    assert order.referring_physician == "NELL^FREDERICK^P^DR"  # XCN prefix to PN prefix
    procedure = order.procedures[0]
    assert (procedure.requested_procedure_id, procedure.code_value, procedure.code_scheme) == (
        "RP1026",
        "P1",
        "ERL_MESA",
    )
    assert procedure.study_instance_uid == "1.113654.3.13.1026"  # ZDS-1
    step = procedure.steps[0]
    assert (step.sps_id, step.modality, step.protocol_code_value) == ("SPS2032", "MR", "X1_A1")


def test_bom_and_lf_sample_keeps_the_offset_of_its_times():
    message = parse((SAMPLES / "fhirconv_ORM_O01-01_CT_head_BOM_LF.hl7").read_bytes())
    patient = patient_from_pid(message)
    assert patient.patient_id == "PATID1234"
    assert patient.name == "EVERYMAN^ADAM^A^Dr.^III"  # XPN suffix/prefix swap into PN
    assert str(patient.birth_date) == "1988-08-18"
