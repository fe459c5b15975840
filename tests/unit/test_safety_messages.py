"""OBX and AL1 of an order message read into safety screening records (no database)."""

import datetime as dt

import pytest

from hl7.errors import HL7Error
from hl7.read_message import parse
from hl7.read_omi import orders_from_omi
from hl7.read_orm import orders_from_orm
from ris.records import SafetyData
from tests.hl7_builders import omi_order, orm_new_order


def _with(message: str, *segments: str) -> bytes:
    return (message.rstrip("\r") + "\r" + "\r".join(segments) + "\r").encode()


def test_an_omi_carries_pregnancy_weight_in_grams_and_an_al1_gadolinium_allergy(settings):
    settings.TIME_ZONE = "UTC"
    raw = _with(
        omi_order(ipcs=[{1: "ACC1", 2: "RP1", 4: "SPS1", 5: "MR"}]),
        "AL1|1|DA|^Gadobutrol|SV|anaphylaxis",
        "OBX|1|CWE|82810-3^Pregnancy status^LN||LA26683-5^Not pregnant^LN||||||F",
        "OBX|2|NM|29463-7^Body weight^LN||70500|g|||||F|||20261120",
    )
    [item] = orders_from_omi(parse(raw))
    assert item.order is not None
    assert item.order.safety == (
        SafetyData(item="CONTRAST_ALLERGY", value="yes", detail="Gadobutrol: anaphylaxis"),
        SafetyData(item="PREGNANCY", value="not-pregnant"),
        SafetyData(item="WEIGHT", number=70.5, measured_on=dt.date(2026, 11, 20)),
    )


def test_a_deleted_observation_other_observations_and_other_allergies_are_not_screening():
    raw = _with(
        orm_new_order(),
        "AL1|1|DA|70618^Penicillin^RXNORM",
        "OBX|1|NM|62238-1^eGFR^LN||44|mL/min|||||D",
        "OBX|2|NM|8302-2^Body height^LN||180|cm||||||F",
    )
    [item] = orders_from_orm(parse(raw))
    assert item.order is not None and item.order.safety == ()


def test_an_egfr_written_with_a_comparator_is_its_number():
    raw = _with(orm_new_order(), "OBX|1|NM|33914-3^eGFR MDRD^LN||>90|mL/min/{1.73_m2}||||||F")
    [item] = orders_from_orm(parse(raw))
    assert item.order is not None and item.order.safety == (SafetyData(item="EGFR", number=90.0),)


@pytest.mark.parametrize(
    ("obx", "where"),
    [
        ("OBX|1|NM|29463-7^Body weight^LN||80|stone||||||F", "OBX-6"),
        ("OBX|1|CWE|82810-3^Pregnancy^LN||perhaps||||||F", "OBX-5"),
    ],
)
def test_an_unknown_unit_or_answer_is_a_data_type_error_at_its_field(obx, where):
    with pytest.raises(HL7Error) as caught:
        orders_from_orm(parse(_with(orm_new_order(), obx)))
    assert caught.value.code == 102
    assert where in str(caught.value) or caught.value.location.field == int(where[-1])
