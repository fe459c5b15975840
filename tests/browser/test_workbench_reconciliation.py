"""A technologist takes an unscheduled MPPS from the reconciliation workbench
to the order it belongs to: the EHR stand-in hears the order completed and
the PACS stand-in the procedure update with the right patient and accession,
each message read strictly by hl7apy."""

import pytest
from pydicom.uid import generate_uid

from ris.models import Destination, Discrepancy
from ris.services.outbox import outbox_deliver
from tests import factories as f
from tests.browser.conftest import log_in, screenshot
from tests.hl7_builders import orm_new_order
from tests.mpps_scu import MppsScu, final, in_progress, scheduled_item
from tests.peers import MllpClient, ack_segments
from tests.strict_ehr import StrictEhr

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
STUDY_UID = "1.2.826.0.1.3680043.8.498.7101"


@pytest.fixture
def stand_ins():
    ehr, pacs = StrictEhr(), StrictEhr()
    yield ehr, pacs
    ehr.stop()
    pacs.stop()


def _destinations(ehr: StrictEhr, pacs: StrictEhr) -> tuple[Destination, Destination]:
    common = {"kind": Destination.Kind.HL7_MLLP, "host": "127.0.0.1", "timeout_seconds": 5}
    return (
        Destination.objects.create(name="EHR", port=ehr.port, events=["order_status"], **common),
        Destination.objects.create(name="PACS", port=pacs.port, role=Destination.Role.IMAGE_MANAGER, **common),
    )


def _segment(message: str, name: str) -> list[str]:
    return next(line for line in message.split("\r") if line.startswith(name)).split("|")


def test_an_unscheduled_mpps_linked_on_the_workbench_reaches_the_ehr_and_the_pacs(page, mllp, dicom, stand_ins):
    ehr, pacs = stand_ins
    to_ehr, to_pacs = _destinations(ehr, pacs)
    with MllpClient(mllp.port) as client:
        assert ack_segments(client.exchange(orm_new_order("ORD1", study_uid=STUDY_UID)))["MSA"][1] == "AA"
    uid = generate_uid()
    with MppsScu(dicom) as scu:  # the technologist picked no worklist entry: an unscheduled exam
        assert scu.create(in_progress([scheduled_item(generate_uid())], pps_id="PPS77"), uid)[0].Status == 0
        assert scu.set(uid, final())[0].Status == 0
    assert Discrepancy.objects.get().kind == Discrepancy.Kind.UNSCHEDULED_MPPS

    f.user_with_role("technologist", "tina")
    log_in(page, "tina", f.PASSWORD)
    page.get_by_role("link", name="Reconciliation").click()
    row = page.locator("#queue tr", has_text="PPS77")
    assert "ACC1001" in row.inner_text()  # the patient's open order is offered
    row.get_by_label("Accession number").fill("ACC1001")
    row.get_by_label("Reason").fill("no worklist entry selected at the modality")
    screenshot(page, "reconciliation.png")
    row.get_by_role("button", name="Link to order").click()
    page.get_by_role("status").filter(has_text="linked to order ACC1001").wait_for()
    assert page.locator("#queue tr", has_text="PPS77").count() == 0
    assert "linked to order ACC1001" in page.locator("#resolved").inner_text()

    outbox_deliver(destination_id=to_ehr.pk)
    outbox_deliver(destination_id=to_pacs.pk)
    assert ehr.refused == [] and pacs.refused == []
    assert [_segment(m, "ORC")[5] for m in ehr.received] == ["CM"]
    assert [_segment(m, "ORC")[1] for m in pacs.received] == ["NW", "XO"]
    update = pacs.received[-1]
    assert _segment(update, "PID")[3].startswith("PAT1001")
    assert _segment(update, "IPC")[1:4] == ["ACC1001", "RP1001", STUDY_UID]
    assert _segment(update, "ORC")[5] == "CM"
