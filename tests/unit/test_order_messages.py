"""ORM/OMI/ADT messages read into records: no database, no sockets."""

import pytest

from hl7 import charsets
from hl7.er7 import Delimiters, unescape
from hl7.errors import HL7Error
from hl7.read_message import parse
from hl7.read_omi import orders_from_omi
from hl7.read_orm import orders_from_orm, patient_from_pid
from ris.records import CLEAR, plain
from tests.conftest import SAMPLES
from tests.hl7_builders import omi_order, orm_control


def _parse(text: str):
    return parse(text.encode("utf-8"))


def test_xo_keeps_hl7_erase_apart_from_an_empty_field():
    [item] = orders_from_orm(_parse(orm_control("X1", "XO", obr={24: "CT", 31: '""', 34: ""})))
    assert (item.control, item.key.placer_number) == ("XO", "PL1001")
    assert item.order.reason == CLEAR
    assert item.order.procedures[0].steps[0].performing_physician == ""
    assert plain(item.order).reason == ""  # what a new order would store


def test_cancel_needs_no_obr_and_names_the_order_by_its_numbers():
    [item] = orders_from_orm(_parse(orm_control("C1", "CA", filler="F9")))
    assert (item.control, item.order, item.key.placer_number, item.key.filler_number) == ("CA", None, "PL1001", "F9")
    assert item.key.placer_system == "EHR|HOSP"


def test_unknown_order_control_is_error_103_at_orc_1():
    with pytest.raises(HL7Error) as caught:
        orders_from_orm(_parse(orm_control("Z1", "ZZ")))
    assert (caught.value.code, caught.value.location.segment, caught.value.location.field) == (103, "ORC", 1)


def test_omi_ipcs_group_into_procedures_by_procedure_id_and_study_uid():
    ipcs = [
        {1: "ACC", 2: "RP1", 3: "1.2.1", 4: "S1", 5: "MR"},
        {1: "ACC", 2: "RP1", 3: "1.2.1", 4: "S2", 5: "MR"},
        {1: "ACC", 2: "RP2", 3: "1.2.2", 4: "S3", 5: "CT", 9: "CT01~CT02"},
    ]
    [item] = orders_from_omi(_parse(omi_order("O1", ipcs=ipcs, priority="A")))
    order = item.order
    assert (order.accession_number, order.priority) == ("ACC", "HIGH")
    assert [(p.requested_procedure_id, [s.sps_id for s in p.steps]) for p in order.procedures] == [
        ("RP1", ["S1", "S2"]),
        ("RP2", ["S3"]),
    ]
    assert order.procedures[1].steps[0].station_ae_title == "CT01"
    assert order.procedures[0].steps[0].start.hour == 15  # TQ1-7


def test_omi_without_ipc_reads_obr_and_zds_like_orm():
    message = parse(
        (SAMPLES / "dcm4che_ORM_O01-GeneralOrder_but_MSH9_is_OMI.hl7")
        .read_bytes()
        .replace(b"ScheduledProcStepID", b"SPS77")
        # its placeholders are longer than their VRs: names of 65 to 110 characters, a reason of 81
        .replace(b"ReferringPhysicianMN", b"MN")
        .replace(b"RequestingPhysicianMN", b"MN")
        .replace(b"ScheduledPerformingPhysicianName", b"")
        .replace(b",comorbidity in tier 3", b"")
    )
    [item] = orders_from_omi(message)
    procedure = item.order.procedures[0]
    assert (item.order.accession_number, procedure.requested_procedure_id) == ("AccessionNumber", "RequestedProcID")
    assert procedure.study_instance_uid == "1.2.392.200036.9125.0.198811291108.7"
    assert procedure.steps[0].modality == "CT"


def test_mrn_authority_picks_the_pid_3_repetition():
    text = orm_control("M1", "NW").replace("PAT1001^^^HOSP", "111^^^SSA~222^^^MRN")
    assert patient_from_pid(_parse(text), "MRN").patient_id == "222"
    assert patient_from_pid(_parse(text)).patient_id == "111"
    with pytest.raises(HL7Error) as caught:
        patient_from_pid(_parse(text), "OTHER")
    assert caught.value.code == 101


@pytest.mark.parametrize(
    ("msh_18", "codec"),
    [
        ("~ISO IR87", "iso2022_jp"),
        ("ISO IR87", "iso2022_jp"),
        ("ASCII~ISO IR159", "iso2022_jp_2"),
        ("8859/1", "latin-1"),
        ("UNICODE UTF-8", "utf-8"),
        ("", "ascii"),
    ],
)
def test_msh_18_names_the_codec(msh_18, codec):
    assert charsets.codec_for(msh_18) == codec


def test_msh_18_with_an_unknown_repetition_is_error_103():
    with pytest.raises(HL7Error) as caught:
        charsets.codec_for("~EBCDIC")
    assert caught.value.code == 103


@pytest.mark.parametrize(
    ("codec", "escaped", "value"),
    [
        ("latin-1", r"M\XDC\LLER", "MÜLLER"),
        ("utf-8", r"M\XC39C\LLER", "MÜLLER"),
        ("iso8859-7", "\\XD0\\", "Π"),
        ("utf-8", "\\XFF\\", "ÿ"),  # not valid UTF-8: read as Latin-1
    ],
)
def test_hex_escape_decodes_in_the_message_codec(codec, escaped, value):
    assert unescape(escaped, Delimiters(), codec) == value
