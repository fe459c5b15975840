"""Report versions move only through the report state machine."""

import pytest

from ris.exceptions import IllegalTransition, InvalidInput
from ris.models import OutboundMessage, Report
from ris.services.reports import report_addendum, report_correct, report_save_draft, report_sign
from ris.states import ReportStatus
from tests.factories import TEST_ACTOR, placed_order, radiologist

pytestmark = pytest.mark.django_db


@pytest.fixture
def procedure():
    return placed_order().procedures.get()


def _draft(procedure, findings="No bleed.", impression="Normal CT head."):
    return report_save_draft(
        actor=TEST_ACTOR, procedure=procedure, author=radiologist(), findings=findings, impression=impression
    )


def test_saving_a_draft_twice_keeps_one_draft_version(procedure):
    _draft(procedure, findings="first")
    version = _draft(procedure, findings="second")
    report = Report.objects.get()
    assert report.status == ReportStatus.DRAFT
    assert report.versions.count() == 1 and version.findings == "second"


def test_signing_final_makes_a_signed_version_and_an_outbound_row_per_destination(procedure):
    from ris.models import Destination

    Destination.objects.create(name="EHR", kind=Destination.Kind.HL7_MLLP, host="127.0.0.1", port=1)
    draft = _draft(procedure)
    version = report_sign(actor=TEST_ACTOR, report=draft.report, signer=radiologist(), status=ReportStatus.FINAL)
    assert version.status == ReportStatus.FINAL and version.signed_at is not None
    assert version.report.status == ReportStatus.FINAL
    assert OutboundMessage.objects.filter(event="report", order=procedure.order).count() == 1


def test_preliminary_then_final_without_new_text_signs_the_same_text(procedure):
    report = _draft(procedure).report
    report_sign(actor=TEST_ACTOR, report=report, signer=radiologist(), status=ReportStatus.PRELIMINARY)
    final = report_sign(actor=TEST_ACTOR, report=report, signer=radiologist(), status=ReportStatus.FINAL)
    assert final.number == 2 and final.findings == "No bleed."


def test_a_final_report_refuses_a_draft_and_a_second_final(procedure):
    report = _draft(procedure).report
    report_sign(actor=TEST_ACTOR, report=report, signer=radiologist(), status=ReportStatus.FINAL)
    with pytest.raises(IllegalTransition):
        _draft(procedure)
    with pytest.raises(IllegalTransition):
        report_sign(actor=TEST_ACTOR, report=report, signer=radiologist(), status=ReportStatus.FINAL)


def test_correction_and_addendum_need_a_final_report(procedure):
    report = _draft(procedure).report
    with pytest.raises(IllegalTransition):
        report_correct(actor=TEST_ACTOR, report=report, signer=radiologist(), findings="x", impression="y")
    with pytest.raises(IllegalTransition):
        report_addendum(actor=TEST_ACTOR, report=report, signer=radiologist(), text="more")


def test_correction_replaces_the_text_and_an_addendum_keeps_it(procedure):
    report = _draft(procedure).report
    report_sign(actor=TEST_ACTOR, report=report, signer=radiologist(), status=ReportStatus.FINAL)
    corrected = report_correct(
        actor=TEST_ACTOR, report=report, signer=radiologist(), findings="Small bleed.", impression="Bleed."
    )
    added = report_addendum(actor=TEST_ACTOR, report=report, signer=radiologist(), text="Discussed with Dr Who.")
    assert corrected.status == ReportStatus.CORRECTED and corrected.findings == "Small bleed."
    assert added.status == ReportStatus.ADDENDUM and added.findings == "Small bleed."
    assert "Discussed with Dr Who." in added.full_text()
    assert [v.number for v in report.versions.all()] == [1, 2, 3]


def test_an_empty_report_cannot_be_signed(procedure):
    report = _draft(procedure, findings=" ", impression="").report
    with pytest.raises(InvalidInput):
        report_sign(actor=TEST_ACTOR, report=report, signer=radiologist(), status=ReportStatus.FINAL)


def test_a_report_is_signed_preliminary_or_final_only(procedure):
    report = _draft(procedure).report
    with pytest.raises(InvalidInput):
        report_sign(actor=TEST_ACTOR, report=report, signer=radiologist(), status=ReportStatus.CORRECTED)


def test_submit_saves_and_signs_in_one_step_or_only_saves(procedure):
    from ris.services.reports import report_submit

    draft = report_submit(actor=TEST_ACTOR, procedure=procedure, user=radiologist(), findings="a", impression="b")
    assert draft.status == ReportStatus.DRAFT
    final = report_submit(
        actor=TEST_ACTOR,
        procedure=procedure,
        user=radiologist(),
        findings="a2",
        impression="b",
        status=ReportStatus.FINAL,
    )
    assert final.status == ReportStatus.FINAL and final.findings == "a2" and final.number == 1


def test_a_failed_sign_in_submit_keeps_no_half_saved_text(procedure):
    from ris.services.reports import report_submit

    _draft(procedure, findings="kept")
    with pytest.raises(InvalidInput):
        report_submit(
            actor=TEST_ACTOR,
            procedure=procedure,
            user=radiologist(),
            findings="",
            impression="",
            status=ReportStatus.FINAL,
        )
    assert Report.objects.get().draft().findings == "kept"
