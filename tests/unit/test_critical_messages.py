"""A flagged report on the wire: OBX-8 in the ORU^R01 (read back by hl7apy),
and an Observation with its interpretation, a Flag and, once told, a
Communication in FHIR R4 (validated with fhir.resources R4B)."""

import json

import pytest
from django.utils import timezone
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message

from fhir.resources.R4B.communication import Communication
from fhir.resources.R4B.flag import Flag
from fhir.resources.R4B.observation import Observation
from fhir.transaction import build_critical_communicated, report_transaction, validate_r4
from hl7.write_critical import build_critical_overdue
from hl7.write_oru import oru_r01
from ris.models import CriticalResult, Destination
from ris.services.critical_results import critical_result_record
from ris.states import CriticalCategory
from tests.factories import TEST_ACTOR, placed_order, radiologist, signed_final_report

pytestmark = pytest.mark.django_db
DESTINATION = Destination(pk=1, name="EHR", kind=Destination.Kind.HL7_MLLP, hl7_version="2.5.1")


def _signed(category):
    procedure = placed_order(study_uid="1.2.826.0.1.3680043.8.498.7").procedures.get()
    return signed_final_report(
        procedure=procedure, findings="Subdural bleed.", impression="Bleed.", critical_category=category
    )


def _obx_8(message: str) -> dict[str, str]:
    parsed = parse_message(message, find_groups=True, validation_level=VALIDATION_LEVEL.STRICT)
    rows = parsed.oru_r01_patient_result.oru_r01_order_observation.children.get("ORU_R01_OBSERVATION")
    return {row.obx.obx_3.obx_3_2.value: row.obx.obx_8.value for row in rows}


@pytest.mark.parametrize(
    ("category", "flag"),
    [(CriticalCategory.CRITICAL, "AA"), (CriticalCategory.URGENT, "A"), (CriticalCategory.UNEXPECTED, "A")],
)
def test_the_text_rows_carry_the_table_0078_flag_and_the_study_uid_row_none(category, flag):
    message = oru_r01(_signed(category), DESTINATION, "R1D1")
    assert _obx_8(message) == {"SR Text": flag, "Study Instance UID": ""}
    assert "NTE|1|L|" in message


def test_an_unflagged_report_has_no_abnormal_flag_and_no_note():
    message = oru_r01(_signed(""), DESTINATION, "R1D1")
    assert set(_obx_8(message).values()) == {""} and "\rNTE|" not in message


def test_the_escalation_is_the_flagged_report_again_with_an_overdue_note():
    version = _signed(CriticalCategory.CRITICAL)
    result = CriticalResult.objects.get()
    built = build_critical_overdue(
        DESTINATION, {"critical_result_id": result.pk, "report_version_id": version.pk, "level": 2}
    )
    assert built.control_id == f"C{result.pk}E2D1"
    assert "NTE|2|L|CRITICAL RESULT NOT YET COMMUNICATED" in built.payload
    assert _obx_8(built.payload)["SR Text"] == "AA"


def _by_type(bundle):
    return {e["resource"]["resourceType"]: e for e in bundle["entry"]}


def test_a_critical_report_bundle_has_an_observation_interpreted_aa_and_an_active_flag():
    bundle = report_transaction(_signed(CriticalCategory.CRITICAL))
    validate_r4(bundle)
    entries = _by_type(bundle)
    observation = Observation.model_validate(entries["Observation"]["resource"])
    assert [(c.system, c.code) for c in observation.interpretation[0].coding] == [
        ("http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "AA")
    ]
    assert entries["DiagnosticReport"]["resource"]["result"] == [{"reference": entries["Observation"]["fullUrl"]}]
    flag = Flag.model_validate(entries["Flag"]["resource"])
    assert flag.status == "active" and flag.period.end is None
    assert entries["Flag"]["request"]["method"] == "PUT"


def test_an_unflagged_report_bundle_has_no_observation_and_no_flag():
    entries = _by_type(report_transaction(_signed("")))
    assert "Observation" not in entries and "Flag" not in entries and "result" not in entries["DiagnosticReport"]


def test_the_completed_record_goes_as_a_communication_and_the_same_flag_made_inactive():
    version = _signed(CriticalCategory.URGENT)
    first_flag = _by_type(report_transaction(version))["Flag"]
    result = critical_result_record(
        result=CriticalResult.objects.get(),
        recorded_by=radiologist(),
        recipient_name="Dr Cuddy",
        recipient_role="ward physician",
        method=CriticalResult.Method.IN_PERSON,
        communicated_at=timezone.now(),
        read_back=True,
        actor=TEST_ACTOR,
    )
    built = build_critical_communicated(DESTINATION, {"critical_result_id": result.pk})
    entries = _by_type(json.loads(built.payload))
    flag = Flag.model_validate(entries["Flag"]["resource"])
    assert flag.status == "inactive" and flag.period.end is not None
    assert entries["Flag"]["request"]["url"] == first_flag["request"]["url"]
    communication = Communication.model_validate(entries["Communication"]["resource"])
    assert communication.status == "completed" and communication.medium[0].coding[0].code == "FACE"
    assert communication.recipient[0].display == "Dr Cuddy (ward physician)"
