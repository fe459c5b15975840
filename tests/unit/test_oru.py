"""The ORU^R01 we build, read back by hl7apy (an independent reader)."""

import pytest
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message

from hl7.write_oru import oru_r01
from ris.models import Destination
from ris.services.reports import report_addendum, report_correct, report_save_draft, report_sign
from ris.states import ReportStatus
from tests.factories import TEST_ACTOR, placed_order, radiologist

pytestmark = pytest.mark.django_db
FINDINGS = "Brain parenchyma normal.\nNo bleed | no ^mass^ & no ~ shift \\ ok."


@pytest.fixture
def final_version():
    procedure = placed_order(study_uid="1.2.826.0.1.3680043.8.498.1").procedures.get()
    draft = report_save_draft(
        actor=TEST_ACTOR,
        procedure=procedure,
        author=radiologist(),
        findings=FINDINGS,
        impression="Normal CT of the head.",
    )
    return report_sign(actor=TEST_ACTOR, report=draft.report, signer=radiologist(), status=ReportStatus.FINAL)


def _parse(text: str):
    """Strict: the message must match the version's structure and data types."""
    return parse_message(text, find_groups=True, validation_level=VALIDATION_LEVEL.STRICT)


def _oru(version, hl7_version="2.5.1", control_id="R1D1"):
    destination = Destination(
        name="EHR",
        kind=Destination.Kind.HL7_MLLP,
        hl7_version=hl7_version,
        receiving_application="EHR",
        receiving_facility="HOSP",
    )
    return oru_r01(version, destination, control_id)


def _observations(message):
    return message.oru_r01_patient_result.oru_r01_order_observation.oru_r01_observation


@pytest.mark.parametrize("hl7_version", ["2.5.1", "2.3.1"])
def test_final_oru_parses_with_hl7apy_and_echoes_the_order(final_version, hl7_version):
    message = _parse(_oru(final_version, hl7_version))
    assert message.msh.msh_12.value == hl7_version
    assert message.msh.msh_9.msh_9_2.value == "R01"
    group = message.oru_r01_patient_result.oru_r01_order_observation
    assert group.orc.orc_1.value == "RE"
    assert group.obr.obr_2.to_er7() == "PL6001"
    assert group.obr.obr_3.to_er7() == "ACC6001"
    assert group.obr.obr_18.to_er7() == "ACC6001"
    assert group.obr.obr_25.to_er7() == "F"
    assert group.obr.obr_32.to_er7() == "drhouse&House&Greg"
    assert group.obr.obr_22.to_er7()[:8].isdigit()


def test_report_text_travels_as_escaped_tx_lines_with_status_f(final_version):
    message = _parse(_oru(final_version))
    text_rows = [obx for obx in (o.obx for o in _observations(message)) if obx.obx_3.to_er7() == "^SR Text"]
    assert [obx.obx_2.to_er7() for obx in text_rows] == ["TX"] * len(text_rows)
    assert {obx.obx_11.to_er7() for obx in text_rows} == {"F"}
    assert text_rows[1].obx_5.to_er7() == "Brain parenchyma normal."
    assert text_rows[2].obx_5.to_er7() == r"No bleed \F\ no \S\mass\S\ \T\ no \R\ shift \E\ ok."


@pytest.mark.parametrize("hl7_version,kind", [("2.5.1", "HD"), ("2.3.1", "ST")])
def test_study_instance_uid_is_an_obx(final_version, hl7_version, kind):
    message = _parse(_oru(final_version, hl7_version))
    last = list(_observations(message))[-1].obx
    assert last.obx_3.to_er7() == "^Study Instance UID"
    assert last.obx_2.to_er7() == kind
    assert last.obx_5.to_er7() == "1.2.826.0.1.3680043.8.498.1"


def test_correction_and_addendum_are_sent_with_status_c(final_version):
    report = final_version.report
    corrected = report_correct(
        actor=TEST_ACTOR, report=report, signer=radiologist(), findings="Small bleed.", impression="Bleed."
    )
    added = report_addendum(actor=TEST_ACTOR, report=report, signer=radiologist(), text="Called Dr Who.")
    for version in (corrected, added):
        group = _parse(_oru(version)).oru_r01_patient_result.oru_r01_order_observation
        assert group.obr.obr_25.to_er7() == "C"
    assert "Called Dr Who." in _oru(added)


def test_preliminary_is_p_and_non_ascii_text_declares_utf8():
    procedure = placed_order(name="MÜLLER^HANS").procedures.get()
    draft = report_save_draft(
        actor=TEST_ACTOR, procedure=procedure, author=radiologist(), findings="Kein Befund.", impression="Unauffällig."
    )
    version = report_sign(actor=TEST_ACTOR, report=draft.report, signer=radiologist(), status=ReportStatus.PRELIMINARY)
    message = _parse(_oru(version))
    assert message.msh.msh_18.to_er7() == "UNICODE UTF-8"
    assert message.oru_r01_patient_result.oru_r01_order_observation.obr.obr_25.to_er7() == "P"
    assert message.oru_r01_patient_result.oru_r01_patient.pid.pid_5.to_er7() == "MÜLLER^HANS"
