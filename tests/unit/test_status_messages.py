"""Order status messages for the EHR, read back by hl7apy: a parser we did not write."""

import datetime as dt

import pytest
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message

from hl7.write_order_status import build_order_status, pn_to_xpn
from ris.models import Destination
from ris.records import OrderData, PatientData, ProcedureData, StepData
from ris.services.orders import order_place
from tests.factories import TEST_ACTOR

STUDY_UID = "1.2.826.0.1.3680043.8.498.7001"


@pytest.fixture
def order(db):
    start = dt.datetime(2026, 11, 26, 14, 30, tzinfo=dt.UTC)
    row = order_place(
        actor=TEST_ACTOR,
        patient=PatientData(
            patient_id="PAT7001", issuer="HOSP", name="MÜLLER^HANS^P^DR^JR", birth_date=dt.date(1970, 2, 15), sex="M"
        ),
        order=OrderData(
            placer_system="EHR|HOSP",
            placer_number="PL7001",
            accession_number="ACC7001",
            referring_physician="REFERRER^RITA",
            admission_id="V7001",
            procedures=[
                ProcedureData(
                    requested_procedure_id="RP7001",
                    code_value="CTHEAD",
                    code_scheme="LOCAL",
                    code_meaning="CT Head",
                    study_instance_uid=STUDY_UID,
                    steps=[StepData(sps_id="SPS7001", modality="CT", start=start)],
                )
            ],
        ),
    )
    row.status = "IN_PROGRESS"
    row.save()
    return row


def _destination(version: str) -> Destination:
    return Destination(
        name="EHR",
        kind=Destination.Kind.HL7_MLLP,
        hl7_version=version,
        receiving_application="EHR",
        receiving_facility="HOSP",
    )


def _parse(text: str):
    return parse_message(text, validation_level=VALIDATION_LEVEL.STRICT, find_groups=True)


def test_v231_destination_gets_orm_o01_with_orc_1_sc_and_orc_5_ip(order):
    built = build_order_status(_destination("2.3.1"), {"order_id": order.pk})
    message = _parse(built.payload)
    assert message.msh.msh_9.to_er7() == "ORM^O01"
    assert message.msh.msh_12.to_er7() == "2.3.1"
    assert message.msh.msh_10.value == built.control_id
    assert message.msh.msh_18.value == "UNICODE UTF-8"  # the name is not ASCII
    # No message.validate(): hl7apy's v2.3.1 schema makes every branch of the
    # ORDER_DETAIL choice (OBR | RQD | RQ1 | RXO | ODS | ODT) required.
    group = message.orm_o01_order
    orc = group.orc
    assert orc.orc_1.value == "SC"
    assert orc.orc_5.value == "IP"
    assert orc.orc_2.to_er7() == "PL7001^EHR"
    assert orc.orc_3.to_er7() == "ACC7001^RIS"
    obr = group.orm_o01_order_detail.orm_o01_choice.obr
    assert obr.obr_4.to_er7() == "CTHEAD^CT Head^LOCAL"
    assert obr.obr_18.value == "ACC7001"
    assert obr.obr_19.value == "RP7001"
    assert obr.obr_20.value == "SPS7001"
    assert obr.obr_24.value == "CT"
    pid = message.orm_o01_patient.pid
    assert pid.pid_3.to_er7() == "PAT7001^^^HOSP"
    assert pid.pid_5.to_er7() == "MÜLLER^HANS^P^JR^DR"


def test_v251_destination_gets_omi_o23_with_ipc_carrying_the_study(order):
    order.status = "COMPLETED"
    order.save()
    built = build_order_status(_destination("2.5.1"), {"order_id": order.pk})
    message = _parse(built.payload)
    assert message.msh.msh_9.to_er7() == "OMI^O23^OMI_O23"
    message.validate()  # strict: every required segment, field and group of OMI_O23
    group = message.omi_o23_order
    assert group.orc.orc_1.value == "SC"
    assert group.orc.orc_5.value == "CM"
    assert group.obr.obr_18.value == "ACC7001"
    ipc = group.ipc
    assert ipc.ipc_1.to_er7() == "ACC7001"
    assert ipc.ipc_2.to_er7() == "RP7001"
    assert ipc.ipc_3.to_er7() == STUDY_UID
    assert ipc.ipc_4.to_er7() == "SPS7001"
    assert ipc.ipc_5.to_er7() == "CT"


@pytest.mark.parametrize("status, code", [("DISCONTINUED", "DC"), ("CANCELED", "CA"), ("SCHEDULED", "SC")])
def test_orc_5_follows_the_order_status(order, status, code):
    order.status = status
    order.save()
    message = _parse(build_order_status(_destination("2.5.1"), {"order_id": order.pk}).payload)
    assert message.omi_o23_order.orc.orc_5.value == code


def test_each_message_has_its_own_control_id(order):
    first = build_order_status(_destination("2.5.1"), {"order_id": order.pk})
    second = build_order_status(_destination("2.5.1"), {"order_id": order.pk})
    assert first.control_id != second.control_id
    assert len(first.control_id) <= 20


def test_dicom_person_name_becomes_xpn_with_prefix_and_suffix_swapped():
    assert pn_to_xpn("FAMILY^GIVEN^MIDDLE^PREFIX^SUFFIX=ideographic") == "FAMILY^GIVEN^MIDDLE^SUFFIX^PREFIX"
    assert pn_to_xpn("A^B") == "A^B"
    assert pn_to_xpn("O|BRIEN") == "O\\F\\BRIEN"
