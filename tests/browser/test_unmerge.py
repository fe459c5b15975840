"""A scheduler undoes a merge in the browser: from the surviving patient's
page, with a reason and a confirmation; both patients have their own orders
again, and the destination that takes patient events receives the change."""

import pytest

from ris.models import Destination, ImagingOrder, Patient
from ris.services.outbox import outbox_deliver
from ris.services.patients import patient_merge_records
from tests import factories as f
from tests.browser.conftest import log_in
from tests.factories import TEST_ACTOR
from tests.strict_ehr import StrictEhr

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def pacs():
    server = StrictEhr()
    yield server
    server.stop()


def test_a_scheduler_undoes_a_merge_from_the_patient_page_and_the_destination_hears_it(page, pacs):
    destination = Destination.objects.create(
        name="PACS", kind=Destination.Kind.HL7_MLLP, host="127.0.0.1", port=pacs.port, events=["patient"]
    )
    survivor = f.step(patient_id="P100", name="BROWN^ALICE", accession="ACC100").requested_procedure.order.patient
    merged = f.step(patient_id="P200", name="BROWN^ALISON", accession="ACC200").requested_procedure.order.patient
    patient_merge_records(surviving=survivor, merged=merged, actor=TEST_ACTOR)
    f.user_with_role("scheduler", "sam")
    log_in(page, "sam", f.PASSWORD)
    page.goto(f"/patients/{survivor.pk}/")
    page.get_by_role("link", name="Undo merge").click()
    page.get_by_role("button", name="Undo merge").click()  # no reason: the browser keeps the form
    assert page.evaluate("() => document.querySelector('#id_reason').validity.valueMissing")
    assert Patient.objects.get(pk=merged.pk).merged_into_id == survivor.pk
    page.get_by_label("Why the merge is undone").fill("two sisters, one record")
    page.get_by_label("I have checked that the two records are two people").check()
    page.get_by_role("button", name="Undo merge").click()
    page.wait_for_url(f"**/patients/{merged.pk}/")
    assert page.get_by_text("P200 is separate from P100 again.").is_visible()
    assert page.get_by_role("link", name="ACC200").is_visible()
    assert Patient.objects.get(pk=merged.pk).merged_into is None
    owners = dict(ImagingOrder.objects.values_list("accession_number", "patient__patient_id"))
    assert owners == {"ACC100": "P100", "ACC200": "P200"}
    assert outbox_deliver(destination_id=destination.pk) == 2  # the merge, then its undoing
    assert pacs.refused == []
    assert [text.split("\r")[0].split("|")[8] for text in pacs.received] == ["ADT^A40^ADT_A39", "ADT^A31^ADT_A05"]
    assert "PID|1||P200" in pacs.received[1]
